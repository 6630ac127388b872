"""A study beyond the paper's parts: does the ELBO reward an invariance at all? (``scripts/ch2_eta_sweep.py``)

Table 2's ReLU net with the generators of one invariance *fixed* at several values, and learned from others,
in one sweep; the committed record of it is ``cpu_eta_sweep.json`` (shown by ``views.show_eta_sweep``).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import torch

from .data import VARIANTS, transformed_dataset
from .invariant_weights import INVARIANCES, InvariantNet, invariance_mask
from .settings import Settings
from .sweeps import feature_scale
from .train import evaluate, fit_sweep

__all__ = ["run_eta_sweep", "eta_sweep_frame"]


def run_eta_sweep(s: Settings, invariance: str, variant: str, values: Sequence[float], device: torch.device,
                  seed: int = 0, learned_from: Sequence[float] = ()) -> dict:
    """Does the ELBO reward an invariance at all? Table 2's ReLU net on one MNIST dataset with the generators
    of ``invariance`` fixed at each of ``values`` (both generators of a type at the same value), and learned
    from each of ``learned_from``, in one sweep (the same mini-batches for every member, evaluated with
    common noise, as in Table 1; Table 2's optimisation settings ``s.table2``).

    A diagnostic beyond the paper: if the ELBO-best fixed value is 0, learning that moves eta to 0 follows the
    objective; if it is not, the optimisation misses it.

    Returns:
        ``{"invariance", "variant", "names", "values" (M,), "learned" (M,) bool, "elbo", "test_acc", "test_ll",
        "kl_per_n" (M,), "eta" (M, 6) final, "wall_time_s", "n_train"}``.
    """
    if invariance not in INVARIANCES or invariance in ("none", "affine"):
        raise ValueError(f"invariance must be one of rotation, translation, scale, got {invariance!r}")
    if variant not in VARIANTS:
        raise ValueError(f"unknown dataset variant {variant!r}; valid: {list(VARIANTS)}")
    vals = [float(v) for v in values] + [float(v) for v in learned_from]
    if not vals:
        raise ValueError("run_eta_sweep needs at least one fixed value or one initial value")
    mask = invariance_mask(invariance)  # (6,)
    learned = torch.tensor([0.0] * len(values) + [1.0] * len(learned_from))  # (M,)
    names = [f"fixed {v:g}" for v in values] + [f"learned ({v:g} init)" for v in learned_from]
    ds = transformed_dataset("mnist", variant, s.n_train, s.n_test, seed)
    model = InvariantNet("relu", (1, 28, 28), s.hidden, 10, torch.tensor(vals)[:, None] * mask,
                         learned[:, None] * mask, torch.ones(len(vals)), alpha=s.alpha, blur_sigma=s.blur_sigma,
                         seed=seed, feature_scale=feature_scale(s, s.hidden), init_std=s.init_std).to(device)
    hist = fit_sweep(model, ds["train"], s.table2, seed)
    ev = evaluate(model, ds["train"], ds["test"], s.table2.eval_samples, seed)
    return {"invariance": invariance, "variant": variant, "names": names, "values": vals,
            "learned": learned.bool().tolist(), **ev,
            "eta": model.eta.detach().cpu(), "wall_time_s": hist["wall_time_s"], "n_train": ds["n_train"]}


def eta_sweep_frame(sweeps: Sequence[dict]) -> pd.DataFrame:
    """``run_eta_sweep`` results as one table: per sweep and member, the mean final |eta| of the swept
    generators, the training ELBO and the test accuracy."""
    rows = []
    for r in sweeps:
        gens = list(INVARIANCES[r["invariance"]])
        for m, name in enumerate(r["names"]):
            rows.append({"invariance": r["invariance"], "dataset": r["variant"], "member": name,
                         "eta final": float(np.abs(np.asarray(r["eta"])[m, gens]).mean()),
                         "ELBO": float(r["elbo"][m]), "test acc (%)": float(r["test_acc"][m])})
    return pd.DataFrame(rows).set_index(["invariance", "dataset", "member"]).round(3)
