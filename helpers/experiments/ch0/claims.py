"""Chapter 0's claims, and the values the stored part gives them."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ...claims import Claim, ClaimTable
from ...noise import Seeds

__all__ = ["CLAIMS", "values", "table"]

CLAIMS = {c.id: c for c in [
    Claim("C0.1", "ensemble = separate runs: max over seeds of ‖w_loop − w_ens‖ / ‖w_loop‖ ≤ 1e-3",
          "DESIGN.md", paper=None, relation="<=", target=1e-3, kind="verification",
          reason="the same computation batched: float32 round-off over many steps stays far below 1e-3"),
    Claim("C0.2", "an MLP on MNIST reaches high test accuracy (%, per seed)", "LeCun et al. 1998, Fig. 9",
          paper=95.3, relation=">=", target=95.3, tolerance=8.0,
          reason="LeCun's 2-layer MLP reaches 95.3 %; 8 points of slack for our small quick subsets"),
]}


def values(ev: Mapping) -> dict:
    """``{claim id: measured value}`` from the chapter's parts (``ev[name]`` is a part's result)."""
    r = ev["ensemble-vs-loop"]
    return {"C0.1": float(r["rel_weight_diff"]), "C0.2": Seeds(100 * np.asarray(r["test_acc_ensemble"], dtype=float))}


def table(ev: Mapping) -> ClaimTable:
    """The chapter's *paper vs ours* table."""
    return ClaimTable.of(CLAIMS, values(ev))
