"""What the parameterisation costs: Table 1's RFF net under the paper's settings, and one departure at a time.

The paper (Sec. 4) fixes the RFF frequencies at ``W1 ~ N(0, sigma^2)`` with sigma = 0.3, the posterior at
``mu_c = 0, L_c = I``, the prior variance alpha = 1 and Adam 1e-3 cosine-annealed to 0 over 100 epochs of
60,000 images (~47,000 steps). Every profile of this chapter runs far fewer steps. This study measures what each
setting the reduced profiles might change is worth, on fully rotated and regular MNIST (App. D), with the members
of Table 1 that say the most: eta_rot fixed at 0 (no invariance) and at 180 degrees (full rotation invariance),
and eta_rot learned from 5 degrees (Fig. 2). Each arm of ``ARMS`` changes one thing from the paper's settings
(``arm_settings``; ``old`` is every departure of the earlier reduced standard profile at once).

A reading of Adam's step: its update is at most ~lr per step, so with the cosine schedule eta can move at most
``lr * steps / 2`` radians: 0.12 rad (7 degrees) for 1e-3 over 240 steps, where full invariance needs pi.
"""
from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from .settings import Ablation, Settings, TrainConfig
from .sweeps import run_rotation_sweep

__all__ = ["ARMS", "arm_settings", "arm_part", "max_eta_move_deg"]

#: arm key -> what it changes from the paper's settings (shown on the page). The paper's settings: sigma 0.3, plain
#: ``cos`` features, ``L = I``, Adam 1e-3 for every group (``lr``: the off-diagonals of L stay at 1e-3).
ARMS: dict[str, str] = {
    "paper": "the paper's settings (σ 0.3, cos features, L = I, Adam 1e-3), reduced budget",
    "sigma": "RFF σ = 0.1",
    "scale": "features × √(2/D)",
    "linit": "L₀ = 0.3 I",
    "lr": "Adam 1e-2 (means, log-diagonals, η)",
    "budget": "the paper's settings, budget_factor × the steps",
    "lr-scale": "Adam 1e-2 and features × √(2/D)",
    "old": "the earlier reduced profile (σ 0.1, √(2/D), L₀ = 0.3 I, Adam 1e-2 / η 2e-2)",
}


def arm_settings(ab: Ablation, arm: str, alpha: float = 1.0, blur_sigma: float = 0.1) -> Settings:
    """The settings of one arm: the paper's parameterisation at the ablation's sizes, with the arm's change.

    Raises:
        ValueError: ``arm`` is not in ``ARMS``.
    """
    if arm not in ARMS:
        raise ValueError(f"unknown ablation arm {arm!r}; valid: {list(ARMS)}")
    paper = replace(ab.train, lr=1e-3, lr_eta=1e-3, lr_cov=1e-3, lr_w1=1e-3, lr_eta_other=None)
    fast = replace(paper, lr=1e-2, lr_eta=1e-2)
    budget = replace(paper, epochs=paper.epochs * ab.budget_factor, log_every=paper.log_every * ab.budget_factor)
    changes: dict[str, dict[str, Any]] = {
        "paper": {}, "sigma": {"sigma": 0.1}, "scale": {"normalise_features": True}, "linit": {"init_std": 0.3},
        "lr": {"train": fast}, "budget": {"train": budget}, "lr-scale": {"train": fast, "normalise_features": True},
        "old": {"sigma": 0.1, "normalise_features": True, "init_std": 0.3, "train": replace(fast, lr_eta=2e-2)},
    }
    return replace(Settings(n_train=ab.n_train, n_test=ab.n_test, hidden=ab.hidden, train=paper, sigma=0.3,
                            normalise_features=False, init_std=1.0, alpha=alpha, blur_sigma=blur_sigma,
                            init_degrees=ab.fixed_degrees, learned_init_degrees=ab.learned_degrees,
                            ml_init_degrees=(), ablation=None), **changes[arm])


def max_eta_move_deg(cfg: TrainConfig, n_train: int) -> float:
    """Degrees eta_rot can move at most under Adam with ``cfg`` (|step| <= lr, cosine mean 1/2):
    ``lr_eta * steps / 2``."""
    steps = cfg.epochs * math.ceil(n_train / cfg.batch_size)
    return math.degrees(cfg.lr_eta * steps / 2)


def arm_part(s: Settings, device: torch.device, arm: str, variant: str) -> dict:
    """The ``ab-<arm>-<dataset>`` part of profile settings ``s``: one arm of ``s.ablation`` on one dataset, trained on
    its ``seeds`` seeds (0, 1, ...; each a new data subset, RFF draw and noise).

    Returns:
        ``{"arm", "dataset", "names" (M,), "elbo", "test_acc", "kl_per_n", "eta_deg_final" (S, M), "steps" (L,),
        "eta_deg" (S, L, M) over training, "seeds" (S,), "max_move_deg", "wall_time_s"}``.
    """
    ab = s.ablation
    assert ab is not None, "a profile without an ablation has no ab- parts"
    t0 = time.perf_counter()
    st = arm_settings(ab, arm, s.alpha, s.blur_sigma)
    runs = [run_rotation_sweep(st, "rff", variant, device, k) for k in range(ab.seeds)]
    out = {"arm": arm, "dataset": variant, "names": runs[0]["names"], "steps": np.asarray(runs[0]["steps"]),
           "seeds": np.arange(ab.seeds), "max_move_deg": max_eta_move_deg(st.train, ab.n_train),
           "wall_time_s": time.perf_counter() - t0}
    for k in ("elbo", "test_acc", "kl_per_n", "eta_deg_final", "eta_deg"):
        out[k] = np.stack([np.asarray(r[k]) for r in runs])  # (S, M) or (S, L, M)
    return out
