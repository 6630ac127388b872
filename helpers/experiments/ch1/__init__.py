"""Chapter 1 (Moskalev et al. 2023): learned vs genuine invariance. WT, DA and IR models on Transforming-MNIST,
the nu sweep, drift to Transforming-FMNIST, spectral decay and Proposition 3.1.

Its own modules: ``measures`` (Table 1's columns, orbits in feature space, the linear flow; Fig. 3's saliency is
``metrics.orbit_saliency``) and ``paper`` (the paper's Table 1).
"""
from __future__ import annotations

from . import claims, data, measures, models, paper, parts, results, runs, settings, views  # noqa: F401
from .data import Transforming, drifted, transforming
from .measures import evaluate, linear_flow, orbit_neighbours, orbit_spread
from .models import fit_ir_sweep, invariance_loss, make_model, train, train_sweep
from .parts import all_parts as PARTS  # noqa: N812
from .results import groups_of, pending_nus, sensitivity_of
from .runs import run_proposition
from .settings import MODELS, SETTINGS, Settings

STEM = "01_genuine_invariance"

__all__ = ["STEM", "SETTINGS", "PARTS", "Settings", "MODELS", "Transforming", "transforming", "drifted", "make_model",
           "invariance_loss", "train", "train_sweep", "fit_ir_sweep", "evaluate", "orbit_spread", "orbit_neighbours",
           "linear_flow", "run_proposition", "groups_of", "sensitivity_of", "pending_nus", "claims", "data",
           "measures", "models", "paper", "parts", "results", "runs", "settings", "views"]
