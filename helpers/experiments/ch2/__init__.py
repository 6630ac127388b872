"""Chapter 2: learning invariant weights by marginal likelihood (van der Ouderaa & van der Wilk 2022).

- ``settings``: the profiles (``TrainConfig``, ``Settings``, ``SETTINGS``);
- ``data``: the transformed datasets of Appendix D and Fig. 1's toy problem;
- ``variational``, ``warps``, ``invariant_weights``: the chapter's modules, the Gaussian posterior over the output
  weights (App. A), the first layer's warps and their adjoint (Sec. 3.2), and ``InvariantNet``, M shallow nets with
  learnable weight-space invariance (eqs. 3, 6, 9);
- ``train``: ``fit_sweep`` / ``evaluate``, a sweep of M members trained as one model;
- ``parts``: the compute, one part per experiment and dataset (``toy``, ``t1-<net>-<dataset>``,
  ``t2-<dataset>``, ``t3-<dataset>``, ``ab-<arm>-<dataset>``), and ``collect``, their results in the tables' layout;
- ``ablation``: what the parameterisation costs, the paper's settings and one departure at a time (the ``ab`` parts);
- ``fast_step``: the training step's fast operators (issue 39); ``ladder``: the budget ladder's pre-registered
  readings (the steps profile's ``ladder-`` and ``var-`` parts);
- ``banks``, ``views``: filter banks, tables and figures from stored results;
- ``claims``: the claims, their sub-checks and values; ``records``: the earlier whole-run records;
- ``eta_sweep``: the fixed-eta study of ``scripts/ch2_eta_sweep.py``.
"""
from __future__ import annotations

from . import ablation, banks, claims, data, eta_sweep, fast_step, invariant_weights, ladder, parts  # noqa: F401
from . import records, settings, train  # noqa: F401
from . import variational, views, warps  # noqa: F401
from .parts import all_parts as PARTS  # noqa: N812
from .settings import SETTINGS, STEM, Settings, TrainConfig

__all__ = ["STEM", "SETTINGS", "PARTS", "Settings", "TrainConfig", "ablation", "banks", "claims", "data", "eta_sweep",
           "fast_step", "invariant_weights", "ladder", "parts", "records", "settings", "train", "variational", "views",
           "warps"]
