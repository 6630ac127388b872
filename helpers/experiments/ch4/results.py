"""Chapter 4's stored results reshaped as the claims and the page read them: the sweep's rows as one table
(``sweep_frame``) and its correlations (``sweep_correlations``, Sec. 5.3), and how far the symmetry bias from a
fraction of the polarization matrix's rows moves from the full-data bias (``bias_shifts``, C4.7). Pure: it trains
nothing.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["sweep_frame", "sweep_correlations", "bias_shifts", "worst_bias_shift"]


# ----------------------------------------------------------------------------- Experiment 3: the sweep
def sweep_frame(ev: Mapping):
    """Every (parameter budget, depth, seed) row of the ``sweep-d<p>`` parts, as one DataFrame."""
    rows = [row for name in ev if name.startswith("sweep-d") for row in ev[name]["rows"]]
    return pd.DataFrame(rows).sort_values(["params", "depth", "seed"]).reset_index(drop=True)


def _within(df, key: str) -> np.ndarray:
    """``df[key]`` ranked within each depth, centred: what is left of it once the depth is known."""
    r = df.groupby("depth")[key].rank()
    return (r - r.groupby(df["depth"]).transform("mean")).to_numpy(float)


def sweep_correlations(df) -> dict[str, float]:
    """Spearman and Pearson correlations of variance and bias with test accuracy, and Spearman's rho of the
    parameter count with the variance, over all rows of the sweep (Sec. 5.3); and the Pearson correlation of
    the within-depth ranks (``*_within_depth``), which leaves out what depth alone explains (accuracy falls
    with depth at a fixed budget)."""
    acc, var, bias, npar = (df[k].to_numpy(float) for k in ("test_acc", "variance", "bias", "n_params"))
    sp, pe = (lambda a, b: float(stats.spearmanr(a, b).statistic)), (lambda a, b: float(stats.pearsonr(a, b).statistic))
    return {"spearman_var_acc": sp(var, acc),
            "spearman_var_acc_within_depth": pe(_within(df, "variance"), _within(df, "test_acc")),
            "spearman_bias_acc_within_depth": pe(_within(df, "bias"), _within(df, "test_acc")),
            "spearman_bias_acc": sp(bias, acc), "pearson_var_acc": pe(var, acc), "pearson_bias_acc": pe(bias, acc),
            "spearman_params_var": sp(npar, var)}


# ----------------------------------------------------------------------------- Figs. 6-7: sample complexity
def bias_shifts(sc: Mapping) -> np.ndarray:
    """``(L,)``: per fraction, the largest |bias(subset) − bias(all rows)| over the random subsets (C4.7)."""
    return np.abs(np.asarray(sc["bias"], dtype=float) - float(sc["bias_full"])).max(1)


def worst_bias_shift(sc: Mapping, fraction: float) -> float:
    """Largest |bias(subset) − bias(all rows)| over the random subsets at the fraction nearest ``fraction``."""
    i = int(np.argmin(np.abs(np.asarray(sc["fractions"], dtype=float) - fraction)))
    return float(bias_shifts(sc)[i])
