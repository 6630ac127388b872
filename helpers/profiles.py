"""Run profiles: quick (CPU, CI), standard (one GPU, every headline claim), steps (the papers' optimisation and
step counts, smaller only where a CPU cannot afford the paper: a chapter's settings say what it reduces), paper
(the papers' settings).

Each chapter keeps one frozen dataclass of settings per profile and picks with ``settings``::

    prof = resolve("auto")                    # Profile(name="quick" | "standard", device=...)
    cfg = settings(CH1_SETTINGS, prof)        # CH1_SETTINGS = {"quick": ..., "standard": ..., "paper": ...}
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, TypeVar

import torch

__all__ = ["PROFILES", "Profile", "resolve", "settings"]

PROFILES = ("quick", "standard", "steps", "paper")
T = TypeVar("T")


@dataclass(frozen=True)
class Profile:
    """A resolved profile: its ``name`` (never ``auto``) and the ``device`` to run on."""

    name: str
    device: torch.device

    def __str__(self) -> str:
        return self.name


def resolve(name: str | Profile = "auto", device: str | torch.device | None = None) -> Profile:
    """Resolve a profile name.

    Args:
        name: ``quick``, ``standard``, ``steps``, ``paper`` or ``auto`` (standard with CUDA, quick without).
        device: override the device (default: CUDA when available, else CPU).
    Raises:
        ValueError: an unknown name, listing the valid ones.
    """
    if isinstance(name, Profile):
        return name
    valid = (*PROFILES, "auto")
    if not isinstance(name, str) or name.lower() not in valid:
        raise ValueError(f"unknown profile {name!r}; valid: {list(valid)}")
    name = name.lower()
    cuda = torch.cuda.is_available()
    dev = torch.device(device) if device is not None else torch.device("cuda" if cuda else "cpu")
    if name == "auto":
        name = "standard" if dev.type == "cuda" else "quick"
    return Profile(name, dev)


def settings(table: Mapping[str, T], profile: str | Profile) -> T:
    """The entry of ``table`` (keyed by profile name) for ``profile``; a clear error when missing."""
    name = resolve(profile).name
    if name not in table:
        raise ValueError(f"profile {name!r} has no settings here; defined: {sorted(table)}")
    return table[name]
