"""Chapter 0, the template: M seeds of an MLP on real MNIST trained as one vmapped ensemble and one by one.

Every chapter package has the same files, the compute top-down: ``settings`` (profiles), ``data`` (chapter-only
datasets), ``models`` and ``measures`` (where the chapter has modules and read-outs of its own), ``runs`` (what each
part trains and measures, returning numbers and arrays), ``parts`` (only the list of parts); and the reading, which
never imports the compute: ``results`` (stored results reshaped, where the chapter needs it), ``paper`` (the
paper's typed-in numbers, where it has a paper), ``claims`` (the claims, their rules, and the values computed from
part results), ``views`` (figures and tables). ``claims`` and ``views`` import only ``results``, ``paper`` and
``settings``. The package exposes what ``helpers.runner`` needs: ``STEM``, ``SETTINGS`` and ``PARTS``.
"""
from __future__ import annotations

from . import claims, data, parts, runs, settings, views  # noqa: F401
from .parts import all_parts as PARTS  # noqa: N812
from .settings import SETTINGS, Settings

STEM = "00_template"

__all__ = ["STEM", "SETTINGS", "PARTS", "Settings", "claims", "data", "parts", "runs", "settings", "views"]
