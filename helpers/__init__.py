"""helpers: the package behind *Learned Symmetry*, a book of executable reproductions.

Modules: ``groups`` (discrete groups, affine and so(n) Lie algebras), ``data`` (real datasets),
``transforms`` (affine warps, blur), ``models``, ``metrics``, ``training`` (fit, fit_ensemble), ``profiles``,
``claims``, ``records``, ``plots``, ``widgets``; ``parts``, ``store`` and ``runner`` (a chapter's compute as named
parts, kept in a store, loaded or computed by pages, in process or on Ray); ``experiments`` (one package per
chapter); ``registry`` (the book's chapters); ``chapters`` (the papermill runner behind ``python -m helpers``).
docs/architecture.md gives every module's layer.

Shape letters used in every docstring and shape comment:

    B  batch (samples)            G  group size (elements of a discrete group)
    M  ensemble members (seeds)   C  channels
    H, W  image height and width  N  points (e.g. rows of a polarization matrix)
    D  features (flattened input or hidden width)
    S  transformation samples (ch2)   K  classes
"""
from __future__ import annotations

from importlib import metadata as _metadata

from . import claims, data, groups, models, plots, profiles, records, training, widgets  # noqa: F401
from . import metrics  # noqa: F401
from . import transforms  # noqa: F401

try:
    __version__ = _metadata.version("learned-symmetry")
except _metadata.PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["claims", "data", "groups", "metrics", "models", "plots", "profiles", "records", "training",
           "transforms", "widgets", "__version__"]
