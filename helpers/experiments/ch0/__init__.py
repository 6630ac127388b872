"""Chapter 0, the template: M seeds of an MLP on real MNIST trained as one vmapped ensemble and one by one.

Every chapter package has the same files: ``settings`` (profiles), ``data`` (chapter-only datasets),
``parts`` (the compute: named parts returning numbers and arrays), ``views`` (figures and tables from part
results), ``claims`` (the claims, their rules, and the values computed from part results); chapters with
modules of their own add ``models``. The package exposes what ``helpers.runner`` needs: ``STEM``,
``SETTINGS`` and ``PARTS``.
"""
from __future__ import annotations

from . import claims, data, parts, settings, views  # noqa: F401
from .parts import all_parts as PARTS  # noqa: N812
from .settings import SETTINGS, Settings

STEM = "00_template"

__all__ = ["STEM", "SETTINGS", "PARTS", "Settings", "claims", "data", "parts", "settings", "views"]
