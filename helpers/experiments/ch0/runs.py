"""Chapter 0's training run, the compute of its one part (``parts``): ``ensemble_vs_loop``."""
from __future__ import annotations

import time

import torch

from ...models import MLP
from ...training import build_models, fit, fit_ensemble, predict, test_accuracy
from .data import mnist_splits
from .settings import Settings

__all__ = ["ensemble_vs_loop"]


def ensemble_vs_loop(s: Settings, device: torch.device) -> dict:
    """Train ``len(s.seeds)`` MLPs as an ensemble and as a loop; compare weights and accuracy.

    Returns:
        Per-member test accuracy (fractions) both ways, the best epochs, the largest relative weight difference,
        the lowest agreement of predicted classes over members, both wall times, the per-epoch validation
        curves ``(M, epochs)``, and eight test ``examples`` (uint8 images and labels) for the page.
    """
    splits = mnist_splits(s)
    make = lambda: MLP(28 * 28, s.hidden, 10)  # noqa: E731
    x_test = splits["test"][0].to(device)

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
    xe, ye = splits["test"][0][:8], splits["test"][1][:8]
    return {
        "test_acc_loop": test_accuracy(loop_models, splits["test"]),  # (M,)
        "test_acc_ensemble": test_accuracy(ens_models, splits["test"]),  # (M,)
        "best_epoch_loop": [r.best_epoch for r in loop],
        "best_epoch_ensemble": ens.best_epoch,
        "rel_weight_diff": rel_diff,       # max over members of ||w_loop - w_ens|| / ||w_loop||
        "prediction_agreement": min(agree),  # fraction of test images with the same predicted class
        "wall_s_loop": t_loop,
        "wall_s_ensemble": ens.wall_time_s,
        "val_curve_loop": torch.tensor([r.history["val_score"] for r in loop]),  # (M, epochs)
        "val_curve_ensemble": torch.tensor(ens.history["val_score"]).T,  # (M, epochs)
        "examples": {"images": (255 * xe).round().to(torch.uint8), "labels": ye},  # (8, 28, 28), (8,)
    }
