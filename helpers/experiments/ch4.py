"""Chapter 4 runners: LieGG (Moskalev et al. 2022) on O(5) regression, rotation-MNIST and CIFAR-10.

Every experiment trains its seeds as one ``fit_ensemble`` and measures each member with the
polarization-matrix metrics of ``helpers.metrics.liegg``. The notebook ``book/04_liegg.ipynb`` only
calls the ``run_*`` functions below and plots what they return.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from scipy import stats
from torch import Tensor, nn
from torchvision.transforms.v2.functional import gaussian_blur

from .. import data
from ..metrics import (lie_generators, polarization_matrix, polarization_matrix_image, polarization_spectrum,
                       symmetry_bias)
from ..models import MLP, count_parameters
from ..training import FitConfig, accuracy, build_models, fit, fit_ensemble, predict

__all__ = [
    "Settings", "SETTINGS", "o5_target", "o5_dataset", "O5Invariant", "hidden_for_params",
    "rotate", "rotation_mnist", "rotation_cifar10", "measure", "run_o5", "run_o5_sizes",
    "run_rotation", "run_sweep", "run_layerwise", "run_sample_complexity", "run_cifar", "record_frames",
]


@dataclass(frozen=True)
class Settings:
    """One profile of chapter 4. Paper values in comments (Appendix A.3)."""

    seeds: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8)   # paper: 8 seeds
    # O(5) regression (Sec. 5.1, A.3.1): MLP (10x32) -> 3*(32x32) -> (32x1), Swish, Adam 1e-3,
    # min(900000/N, 1000) epochs
    o5_n: int = 10_000
    o5_sizes: tuple[int, ...] = (100, 250, 500, 1000, 2500, 5000, 10_000, 20_000)
    o5_hidden: tuple[int, ...] = (32, 32, 32, 32)
    o5_budget: int = 900_000
    o5_max_epochs: int = 1000
    o5_batch: int = 500
    o5_lr: float = 1e-3
    o5_test: int = 5000
    # rotation-MNIST (Sec. 5.2, A.3.2): 10k/2k/50k, shallow 2x47, deep 6x116, Adam 1e-3, 300 epochs
    rot_train: int = 10_000
    rot_val: int = 2_000
    rot_test: int = 10_000
    blur: float = 1.5
    rot_epochs: int = 300
    rot_batch: int = 512
    shallow: tuple[int, ...] = (47, 47)
    deep: tuple[int, ...] = (116,) * 6
    # width/depth sweep (Sec. 5.3, A.3.4): 40k..200k parameters step 20k, 1..5 hidden layers
    sweep_params: tuple[int, ...] = tuple(range(40_000, 200_001, 20_000))
    sweep_depths: tuple[int, ...] = (1, 2, 3, 4, 5)
    sweep_seeds: int = 2
    sweep_epochs: int = 300
    # layer-wise symmetries (Sec. 5.4): MLP-7 and its 3-layer sub-network
    lw_width: int = 116
    lw_epochs: int = 300
    # sample complexity (A.2): fractions of the training rows used to build E
    fractions: tuple[float, ...] = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
    fraction_repeats: int = 5
    # rotation-augmented CIFAR-10 (A.3.3): 7-layer perceptron, width 400, 300 epochs
    cifar_hidden: tuple[int, ...] = (400,) * 6
    cifar_epochs: int = 300
    cifar_train: int | None = None   # None: every training image available
    cifar_val: int = 1000


SETTINGS = {
    "quick": Settings(
        seeds=(1, 2, 3), o5_n=5000, o5_sizes=(100, 250, 500, 1000, 2500, 5000), o5_budget=450_000,
        o5_max_epochs=400, o5_test=2000, rot_train=6000, rot_val=1000, rot_test=2000, rot_epochs=20,
        rot_batch=128, sweep_params=(40_000, 120_000, 200_000), sweep_depths=(1, 3, 5), sweep_epochs=10,
        lw_epochs=10, fractions=(0.0025, 0.01, 0.05, 0.25, 1.0), fraction_repeats=3,
        cifar_hidden=(256,) * 6, cifar_epochs=8, cifar_train=3000, cifar_val=500),
    "standard": Settings(
        seeds=(1, 2, 3, 4), o5_sizes=(100, 250, 500, 1000, 2500, 5000, 10_000), rot_epochs=100,
        sweep_epochs=60, lw_epochs=60, cifar_epochs=60),
    "paper": Settings(),
}


# ----------------------------------------------------------------------------- O(5) regression
def o5_target(x: Tensor) -> Tensor:
    """Eq. (5): ``f(x1, x2) = sin|x1| - |x2|^3 / 2 + x1.x2 / (|x1| |x2|)``; ``(B, 10) -> (B,)``."""
    x1, x2 = x[:, :5], x[:, 5:]  # (B, 5) each
    n1, n2 = x1.norm(dim=1), x2.norm(dim=1)  # (B,)
    return torch.sin(n1) - 0.5 * n2**3 + (x1 * x2).sum(1) / (n1 * n2)


def o5_dataset(n: int, seed: int) -> tuple[Tensor, Tensor]:
    """``x ~ N(0, I_10)`` and ``y = f(x)`` of eq. (5): ``((n, 10), (n, 1))``."""
    x = torch.randn(n, 10, generator=torch.Generator().manual_seed(seed))  # (n, 10)
    return x, o5_target(x)[:, None]  # (n, 10), (n, 1)


class O5Invariant(nn.Module):
    """An exactly O(5)-invariant model: a Swish MLP on the invariants ``|x1|^2, |x2|^2, x1.x2``.

    Shapes: ``(B, 10) -> (B, 1)``.
    """

    def __init__(self, hidden: int = 32):
        super().__init__()
        self.net = MLP(3, [hidden, hidden], 1, activation="swish")

    def forward(self, x: Tensor) -> Tensor:
        x1, x2 = x[:, :5], x[:, 5:]  # (B, 5) each
        inv = torch.stack([(x1 * x1).sum(1), (x2 * x2).sum(1), (x1 * x2).sum(1)], dim=1)  # (B, 3)
        return self.net(inv)  # (B, 1)


def _o5_config(s: Settings, n: int) -> FitConfig:
    epochs = max(1, min(s.o5_budget // n, s.o5_max_epochs))  # A.3.1: min(900000 / N, 1000)
    return FitConfig(epochs=epochs, batch_size=s.o5_batch, lr=s.o5_lr, task="regression", select="last")


def _spectrum_and_bias(E: Tensor) -> dict:
    """Singular values (ascending), bias of every singular vector, variance: what Fig. 2/3 plot (on the host,
    whatever device ``E`` is on)."""
    sigma, V = polarization_spectrum(E.double())  # (D,), (D, D)
    d = math.isqrt(E.shape[1])
    bias = symmetry_bias(V.T.reshape(-1, d, d))  # (D,), bias of the vector of sigma[i]
    return {"sigma": sigma.cpu(), "bias": bias.cpu(), "variance": float(sigma[0] ** 2 / len(E)),
            "generator": V[:, 0].reshape(d, d).cpu()}


def run_o5(s: Settings, device: torch.device, seed: int = 0, n: int | None = None) -> dict:
    """Fig. 2 (left, middle): train the seeds on N samples, then LieGG on the training set.

    Returns:
        ``sigma (M, 25)`` ascending, ``bias (M, 25)``, ``variance10 (M,)`` the mean of ``sigma_i^2 / N`` over
        the ten smallest (A.3.1), ``test_mse (M,)``, the untrained ``O5Invariant``'s ``invariant`` entry,
        and ``models`` (for the sample-complexity study).
    """
    n = n or s.o5_n
    x, y = o5_dataset(n, seed)
    xt, yt = o5_dataset(s.o5_test, seed + 10_000)
    torch.manual_seed(seed)
    models = build_models(lambda: MLP(10, list(s.o5_hidden), 1, activation="swish"), s.seeds)
    res = fit_ensemble([m.to(device) for m in models], (x, y), None, _o5_config(s, n), seeds=s.seeds,
                       device=device, desc=f"O(5) N={n}")
    out = {"n": n, "epochs": _o5_config(s, n).epochs, "wall_time_s": res.wall_time_s, "models": res.models}
    per = [_spectrum_and_bias(polarization_matrix(m, x.to(device), blocks=2)) for m in res.models]
    out["sigma"] = torch.stack([p["sigma"] for p in per])  # (M, 25)
    out["bias"] = torch.stack([p["bias"] for p in per])  # (M, 25)
    out["variance10"] = (out["sigma"][:, :10] ** 2 / n).mean(1)  # (M,)
    out["test_mse"] = torch.tensor([F.mse_loss(predict(m, xt.to(device)), yt.to(device)).item()
                                    for m in res.models])  # (M,)
    torch.manual_seed(seed)
    inv = O5Invariant().double().to(device)
    out["invariant"] = _spectrum_and_bias(polarization_matrix(inv, x.double().to(device), blocks=2))
    return out


def run_o5_sizes(s: Settings, device: torch.device, seed: int = 0) -> dict:
    """Fig. 2 (right): mean symmetry variance of the ten O(5) directions vs training-set size.

    Returns:
        ``sizes (L,)``, ``variance10 (L, M)``, ``max_bias10 (L, M)`` (largest bias among the ten), and
        Spearman's rho between size and the seed-mean variance.
    """
    rows, biases = [], []
    for i, n in enumerate(s.o5_sizes):
        r = run_o5(s, device, seed + 100 * (i + 1), n)  # a fresh data draw per size
        rows.append(r["variance10"])
        biases.append(r["bias"][:, :10].max(1).values)
    var = torch.stack(rows)  # (L, M)
    rho = stats.spearmanr(s.o5_sizes, var.mean(1).numpy()).statistic
    return {"sizes": torch.tensor(s.o5_sizes), "variance10": var, "max_bias10": torch.stack(biases),
            "spearman": float(rho)}


# ----------------------------------------------------------------------------- rotation-MNIST
def rotate(images: Tensor, angles: Tensor) -> Tensor:
    """Rotate each image about its centre (bilinear, zeros outside): ``(B, [C,] H, W)``, ``(B,)`` radians."""
    x = images if images.ndim == 4 else images[:, None]  # (B, C, H, W)
    c, s_ = torch.cos(angles), torch.sin(angles)  # (B,)
    theta = torch.stack([torch.stack([c, -s_, torch.zeros_like(c)], 1),
                         torch.stack([s_, c, torch.zeros_like(c)], 1)], 1).to(x)  # (B, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)  # (B, H, W, 2)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)  # (B, C, H, W)
    return out if images.ndim == 4 else out[:, 0]


def _blur(images: Tensor, sigma: float) -> Tensor:
    """Gaussian smoothing (Sec. 4.1) with a kernel of ``2 * ceil(3 sigma) + 1`` taps; ``(B, [C,] H, W)``."""
    if sigma <= 0:
        return images
    k = 2 * math.ceil(3 * sigma) + 1
    x = images if images.ndim == 4 else images[:, None]  # (B, C, H, W)
    out = gaussian_blur(x, [k, k], [sigma, sigma])
    return out if images.ndim == 4 else out[:, 0]


def rotation_mnist(n_train: int, n_val: int, n_test: int, blur: float = 1.5, seed: int = 0,
                   root=None) -> dict[str, tuple[Tensor, Tensor]]:
    """Rotation-MNIST rebuilt from the official MNIST files: uniform rotations in [0, 2 pi), then blur.

    Train and validation images are drawn (without overlap) from MNIST's training set, test images from
    its test set; each image gets its own angle from ``torch.Generator().manual_seed(seed)``.

    Returns:
        ``{"train": (x (n_train, 28, 28) float in [0, 1], y (n_train,)), "val": ..., "test": ...}``.
    """
    xtr, ytr = data.load("mnist", train=True, root=root)
    xte, yte = data.load("mnist", train=False, root=root)
    if n_train + n_val > len(xtr) or n_test > len(xte):
        raise ValueError(f"rotation_mnist: asked for {n_train}+{n_val} train/val and {n_test} test images; "
                         f"MNIST has {len(xtr)} and {len(xte)}")
    itr, iva = data.split_indices(len(xtr), [n_train, n_val], seed)
    ite = data.split_indices(len(xte), [n_test], seed + 1)[0]
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for name, (x, y) in {"train": (xtr[itr], ytr[itr]), "val": (xtr[iva], ytr[iva]), "test": (xte[ite], yte[ite])}.items():
        angles = torch.rand(len(x), generator=gen) * 2 * math.pi  # (B,)
        out[name] = (_blur(rotate(data.to_unit(x), angles), blur), y)  # (B, 28, 28), (B,)
    return out


def measure(model: nn.Module, images: Tensor, layer: int | None = None) -> dict:
    """LieGG on images: spectrum, per-vector bias, variance, generator of the smallest singular value.

    Args:
        model: an ``MLP`` taking ``(B, H, W)`` (or ``(B, C, H, W)``).
        images: ``(N, [C,] H, W)``, smoothed.
        layer: measure the features after this many Linear layers (1-based, with their activation) instead
            of the logits; their L2-normalised sum plays the role of ``F``.
    """
    if layer is None:
        fn = model
    else:
        linear = [i for i, m in enumerate(model) if isinstance(m, nn.Linear)]
        if not 1 <= layer <= len(linear):
            raise ValueError(f"layer must be in 1..{len(linear)}, got {layer}")
        fn = nn.Sequential(*list(model)[: linear[layer - 1] + (2 if layer < len(linear) else 1)])  # with its activation
    E = polarization_matrix_image(fn, images, normalize=True)  # (N, 4)
    return _spectrum_and_bias(E)


def _rot_config(s: Settings, epochs: int) -> FitConfig:
    return FitConfig(epochs=epochs, batch_size=s.rot_batch, lr=1e-3)


def _train_mlps(hidden, d: dict, cfg: FitConfig, seeds, device, desc: str, in_dim: int = 784):
    torch.manual_seed(seeds[0])
    models = build_models(lambda: MLP(in_dim, list(hidden), 10, activation="swish"), seeds)
    res = fit_ensemble([m.to(device) for m in models], d["train"], d["val"], cfg, seeds=seeds, device=device,
                       desc=desc)
    xt, yt = d["test"]
    acc = torch.tensor([accuracy(predict(m, xt.to(device)), yt.to(device)) for m in res.models])  # (M,)
    return res, acc


def _summarise(models, acc, x: Tensor, device) -> dict:
    per = [measure(m, x.to(device)) for m in models]
    half = x.shape[-1] / 2
    return {"test_acc": acc, "sigma": torch.stack([p["sigma"] for p in per]),  # (M, 4)
            # the authors' code differentiates per pixel, not per unit of the [-1, 1] coordinates:
            "variance_pixel_units": torch.tensor([p["variance"] / half**2 for p in per]),  # (M,)
            "bias": torch.stack([p["bias"] for p in per]),  # (M, 4)
            "variance": torch.tensor([p["variance"] for p in per]),  # (M,)
            "generator": torch.stack([p["generator"] for p in per]),  # (M, 2, 2)
            "params": count_parameters(models[0])}


def run_rotation(s: Settings, d: dict, device: torch.device) -> dict:
    """Fig. 3: the shallow (2 hidden layers of 47) and deep (6 of 116) Swish MLPs on rotation-MNIST.

    Returns:
        ``{"shallow": ..., "deep": ...}``, each with ``test_acc (M,)``, ``sigma (M, 4)``, ``bias (M, 4)``
        (per singular vector, ascending sigma), ``variance (M,)``, ``generator (M, 2, 2)``, ``params``, and
        the trained ``models``.
    """
    out = {}
    for name, hidden in (("shallow", s.shallow), ("deep", s.deep)):
        res, acc = _train_mlps(hidden, d, _rot_config(s, s.rot_epochs), s.seeds, device, f"rot-MNIST {name}")
        out[name] = _summarise(res.models, acc, d["train"][0], device) | {"models": res.models,
                                                                           "wall_time_s": res.wall_time_s}
    return out


def hidden_for_params(params: int, depth: int, in_dim: int = 784, out_dim: int = 10) -> int:
    """Width h of ``(in x h) -> depth * (h x h) -> (h x out)`` (with biases) closest to ``params`` (A.3.4)."""
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    a, b, c = depth, in_dim + 1 + depth + out_dim, out_dim - params  # a h^2 + b h + c = 0
    return max(1, round((-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)))


def run_sweep(s: Settings, d: dict, device: torch.device) -> dict:
    """Fig. 4: variance and bias for networks of 40k-200k parameters and 1-5 hidden (h x h) layers.

    Returns:
        ``rows``: one dict per (params, depth, seed) with ``width``, ``n_params``, ``test_acc``, ``variance``,
        ``bias``; and the Spearman/Pearson correlations of variance and bias with test accuracy and of
        the parameter count with variance.
    """
    rows = []
    seeds = s.seeds[: s.sweep_seeds]
    for p in s.sweep_params:
        for depth in s.sweep_depths:
            h = hidden_for_params(p, depth)
            res, acc = _train_mlps((h,) * (depth + 1), d, _rot_config(s, s.sweep_epochs), seeds, device,
                                   f"sweep {p // 1000}k depth {depth}")
            summ = _summarise(res.models, acc, d["train"][0], device)
            for m in range(len(seeds)):
                rows.append({"params": p, "depth": depth, "width": h, "n_params": summ["params"],
                             "seed": seeds[m], "test_acc": float(acc[m]),
                             "variance": float(summ["variance"][m]), "bias": float(summ["bias"][m, 0])})
    acc = np.array([r["test_acc"] for r in rows])
    var = np.array([r["variance"] for r in rows])
    bias = np.array([r["bias"] for r in rows])
    npar = np.array([r["n_params"] for r in rows])
    return {"rows": rows,
            "spearman_var_acc": float(stats.spearmanr(var, acc).statistic),
            "spearman_bias_acc": float(stats.spearmanr(bias, acc).statistic),
            "pearson_var_acc": float(stats.pearsonr(var, acc).statistic),
            "pearson_bias_acc": float(stats.pearsonr(bias, acc).statistic),
            "spearman_params_var": float(stats.spearmanr(npar, var).statistic)}


def run_layerwise(s: Settings, d: dict, device: torch.device) -> dict:
    """Fig. 5: layer-wise variance and bias of MLP-7, sub-MLP-3, MLP-7[F] and MLP-7[L] (Sec. 5.4).

    MLP-7 has 7 Linear layers (6 hidden of ``lw_width``). sub-MLP-3 is its first 3 Linear layers (from the
    same random initialisation) plus a new head, trained alone; its 3 layers are then re-injected into
    a mother network that is trained either jointly (fine-tuning, [F]) or with them frozen (layer-wise, [L]).

    Returns:
        ``{regime: {"variance": (M, L), "bias": (M, L), "test_acc": (M,)}}`` with ``L`` the measured layers.
    """
    w, seeds, x = s.lw_width, s.seeds, d["train"][0]
    cfg = _rot_config(s, s.lw_epochs)
    torch.manual_seed(seeds[0])
    mothers = build_models(lambda: MLP(784, [w] * 6, 10, activation="swish"), seeds)
    init = [copy.deepcopy(m.state_dict()) for m in mothers]

    def layerwise(models, acc):
        n_lin = sum(isinstance(m, nn.Linear) for m in models[0])
        per = [[measure(m, x.to(device), layer=l) for l in range(1, n_lin + 1)] for m in models]
        return {"variance": torch.tensor([[p["variance"] for p in row] for row in per]),  # (M, L)
                "bias": torch.stack([torch.stack([p["bias"][0] for p in row]) for row in per]),  # (M, L)
                "test_acc": acc}

    out = {}
    res, acc = _run(mothers, d, cfg, seeds, device, "MLP-7")
    out["MLP-7"] = layerwise(res.models, acc)
    subs = build_models(lambda: MLP(784, [w] * 3, 10, activation="swish"), seeds)
    for sub, st in zip(subs, init):  # the sub-network starts from the mother's first 3 layers
        sub.load_state_dict({k: v for k, v in st.items() if k in ("1.weight", "1.bias", "3.weight", "3.bias",
                                                                  "5.weight", "5.bias")}, strict=False)
    sub_res, acc = _run(subs, d, cfg, seeds, device, "sub MLP-3")
    out["sub MLP-3"] = layerwise(sub_res.models, acc)
    for regime, freeze in (("MLP-7[F]", False), ("MLP-7[L]", True)):
        models = build_models(lambda: MLP(784, [w] * 6, 10, activation="swish"), seeds)
        for m, st, sub in zip(models, init, sub_res.models):
            m.load_state_dict(st)
            for i in (1, 3, 5):  # re-inject the trained first three Linear layers
                m[i].load_state_dict(sub[i].state_dict())
                m[i].requires_grad_(not freeze)
        r, a = _run(models, d, cfg, seeds, device, regime)
        out[regime] = layerwise(r.models, a)
    return out


def _run(models, d, cfg, seeds, device, desc):
    res = fit_ensemble([m.to(device) for m in models], d["train"], d["val"], cfg, seeds=seeds, device=device,
                       desc=desc)
    xt, yt = d["test"]
    return res, torch.tensor([accuracy(predict(m, xt.to(device)), yt.to(device)) for m in res.models])


def run_sample_complexity(s: Settings, model: nn.Module, x: Tensor, *, images: bool, seed: int = 0) -> dict:
    """Appendix A.2: LieGG from a random fraction of the training rows vs from all of them.

    The rows of the polarization matrix are per-sample, so E is computed once and subsampled.

    Returns:
        ``fractions (L,)``, ``variance (L, R)`` and ``bias (L, R)`` over ``R`` random subsets, and the
        full-data values ``variance_full``, ``bias_full``. For O(5) (``images=False``) variance and bias
        are the mean of the ten smallest directions and their largest bias.
    """
    E = (polarization_matrix_image(model, x, normalize=True) if images
         else polarization_matrix(model, x, blocks=2)).double()  # (N, D)
    k = 1 if images else 10

    def stat(Es: Tensor) -> tuple[float, float]:
        r = _spectrum_and_bias(Es)
        return float((r["sigma"][:k] ** 2).mean() / len(Es)), float(r["bias"][:k].max())

    gen = torch.Generator().manual_seed(seed)
    var, bias = torch.zeros(len(s.fractions), s.fraction_repeats), torch.zeros(len(s.fractions), s.fraction_repeats)
    for i, f in enumerate(s.fractions):
        n = max(E.shape[1], round(f * len(E)))  # at least as many rows as unknowns
        for r in range(s.fraction_repeats):
            var[i, r], bias[i, r] = stat(E[torch.randperm(len(E), generator=gen)[:n].to(E.device)])
    v_full, b_full = stat(E)
    return {"fractions": torch.tensor(s.fractions), "variance": var, "bias": bias,
            "variance_full": v_full, "bias_full": b_full}


# ----------------------------------------------------------------------------- CIFAR-10
def rotation_cifar10(s: Settings, seed: int = 0, root=None) -> dict[str, tuple[Tensor, Tensor]]:
    """CIFAR-10 (colour, [0, 1], blurred by ``s.blur``) split into train/val, plus the test set.

    Training rotations come as augmentation; validation and test images are rotated once, at random.

    Raises:
        FileNotFoundError: (from ``helpers.data.load``) when the images cannot be had.
    """
    x, y = data.load("cifar10", train=True, root=root)
    xt, yt = data.load("cifar10", train=False, root=root)
    n_train = min(s.cifar_train or len(x), len(x) - s.cifar_val)
    itr, iva = data.split_indices(len(x), [n_train, s.cifar_val], seed)
    gen = torch.Generator().manual_seed(seed)
    x, xt = _blur(data.to_unit(x), s.blur), _blur(data.to_unit(xt), s.blur)  # (B, 3, 32, 32)
    xt = rotate(xt, torch.rand(len(xt), generator=gen) * 2 * math.pi)  # rotated test set
    xv = rotate(x[iva], torch.rand(len(iva), generator=gen) * 2 * math.pi)
    return {"train": (x[itr], y[itr]), "val": (xv, y[iva]), "test": (xt, yt)}


def _rotation_augment(x: Tensor, gen: torch.Generator) -> Tensor:
    """Random rotation of each image of a batch (A.3.3); ``(B, C, H, W)``."""
    return rotate(x, (torch.rand(len(x), generator=gen) * 2 * math.pi).to(x.device))


def run_cifar(s: Settings, device: torch.device, seed: int = 0) -> dict:
    """Appendix A.3.3: a 7-layer Swish MLP on rotation-augmented CIFAR-10, then LieGG (blur 1.5).

    Returns the ``_summarise`` entries, or ``{"skipped": reason}`` when CIFAR-10 cannot be had.
    """
    try:
        d = rotation_cifar10(s, seed)
    except (FileNotFoundError, RuntimeError) as err:
        return {"skipped": str(err)}
    seeds = s.seeds[:2]
    torch.manual_seed(seeds[0])
    models = build_models(lambda: MLP(3 * 32 * 32, list(s.cifar_hidden), 10, activation="swish"), seeds)
    res = fit_ensemble([m.to(device) for m in models], d["train"], d["val"],
                       FitConfig(epochs=s.cifar_epochs, batch_size=256, lr=1e-3), seeds=seeds,
                       augment=_rotation_augment, device=device, desc="rot-CIFAR-10")
    xt, yt = d["test"]
    acc = torch.tensor([accuracy(predict(m, xt.to(device)), yt.to(device)) for m in res.models])
    return _summarise(res.models, acc, d["train"][0][:5000], device) | {"n_train": len(d["train"][0]), "wall_time_s": res.wall_time_s}


# ----------------------------------------------------------------------------- figures
def _mean_band(ax, x, y: Tensor, label: str, color=None, marker="o"):
    """Mean over seeds with a +-1 std band; ``y (M, L)``."""
    y = y.detach().double().cpu()
    m, sd = y.mean(0).numpy(), y.std(0).numpy() if len(y) > 1 else np.zeros(y.shape[1])
    ax.plot(x, m, marker=marker, ms=3, label=label, color=color)
    ax.fill_between(x, m - sd, m + sd, alpha=0.25, color=ax.lines[-1].get_color())


def plot_spectrum(axes, results: dict[str, dict]) -> None:
    """Fig. 2/3 (a): normalised singular values (ascending) and the bias of each singular vector.

    Args:
        axes: two matplotlib axes.
        results: ``{label: {"sigma": (M, D), "bias": (M, D)}}``.
    """
    for label, r in results.items():
        sig = r["sigma"] / r["sigma"][:, -1:]  # (M, D), relative to the largest
        idx = np.arange(1, sig.shape[1] + 1)
        _mean_band(axes[0], idx, sig, label)
        _mean_band(axes[1], idx, r["bias"], label)
    axes[0].set(yscale="log", xlabel="singular value index (ascending)", ylabel=r"$\sigma_i / \sigma_{max}$")
    axes[1].set(xlabel="singular vector index (ascending σ)", ylabel="symmetry bias", ylim=(-0.02, 1.02))
    axes[0].legend()


def plot_rotation_density(ax, h: Tensor, title: str, n_points: int = 64) -> None:
    """Fig. 3b (shaded): where the learned group ``exp(t h)`` moves points of the unit circle.

    ``t`` runs over one period of a pure rotation generator of the same norm (``2 pi sqrt 2`` for unit h).
    """
    import seaborn as sns
    ts = torch.linspace(0, 2 * math.pi * math.sqrt(2), 48, dtype=torch.float64)  # (T,)
    ang = torch.linspace(0, 2 * math.pi, n_points + 1, dtype=torch.float64)[:-1]
    pts = torch.stack([torch.cos(ang), torch.sin(ang)], 1)  # (P, 2)
    moved = torch.einsum("tij,pj->tpi", torch.linalg.matrix_exp(ts[:, None, None] * h.detach().double().cpu()), pts)  # (T, P, 2)
    moved = moved.reshape(-1, 2).clamp(-3, 3).numpy()
    sns.kdeplot(x=moved[:, 1], y=-moved[:, 0], fill=True, ax=ax, levels=8, cmap="Blues", bw_adjust=0.5)
    ax.plot(np.cos(ang.numpy()), np.sin(ang.numpy()), "k--", lw=0.8)
    ax.set(aspect="equal", xlim=(-2, 2), ylim=(-2, 2), title=title, xticks=[], yticks=[])


def plot_sweep(axes, sweep: dict) -> None:
    """Fig. 4: variance and bias vs parameter count per depth (a), and vs test accuracy (b)."""
    import pandas as pd
    import seaborn as sns
    df = pd.DataFrame(sweep["rows"])
    for ax, key in zip(axes[:2], ("variance", "bias")):
        sns.lineplot(df, x="params", y=key, hue="depth", marker="o", ax=ax, palette="viridis", errorbar="sd")
        ax.set(xlabel="parameters", ylabel=f"symmetry {key}")
    for ax, key in zip(axes[2:], ("variance", "bias")):
        sns.scatterplot(df, x="test_acc", y=key, hue="n_params", ax=ax, palette="viridis", legend=False)
        rho = sweep[f"spearman_{'var' if key == 'variance' else 'bias'}_acc"]
        ax.set(xlabel="test accuracy", ylabel=f"symmetry {key}", title=f"Spearman ρ = {rho:.2f}")


def plot_layerwise(axes, lw: dict) -> None:
    """Fig. 5: symmetry variance and bias after each Linear layer, one line per training regime."""
    for regime, r in lw.items():
        L = r["variance"].shape[1]
        _mean_band(axes[0], np.arange(1, L + 1), r["variance"], regime)
        _mean_band(axes[1], np.arange(1, L + 1), r["bias"], regime)
    axes[0].set(xlabel="layer", ylabel="symmetry variance", yscale="log")
    axes[1].set(xlabel="layer", ylabel="symmetry bias")
    axes[0].legend(fontsize=8)


def plot_sample_complexity(axes, sc: dict, title: str) -> None:
    """Figs. 6/7: variance and bias from a fraction of the rows; the red line is the full-data value."""
    f = 100 * sc["fractions"].cpu().numpy()
    for ax, key in zip(axes, ("variance", "bias")):
        m, sd = sc[key].mean(1).cpu().numpy(), sc[key].std(1).cpu().numpy()
        ax.errorbar(f, m, yerr=sd, marker="o", ms=3, capsize=2)
        ax.axhline(sc[f"{key}_full"], color="red")
        ax.set(xscale="log", xlabel="% of training samples in E", ylabel=f"symmetry {key}", title=title)


def record_frames(rec: dict) -> dict:
    """A committed run's numbers behind the chapter's discussion, as tables (seed means unless noted).

    Args:
        rec: a chapter-4 ``results.json`` (``records.recorded(...)[profile]``).
    Returns:
        ``{"rotation": by net (test accuracy, bias of the smallest singular vector),
        "sweep": by depth (test accuracy over all widths and seeds),
        "sample_complexity": by (task, fraction) (bias), "cifar": by seed (test accuracy, bias)}``.
    """
    import pandas as pd

    n = rec["numbers"]
    rot = pd.DataFrame({net: {"test_acc": float(np.mean(r["test_acc"])),
                              "bias": float(np.mean([b[0] for b in r["bias"]]))}
                        for net, r in n["rotation"].items()}).T
    sweep = pd.DataFrame(n["sweep"]["rows"]).groupby("depth")[["test_acc"]].mean()
    sc = pd.DataFrame([{"task": task, "fraction": f, "bias": float(np.mean(b))}
                       for task, v in n["sample_complexity"].items()
                       for f, b in zip(v["fractions"], v["bias"])]).set_index(["task", "fraction"])
    cifar = n["cifar"]
    cif = (pd.DataFrame({"test_acc": cifar["test_acc"], "bias": [b[0] for b in cifar["bias"]]})
           if "bias" in cifar else pd.DataFrame())
    cif.index.name = "seed"
    return {"rotation": rot, "sweep": sweep, "sample_complexity": sc, "cifar": cif}
