"""Chapter 0's parts: the list of what a profile computes, one part, ``ensemble-vs-loop`` (the run itself is
``runs``)."""
from __future__ import annotations

from ...parts import Needs, Part
from .runs import ensemble_vs_loop
from .settings import Settings

__all__ = ["all_parts"]


def all_parts(s: Settings) -> list[Part]:
    """The chapter's parts in profile settings ``s``."""
    return [Part("ensemble-vs-loop", ensemble_vs_loop, Needs(gpu=True, memory_gb=1.0),
                 description="M MLPs on MNIST, as one vmapped ensemble and one by one")]
