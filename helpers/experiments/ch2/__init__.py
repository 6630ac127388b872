"""Chapter 2: learning invariant weights by marginal likelihood (van der Ouderaa & van der Wilk 2022).

The compute, read top-down:

- ``settings``: the profiles (``TrainConfig``, ``Settings``, ``SETTINGS``);
- ``data``: the transformed datasets of Appendix D and Fig. 1's toy problem;
- ``variational``, ``warps``, ``fast_step``, ``invariant_weights``: the Gaussian posterior over the output weights
  (App. A), the first layer's warps and their adjoint (Sec. 3.2), the training step's fast operators (issue 39), and
  ``InvariantNet``, M shallow nets with learnable weight-space invariance and their ELBO (eqs. 3, 6, 9);
- ``train``: ``fit_sweep`` / ``evaluate``, a sweep of M members trained as one model;
- ``sweeps``: the training runs, one per experiment (``toy``, ``run_rotation_sweep``, ``run_invariance_type``)
  and the parts' runs; ``ablation``: what the parameterisation costs, the paper's settings and one departure at a
  time (the ``ab`` parts' runs); ``studies``: the studies beyond the paper's tables (the fixed-eta sweep and the
  CIFAR-10 preprocessing, parts of the standard profile only);
- ``parts``: the list of parts, one per experiment and dataset (``toy``, ``t1-<net>-<dataset>``, ``t2-<dataset>``,
  ``t3-<dataset>``, ``ladder-...``, ``var-...``, ``ab-<arm>-<dataset>``, ``eta-sweep``, ``cifar-preprocessing``).

The reading, top-down:

- ``results``: the stored part results in the tables' layout (``collect``); ``paper``: the paper's numbers;
- ``claims``: the claims, their sub-checks and values; ``ladder``: the budget ladder's pre-registered readings;
- ``banks``, ``figures``, ``views``: filter banks, figures and tables from stored results;
- ``full_ablation``: the standard profile's full ablation study and its studies, read beside a lighter profile's
  page; the earlier whole-run records are shown by ``views`` from the chapter's frozen table
  (``helpers.records.frozen``).
"""
from __future__ import annotations

from . import ablation, banks, claims, data, fast_step, figures, full_ablation  # noqa: F401
from . import invariant_weights, ladder, paper, parts, results, settings, studies, sweeps, train  # noqa: F401
from . import variational, views, warps  # noqa: F401
from .parts import all_parts as PARTS  # noqa: N812
from .invariant_weights import InvariantNet, invariance_mask, linspace_eps
from .settings import SETTINGS, STEM, Settings, TrainConfig
from .train import fit_sweep

__all__ = ["STEM", "SETTINGS", "PARTS", "Settings", "TrainConfig", "InvariantNet", "invariance_mask", "linspace_eps",
           "fit_sweep", "ablation", "banks", "claims", "data",
           "fast_step", "figures", "full_ablation", "invariant_weights", "ladder", "paper", "parts", "results",
           "settings", "studies", "sweeps", "train", "variational", "views", "warps"]
