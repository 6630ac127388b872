"""Chapter 0, the template: M seeds of an MLP on real MNIST trained as one vmapped ensemble and one by one. Its
files are every chapter's (``helpers.experiments``)."""
from __future__ import annotations

from . import claims, data, parts, runs, settings, views  # noqa: F401
from .parts import all_parts as PARTS  # noqa: N812
from .settings import SETTINGS, Settings

STEM = "00_template"

__all__ = ["STEM", "SETTINGS", "PARTS", "Settings", "claims", "data", "parts", "runs", "settings", "views"]
