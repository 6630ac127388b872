"""Chapter 4, LieGG (Moskalev et al. 2022): the Lie group generators that MLPs learn, on O(5) regression,
rotation-MNIST and rotation-augmented CIFAR-10.

Files: ``settings`` (profiles), ``data`` (eq. 5's task, rotation-MNIST, rotation-CIFAR-10), ``models`` (the
invariant model, the Swish MLPs, widths for a parameter budget), ``measures`` (LieGG read-outs of trained
networks), ``runs`` (the training runs), ``parts`` (the list of parts); the reading: ``results`` (stored results
reshaped), ``paper`` (the typed-in numbers), ``views`` (figures and tables, also of the earlier whole-run records),
``claims``. The package exposes what ``helpers.runner`` needs: ``STEM``, ``SETTINGS`` and ``PARTS``.
"""
from __future__ import annotations

from . import claims, data, measures, models, paper, parts, results, runs, settings, views  # noqa: F401
from .data import o5_dataset, o5_target, rotation_cifar10, rotation_mnist
from .measures import measure, sample_complexity
from .models import O5Invariant, hidden_for_params, sub_network
from .parts import all_parts as PARTS  # noqa: N812
from .settings import SETTINGS, Settings

STEM = "04_liegg"

__all__ = ["STEM", "SETTINGS", "PARTS", "Settings", "O5Invariant", "hidden_for_params", "sub_network", "o5_target",
           "o5_dataset", "rotation_mnist", "rotation_cifar10", "measure", "sample_complexity", "claims", "data",
           "measures", "models", "paper", "parts", "results", "runs", "settings", "views"]
