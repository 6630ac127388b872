"""Chapter 5: one model zoo, four lenses. MLPs on rotation-MNIST trained by each paper's means (plain, DA over
R4 and over all angles, WT, IR at several nu, several sizes) and every network measured by every chapter's
measure: ch1's LI, DI, SI; ch3's per-layer in/equivariance; ch4's LieGG variance and bias. Do they agree?

Its own modules: ``zoo`` (the configurations and their training) and ``lenses`` (every measure on one network). No
paper states this chapter's claims, so it has no ``paper`` module.
"""
from __future__ import annotations

from . import claims, lenses, parts, results, runs, settings, views, zoo  # noqa: F401
from .parts import all_parts as PARTS  # noqa: N812
from .settings import KINDS, SETTINGS, Settings

STEM = "05_four_lenses"

__all__ = ["STEM", "SETTINGS", "PARTS", "Settings", "KINDS", "claims", "lenses", "parts", "results", "runs",
           "settings", "views", "zoo"]
