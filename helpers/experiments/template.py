"""Chapter 0 (the template): train M seeds of an MLP on real MNIST as one vmapped ensemble and
one by one, and check that both give the same models.

It exercises every piece a chapter uses (profiles, real data, fit / fit_ensemble, claims, the
run record) on a question with a known answer: the ensemble must equal the loop.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from .. import data
from ..models import MLP
from ..training import FitConfig, build_models, fit, fit_ensemble, predict, accuracy

__all__ = ["Settings", "SETTINGS", "mnist_splits", "run"]


@dataclass(frozen=True)
class Settings:
    n_train: int
    n_val: int
    n_test: int
    seeds: tuple[int, ...]
    hidden: tuple[int, ...]
    fit: FitConfig


SETTINGS = {
    "quick": Settings(4000, 1000, 2000, (0, 1, 2), (128,), FitConfig(epochs=10, batch_size=128, lr=1e-3)),
    "standard": Settings(10000, 2000, 10000, (0, 1, 2, 3), (128, 128), FitConfig(epochs=10, batch_size=256)),
    "paper": Settings(50000, 10000, 10000, (0, 1, 2, 3), (300,), FitConfig(epochs=20, batch_size=256)),
}


def mnist_splits(s: Settings, seed: int = 0) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Real MNIST as float images in [0, 1]: train/val from the official training set, test from the test set."""
    x, y = data.load("mnist", train=True)
    xt, yt = data.load("mnist", train=False)
    tr, va = data.split_indices(len(x), (s.n_train, s.n_val), seed)
    (te,) = data.split_indices(len(xt), (s.n_test,), seed)
    return {"train": (data.to_unit(x[tr]), y[tr]), "val": (data.to_unit(x[va]), y[va]),
            "test": (data.to_unit(xt[te]), yt[te])}


def run(s: Settings, device: torch.device, seed: int = 0) -> dict:
    """Train ``len(s.seeds)`` MLPs as an ensemble and as a loop; compare weights and accuracy.

    Returns:
        A dict of numbers: per-member test accuracy for both ways, the largest relative weight
        difference and the lowest agreement of predicted classes over members,
        both wall times, and the per-epoch validation curves.
    """
    splits = mnist_splits(s, seed)
    make = lambda: MLP(28 * 28, s.hidden, 10)  # noqa: E731
    x_test, y_test = (t.to(device) for t in splits["test"])

    loop_models = [m.to(device) for m in build_models(make, s.seeds)]
    t0 = time.perf_counter()
    loop = [fit(m, splits["train"], splits["val"], s.fit, seed=sd, desc=f"seed {sd}")
            for m, sd in zip(loop_models, s.seeds)]
    t_loop = time.perf_counter() - t0

    ens_models = [m.to(device) for m in build_models(make, s.seeds)]
    ens = fit_ensemble(ens_models, splits["train"], splits["val"], s.fit, seeds=s.seeds)

    vec = lambda m: torch.nn.utils.parameters_to_vector(m.parameters())  # noqa: E731  (D,)
    rel_diff = max(((vec(a) - vec(b)).norm() / vec(a).norm()).item() for a, b in zip(loop_models, ens_models))
    agree = [(predict(a, x_test).argmax(-1) == predict(b, x_test).argmax(-1)).float().mean().item()
             for a, b in zip(loop_models, ens_models)]
    acc = lambda m: accuracy(predict(m, x_test), y_test)  # noqa: E731
    return {
        "test_acc_loop": [acc(m) for m in loop_models],
        "test_acc_ensemble": [acc(m) for m in ens_models],
        "best_epoch_loop": [r.best_epoch for r in loop],
        "best_epoch_ensemble": ens.best_epoch,
        "rel_weight_diff": rel_diff,       # max over members of ||w_loop - w_ens|| / ||w_loop||
        "prediction_agreement": min(agree),  # fraction of test images with the same predicted class
        "wall_s_loop": t_loop,
        "wall_s_ensemble": ens.wall_time_s,
        "val_curve_loop": [r.history["val_score"] for r in loop],        # (M, epochs)
        "val_curve_ensemble": [list(c) for c in zip(*ens.history["val_score"])],  # (M, epochs)
    }
