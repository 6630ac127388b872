"""Chapter 4's training runs, one per figure of the paper (the sweep of Fig. 4 one per depth); the parts
(``parts``) call them.

Every run trains its seeds as one ``fit_ensemble`` and measures each member with LieGG (``measures``); it
returns numbers and arrays, never models, so the studies that need a trained model (the sample complexity of
App. A.2) live in the run that trains it.
"""
from __future__ import annotations

import copy
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from scipy import stats
from torch import Tensor, nn

from ...augment import random_rotation
from ...metrics import polarization_matrix, spectrum_and_bias
from ...training import FitConfig, build_models, fit_ensemble, predict, test_accuracy
from .data import o5_dataset, rotation_cifar10, rotation_mnist
from .measures import layerwise as measure_layers
from .measures import sample_complexity, summarise
from .models import O5Invariant, hidden_for_params, swish_mlp
from .settings import Settings

__all__ = ["o5", "o5_sizes", "rotation", "sweep", "layerwise", "cifar"]

_LAYERS = ("1.weight", "1.bias", "3.weight", "3.bias", "5.weight", "5.bias")  # an MLP's first 3 Linear layers


# ----------------------------------------------------------------------------- O(5) regression
def _train_o5(s: Settings, n: int, seed: int, device: torch.device) -> tuple[dict, list[nn.Module], Tensor]:
    """Train the seeds on N points of eq. (5), then LieGG (eq. 2) on the training set: ``(summary, models, x (n,
    10))``, the summary with ``sigma (M, 25)`` ascending, ``bias (M, 25)``, ``variance10 (M,)`` the mean of
    ``sigma_i^2 / N`` over the ten smallest (A.3.1), ``test_mse (M,)``, epochs and wall time."""
    x, y = o5_dataset(n, seed)
    xt, yt = o5_dataset(s.o5_test, seed + 10_000)
    torch.manual_seed(seed)
    models = build_models(lambda: swish_mlp(10, s.o5_hidden, 1), s.seeds)
    epochs = max(1, min(s.o5_budget // n, s.o5_max_epochs))  # A.3.1: min(900000 / N, 1000)
    cfg = FitConfig(epochs=epochs, batch_size=s.o5_batch, lr=s.o5_lr, task="regression", select="last")
    res = fit_ensemble([m.to(device) for m in models], (x, y), None, cfg, seeds=s.seeds, device=device,
                       desc=f"O(5) N={n}")
    per = [spectrum_and_bias(polarization_matrix(m, x.to(device), blocks=2)) for m in res.models]
    sigma = torch.stack([p["sigma"] for p in per])  # (M, 25)
    out = {"n": n, "epochs": epochs, "wall_time_s": res.wall_time_s, "sigma": sigma,
           "bias": torch.stack([p["bias"] for p in per]),  # (M, 25)
           "variance10": (sigma[:, :10] ** 2 / n).mean(1),  # (M,)
           "test_mse": torch.tensor([F.mse_loss(predict(m, xt.to(device)), yt.to(device)).item()
                                     for m in res.models])}  # (M,)
    return out, res.models, x


def o5(s: Settings, device: torch.device) -> dict:
    """Fig. 2 (left, middle), C4.3 and App. A.2 for O(5), the seeds on ``s.o5_n`` points: ``_train_o5``'s summary;
    ``invariant``: ``spectrum_and_bias`` of the untrained ``O5Invariant`` on the same points (``sigma (25,)``,
    ``bias (25,)``, ``variance``, ``generator (5, 5)``); ``sample_complexity`` of the first seed
    (``measures.sample_complexity``: ``fractions (L,)``, ``variance``/``bias (L, R)``)."""
    out, models, x = _train_o5(s, s.o5_n, 0, device)
    torch.manual_seed(0)
    inv = O5Invariant().double().to(device)
    out["invariant"] = spectrum_and_bias(polarization_matrix(inv, x.double().to(device), blocks=2))
    out["sample_complexity"] = sample_complexity(s, models[0], x.to(device), images=False)
    return out


def o5_sizes(s: Settings, device: torch.device) -> dict:
    """Fig. 2 (right): mean symmetry variance of the ten O(5) directions vs training-set size: ``sizes (L,)``,
    ``epochs (L,)``, ``variance10 (L, M)``, ``max_bias10 (L, M)`` (largest bias among the ten), and ``spearman``:
    Spearman's rho between size and the seed-mean variance."""
    # a fresh data draw per size
    runs = [_train_o5(s, n, 100 * (i + 1), device)[0] for i, n in enumerate(s.o5_sizes)]
    var = torch.stack([r["variance10"] for r in runs])  # (L, M)
    rho = stats.spearmanr(s.o5_sizes, var.mean(1).numpy()).statistic
    return {"sizes": torch.tensor(s.o5_sizes), "epochs": torch.tensor([r["epochs"] for r in runs]), "variance10": var,
            "max_bias10": torch.stack([r["bias"][:, :10].max(1).values for r in runs]), "spearman": float(rho)}


# ----------------------------------------------------------------------------- rotation-MNIST
def _fit(models: list[nn.Module], d: dict, cfg: FitConfig, seeds: Sequence[int], device, desc: str,
         augment=None) -> tuple[list[nn.Module], Tensor, float]:
    """Train M models as one ensemble (best validation epoch); returns them, test accuracy (M,), wall time."""
    res = fit_ensemble([m.to(device) for m in models], d["train"], d["val"], cfg, seeds=seeds, augment=augment,
                       device=device, desc=desc)
    return res.models, test_accuracy(res.models, d["test"]), res.wall_time_s


def _train_mlps(hidden: Sequence[int], d: dict, cfg: FitConfig, seeds: Sequence[int], device, desc: str):
    """Swish MLPs of hidden widths ``hidden`` on rotation-MNIST, one per seed, as one ensemble."""
    torch.manual_seed(seeds[0])
    return _fit(build_models(lambda: swish_mlp(784, hidden), seeds), d, cfg, seeds, device, desc)


def _rotation_data(s: Settings) -> dict:
    return rotation_mnist(s.rot_train, s.rot_val, s.rot_test, s.blur)


def rotation(s: Settings, device: torch.device) -> dict:
    """Fig. 3 and App. A.2 for rotation-MNIST, the shallow (2 hidden layers of 47) and deep (6 of 116) MLPs:
    ``shallow`` and ``deep``, each ``measures.summarise``'s entries plus ``wall_time_s``; ``sample_complexity`` of
    the first deep seed; ``examples``: ten training images (uint8, ``(10, 28, 28)``) and labels; ``digit``: the
    first training image ``(1, 28, 28)`` float, for Fig. 3b."""
    d, cfg = _rotation_data(s), FitConfig(epochs=s.rot_epochs, batch_size=s.rot_batch, lr=1e-3)
    x = d["train"][0]  # (N, 28, 28)
    out: dict[str, Any] = {}
    deep: Any = None
    for name, hidden in (("shallow", s.shallow), ("deep", s.deep)):
        models, acc, wall = _train_mlps(hidden, d, cfg, s.seeds, device, f"rot-MNIST {name}")
        out[name] = summarise(models, acc, x, device) | {"wall_time_s": wall}
        deep = models[0]
    out["sample_complexity"] = sample_complexity(s, deep, x.to(device), images=True)
    out["examples"] = {"images": (255 * x[:10]).round().to(torch.uint8), "labels": d["train"][1][:10]}
    out["digit"] = x[:1]  # (1, 28, 28)
    return out


def sweep(s: Settings, device: torch.device, depth: int) -> dict:
    """Fig. 4 for one depth: networks of ``s.sweep_params`` parameters with ``depth`` hidden (h x h) layers:
    ``depth`` and ``rows``, one dict per (params, seed) with ``width``, ``n_params``, ``test_acc``, ``variance`` and
    ``bias`` (of the smallest singular vector)."""
    d, seeds = _rotation_data(s), s.seeds[: s.sweep_seeds]
    cfg = FitConfig(epochs=s.sweep_epochs, batch_size=s.rot_batch, lr=1e-3)
    rows = []
    for p in s.sweep_params:
        h = hidden_for_params(p, depth)
        models, acc, _ = _train_mlps((h,) * (depth + 1), d, cfg, seeds, device, f"sweep {p // 1000}k depth {depth}")
        summ = summarise(models, acc, d["train"][0], device)
        rows += [{"params": p, "depth": depth, "width": h, "n_params": summ["params"], "seed": seeds[m],
                  "test_acc": float(acc[m]), "variance": float(summ["variance"][m]),
                  "bias": float(summ["bias"][m, 0])} for m in range(len(seeds))]
    return {"depth": depth, "rows": rows}


def _reinjected(w: int, init: list[dict], subs: list[Any], seeds, freeze: bool) -> list[nn.Module]:
    """MLP-7s from their initial weights with sub-MLP-3's trained first three Linear layers put back."""
    models: list[Any] = build_models(lambda: swish_mlp(784, [w] * 6), seeds)
    for m, st, sub in zip(models, init, subs):
        m.load_state_dict(st)
        for i in (1, 3, 5):  # the first three Linear layers
            m[i].load_state_dict(sub[i].state_dict())
            m[i].requires_grad_(not freeze)
    return models


def layerwise(s: Settings, device: torch.device) -> dict:
    """Fig. 5 (Sec. 5.4): layer-wise variance and bias of MLP-7 (7 Linear layers, 6 hidden of ``lw_width``),
    sub-MLP-3, MLP-7[F] and MLP-7[L]. sub-MLP-3 is MLP-7's first 3 Linear layers (from the
    same random initialisation) plus a new head, trained alone; its 3 layers are then re-injected into
    a mother network that is trained either jointly (fine-tuning, [F]) or with them frozen (layer-wise, [L]).
    Returns ``{regime: {"variance": (M, L), "bias": (M, L), "test_acc": (M,)}}`` with ``L`` the measured layers.
    """
    d, w, seeds = _rotation_data(s), s.lw_width, s.seeds
    x, cfg = d["train"][0], FitConfig(epochs=s.lw_epochs, batch_size=s.rot_batch, lr=1e-3)
    torch.manual_seed(seeds[0])
    mothers = build_models(lambda: swish_mlp(784, [w] * 6), seeds)
    init = [copy.deepcopy(m.state_dict()) for m in mothers]
    models, acc, _ = _fit(mothers, d, cfg, seeds, device, "MLP-7")
    out = {"MLP-7": measure_layers(models, acc, x, device)}
    subs = build_models(lambda: swish_mlp(784, [w] * 3), seeds)
    for sub, st in zip(subs, init):  # the sub-network starts from the mother's first 3 layers
        sub.load_state_dict({k: v for k, v in st.items() if k in _LAYERS}, strict=False)
    subs, acc, _ = _fit(subs, d, cfg, seeds, device, "sub MLP-3")
    out["sub MLP-3"] = measure_layers(subs, acc, x, device)
    for regime, freeze in (("MLP-7[F]", False), ("MLP-7[L]", True)):
        models, acc, _ = _fit(_reinjected(w, init, subs, seeds, freeze), d, cfg, seeds, device, regime)
        out[regime] = measure_layers(models, acc, x, device)
    return out


# ----------------------------------------------------------------------------- CIFAR-10
def cifar(s: Settings, device: torch.device) -> dict:
    """Appendix A.3.3: a 7-layer Swish MLP (two seeds) on rotation-augmented CIFAR-10, then LieGG (blur 1.5)
    on up to 5,000 training images, whose frame is measured with one-sided differences (``background=None``: a
    photo has no background; version 1 padded with 0, issue 24): ``measures.summarise``'s entries, ``n_train`` and
    ``wall_time_s``; or ``{"skipped": reason}`` when CIFAR-10 cannot be had."""
    try:
        d = rotation_cifar10(s)
    except (FileNotFoundError, RuntimeError) as err:
        return {"skipped": f"CIFAR-10 is not available here ({type(err).__name__}; helpers.data.load('cifar10') "
                           "says where its files must go)"}
    seeds = s.seeds[:2]
    torch.manual_seed(seeds[0])
    models = build_models(lambda: swish_mlp(3 * 32 * 32, s.cifar_hidden), seeds)
    models, acc, wall = _fit(models, d, FitConfig(epochs=s.cifar_epochs, batch_size=256, lr=1e-3), seeds, device,
                             "rot-CIFAR-10", augment=random_rotation)
    return summarise(models, acc, d["train"][0][:5000], device, background=None) | {
        "n_train": len(d["train"][0]), "wall_time_s": wall}
