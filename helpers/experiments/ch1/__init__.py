"""Chapter 1 (Moskalev et al. 2023): learned vs genuine invariance. WT, DA and IR models on Transforming-MNIST,
the nu sweep, drift to Transforming-FMNIST, spectral decay and Proposition 3.1.

The compute, top-down: ``settings`` (profiles), ``data`` (Transforming-MNIST/-FMNIST, drift), ``models`` (WT/DA/IR
and their training), ``measures`` (Table 1's columns, saliency, orbits in feature space, the linear flow), ``runs``
(what each part trains and measures), ``parts`` (the list: ``group-<g>``, ``sensitivity-<g>-<penalty>`` or
``ir-<g>-<penalty>-<nu>``, ``proposition``). The reading: ``results`` (the stored parts in one layout), ``paper``
(the paper's Table 1), ``claims`` (C1.1-C1.7), ``views`` (figures and tables).
"""
from __future__ import annotations

from . import claims, data, measures, models, paper, parts, results, runs, settings, views  # noqa: F401
from .data import Transforming, drifted, transforming
from .measures import evaluate, linear_flow, orbit_neighbours, orbit_saliency, orbit_spread
from .models import fit_ir_sweep, invariance_loss, make_model, train, train_sweep
from .parts import all_parts as PARTS  # noqa: N812
from .results import groups_of, pending_nus, sensitivity_of
from .runs import run_drift, run_group, run_proposition, run_sensitivity
from .settings import MODELS, N_CLASSES, SETTINGS, SIZE, Settings

STEM = "01_genuine_invariance"

__all__ = ["STEM", "SETTINGS", "PARTS", "Settings", "MODELS", "N_CLASSES", "SIZE", "Transforming", "transforming",
           "drifted", "make_model", "invariance_loss", "train", "train_sweep", "fit_ir_sweep", "evaluate",
           "orbit_saliency", "orbit_spread", "orbit_neighbours", "linear_flow", "run_group", "run_drift",
           "run_sensitivity", "run_proposition", "groups_of", "sensitivity_of", "pending_nus", "claims", "data",
           "measures", "models", "paper", "parts", "results", "runs", "settings", "views"]
