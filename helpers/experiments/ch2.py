"""Chapter 2: learning invariant weights by marginal likelihood (van der Ouderaa & van der Wilk 2022).

Runners for the paper's experiments, each a sweep of ``M`` models trained at once as one
``helpers.invariant_weights.InvariantNet`` (every member sees the same mini-batches):

- ``run_toy``: Fig. 1, a 2-D two-class problem with no / some / full rotational invariance.
- ``run_rotation_sweep``: Table 1 (and App. Tables 4/5), Fig. 2 and Fig. 5 on one dataset: fixed
  eta_rot at 5..175 degrees, learned eta from the same initial values, and (optionally)
  maximum-likelihood members without the KL term.
- ``run_invariance_types``: Table 2 (MNIST) / Table 3 (CIFAR-10): no / rotation / translation /
  scale / affine invariance on the regular, fully rotated, translated and scaled datasets.
- ``transformed_dataset``: the datasets of Appendix D, built once with a fixed seed.
- ``c21_checks`` ... ``c26_checks``, ``claim_checks``: the sub-checks behind the chapter's claims;
  ``record_numbers`` / ``from_record``: what a run records, and back.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np
import torch
from scipy.stats import spearmanr
from torch import Tensor

from .. import data
from ..claims import fraction_true
from ..invariant_weights import INVARIANCES, InvariantNet, invariance_mask, linspace_eps, transformation_matrices
from ..transforms import affine_warp, rotation_matrices

__all__ = [
    "VARIANTS",
    "ROTATION_DATASETS",
    "TrainConfig",
    "Settings",
    "SETTINGS",
    "transform_variant",
    "transformed_dataset",
    "fit_sweep",
    "evaluate",
    "toy_data",
    "run_toy",
    "run_rotation_sweep",
    "run_table1",
    "run_invariance_types",
    "run_eta_sweep",
    "reduced_settings",
    "filter_bank",
    "c21_checks",
    "c22_checks",
    "c23_checks",
    "c24_checks",
    "c25_checks",
    "c26_checks",
    "claim_checks",
    "claim_values",
    "record_numbers",
    "from_record",
    "show_record",
    "table1_frame",
    "table2_frame",
    "PAPER_TABLE1",
    "PAPER_TABLE2",
    "PAPER_TABLE3",
    "table1_vs_paper",
    "table2_vs_paper",
    "eta_frame",
    "eta_sweep_frame",
    "plot_toy",
    "plot_eta_traces",
    "plot_eta_figures",
    "bank_image",
    "bank_over_training",
    "draw_eta",
    "draw_generator",
]

#: Appendix D: the transformed datasets.
VARIANTS = ("regular", "partial", "full", "translated", "scaled")
#: The datasets of Table 1 and their rotation range in degrees (the "true" invariance).
ROTATION_DATASETS = {"full": 180.0, "partial": 90.0, "regular": 0.0}


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation of one sweep (Sec. 4: Adam 1e-3 cosine-annealed to 0, S = 32, batch 128).

    ``lr`` is the learning rate of the posterior means and log-diagonals of the Cholesky factors,
    ``lr_eta`` of eta (``lr_eta_other``, if set, for the five generators other than rotation, whose
    natural ranges are ~5x smaller), ``lr_cov`` of their off-diagonal parts, ``lr_w1`` of the first layer of the ReLU net (the paper uses 1e-3 for all).
    """

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    lr_eta: float = 1e-3
    lr_eta_other: float | None = None
    lr_cov: float = 1e-3
    lr_w1: float = 1e-3
    samples: int = 32
    eval_samples: int = 32
    log_every: int = 10


@dataclass(frozen=True)
class Settings:
    """One profile's settings for every experiment of the chapter."""

    n_train: int
    n_test: int
    hidden: int
    train: TrainConfig
    table1_nets: tuple[str, ...] = ("rff",)
    init_degrees: tuple[float, ...] = (5.0, 45.0, 90.0, 135.0, 175.0)  # the fixed-eta members
    learned_init_degrees: tuple[float, ...] = (5.0, 45.0, 90.0, 135.0, 175.0)  # initial values of learned eta
    ml_init_degrees: tuple[float, ...] = (5.0, 90.0)
    sigma: float = 0.3
    alpha: float = 1.0
    blur_sigma: float = 0.1
    normalise_features: bool = True  # hidden features times sqrt(2 / D) (the paper is silent)
    init_std: float = 1.0  # initial Cholesky factor L = init_std * I (paper: I)
    table2_invariances: tuple[str, ...] = ("none", "rotation", "translation", "scale", "affine")
    table2_datasets: tuple[str, ...] = ("full", "translated", "scaled", "regular")
    table2_eta_init: float = 0.0  # initial value of every learned generator of Table 2 (paper: eta = 0, App. E)
    table2: TrainConfig = field(default_factory=TrainConfig)
    cifar_n_train: int = 0  # 0 skips Table 3
    cifar_n_test: int = 0
    cifar_hidden: int = 64
    cifar: TrainConfig = field(default_factory=TrainConfig)
    toy_hidden: int = 1024
    toy_steps: int = 300


SETTINGS = {
    "quick": Settings(
        n_train=2000, n_test=1000, hidden=96, sigma=0.1, init_std=0.3, learned_init_degrees=(5.0, 90.0, 175.0),
        ml_init_degrees=(5.0, 90.0),
        train=TrainConfig(epochs=8, lr=3e-2, lr_eta=8e-2, lr_cov=3e-3, lr_w1=1e-2, samples=6, eval_samples=8,
                          log_every=4),
        table2=TrainConfig(epochs=8, lr=3e-2, lr_eta=8e-2, lr_eta_other=2e-2, lr_cov=3e-3, lr_w1=1e-2, samples=6,
                           eval_samples=8, log_every=4),
        cifar_n_train=1000, cifar_n_test=1000, cifar_hidden=64,
        # CIFAR pixels are dense and positive: a first-layer step of 1e-2 (or 1e-3) moves every
        # pre-activation coherently and leaves the net at chance within few steps; 3e-4 does not
        cifar=TrainConfig(epochs=4, lr=1e-1, lr_eta=8e-2, lr_eta_other=2e-2, lr_cov=3e-3, lr_w1=3e-4, samples=4,
                          eval_samples=4, log_every=4),
        toy_hidden=256, toy_steps=100),
    "standard": Settings(
        n_train=20000, n_test=10000, hidden=512, sigma=0.1, init_std=0.3, table1_nets=("rff", "relu"),
        train=TrainConfig(epochs=10, lr=1e-2, lr_eta=2e-2, lr_cov=1e-3, lr_w1=1e-3, samples=16, eval_samples=32,
                          log_every=20),
        table2=TrainConfig(epochs=10, lr=1e-2, lr_eta=2e-2, lr_eta_other=5e-3, lr_cov=1e-3, lr_w1=1e-3,
                           samples=16, eval_samples=32, log_every=20),
        cifar_n_train=8068, cifar_n_test=1017, cifar_hidden=512,
        cifar=TrainConfig(epochs=15, lr=1e-2, lr_eta=2e-2, lr_eta_other=5e-3, lr_cov=1e-3, lr_w1=3e-4,
                          samples=16, eval_samples=32, log_every=20),
        toy_hidden=1024, toy_steps=400),
    "paper": Settings(
        n_train=60000, n_test=10000, hidden=1024, table1_nets=("rff", "relu"), normalise_features=False,
        train=TrainConfig(epochs=100, samples=32, eval_samples=32, log_every=100),
        table2=TrainConfig(epochs=100, samples=32, eval_samples=32, log_every=100),
        cifar_n_train=50000, cifar_n_test=10000, cifar_hidden=1024,
        cifar=TrainConfig(epochs=100, samples=32, eval_samples=32, log_every=100),
        toy_hidden=1024, toy_steps=1000),
}


# --------------------------------------------------------------------------- datasets (Appendix D)
def _variant_matrices(variant: str, n: int, size: int, generator: torch.Generator) -> Tensor | None:
    u = torch.rand(n, 2, generator=generator)  # (B, 2)
    if variant == "regular":
        return None
    if variant in ("partial", "full"):
        half = math.pi / 2 if variant == "partial" else math.pi
        return rotation_matrices((2 * u[:, 0] - 1) * half)  # (B, 3, 3), theta ~ U[-half, half]
    T = torch.eye(3).repeat(n, 1, 1)  # (B, 3, 3)
    if variant == "translated":  # dx, dy ~ U[-8, 8] pixels; a pixel is 2 / size in normalized units
        T[:, :2, 2] = -(2 * u - 1) * 8 * 2 / size
    elif variant == "scaled":  # content scaled by exp(s), s ~ U[-log 2, log 2]: sample at exp(-s) p
        s = (2 * u[:, 0] - 1) * math.log(2)
        T[:, 0, 0] = T[:, 1, 1] = torch.exp(-s)
    return T


def transform_variant(images: Tensor, variant: str, generator: torch.Generator) -> Tensor:
    """Apply one random transformation of Appendix D per image (bilinear, zeros outside).

    Args:
        images: ``(B, C, H, W)`` float in [0, 1].
        variant: one of ``VARIANTS``: regular, partial (theta ~ U[-pi/2, pi/2]), full
            (theta ~ U[-pi, pi]), translated (dx, dy ~ U[-8, 8] px), scaled (exp(s),
            s ~ U[-log 2, log 2]).
        generator: the random draws (a fixed seed builds the dataset once).

    Returns:
        ``(B, C, H, W)``.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown dataset variant {variant!r}; valid: {list(VARIANTS)}")
    T = _variant_matrices(variant, images.shape[0], images.shape[-1], generator)
    return images if T is None else affine_warp(images, T).clamp(0, 1)


def transformed_dataset(name: str, variant: str, n_train: int, n_test: int, seed: int = 0) -> dict:
    """A transformed dataset of Appendix D on a seeded subset of real MNIST or CIFAR-10.

    The same images (the subset chosen by ``seed``) are used for every variant; the transforms are
    drawn from ``torch.Generator`` seeded by ``seed`` (train) and ``seed + 1`` (test).

    Returns:
        ``{"train": (x (B, C, H, W), y (B,)), "test": (...), "n_train": int, "n_test": int}``;
        sizes are capped by what exists (the offline CIFAR-10 subset has 8,068 / 1,017 images).
    """
    out: dict = {}
    for split, n, offset in (("train", n_train, 0), ("test", n_test, 1)):
        x, y = data.load(name, train=split == "train")
        n = min(n, len(x))
        (idx,) = data.split_indices(len(x), (n,), seed)
        xs = data.to_unit(x[idx])
        xs = xs.unsqueeze(1) if xs.ndim == 3 else xs  # (B, C, H, W)
        gen = torch.Generator().manual_seed(seed + offset)
        out[split] = (transform_variant(xs, variant, gen), y[idx])
        out[f"n_{split}"] = n
    return out


# --------------------------------------------------------------------------- training a sweep
def _cosine(step: int, total: int) -> float:
    return 0.5 * (1 + math.cos(math.pi * min(step, total) / total))


def fit_sweep(model: InvariantNet, train: tuple[Tensor, Tensor], cfg: TrainConfig, seed: int = 0,
              snapshots: int = 0) -> dict:
    """Maximise the ELBO of eq. (9) for all members at once (Adam, cosine-annealed to 0).

    Every member sees the same mini-batches; eta and the Cholesky factors have their own learning
    rates (``cfg.lr_eta``, ``cfg.lr_cov``).

    Args:
        model: the sweep, on its device.
        train: ``(x (N, C, H, W), y (N,))``.
        cfg: optimisation settings.
        seed: seeds the batch order and the noise of T and W2.
        snapshots: also keep this many ``(eta, W1[:, :4])`` snapshots over training (Fig. 3).

    Returns:
        ``{"steps": (L,), "eta": (L, M, 6), "loss": (L, M), "snapshots": [...], "wall_time_s"}``.
    """
    t0 = time.perf_counter()
    device = model.eta.device
    x, y = (t.to(device) for t in train)
    N = len(x)
    gen = torch.Generator().manual_seed(seed)
    first = [p for n, p in model.named_parameters() if n in ("W1", "b1")]
    q = model.posterior
    groups = [{"params": [model.eta], "lr": cfg.lr_eta}, {"params": [q.mu, q.log_diag], "lr": cfg.lr},
              {"params": [q.off], "lr": cfg.lr_cov}] + ([{"params": first, "lr": cfg.lr_w1}] if first else [])
    opt = torch.optim.Adam(groups)
    total = cfg.epochs * math.ceil(N / cfg.batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: _cosine(t, total))
    snap_at = set(np.linspace(0, total, snapshots).round().astype(int).tolist()) if snapshots else set()
    hist = {"steps": [0], "eta": [model.eta.detach().cpu().clone()], "loss": [], "snapshots": []}
    step, running = 0, torch.zeros(model.members, device=device)
    ratio = torch.full((6,), (cfg.lr_eta_other or cfg.lr_eta) / cfg.lr_eta if cfg.lr_eta else 1.0, device=device)
    ratio[2] = 1.0  # per-generator learning rates: Adam's step on eta is rescaled element-wise
    for _ in range(cfg.epochs):
        for idx in torch.split(torch.randperm(N, generator=gen).to(device), cfg.batch_size):
            if step in snap_at:
                hist["snapshots"].append(_snapshot(model, step))
            loss = model.neg_elbo(x[idx], y[idx], N, cfg.samples, gen)  # (M,)
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()
            eta_before = model.eta.detach().clone()
            opt.step()
            with torch.no_grad():
                model.eta.copy_(eta_before + (model.eta - eta_before) * ratio)
            sched.step()
            step += 1
            running += loss.detach()
            if step % cfg.log_every == 0 or step == total:
                hist["steps"].append(step)
                hist["eta"].append(model.eta.detach().cpu().clone())
                hist["loss"].append((running / cfg.log_every).cpu())
                running.zero_()
    if total in snap_at:
        hist["snapshots"].append(_snapshot(model, step))
    hist["eta"] = torch.stack(hist["eta"])  # (L, M, 6)
    hist["loss"] = torch.stack(hist["loss"]) if hist["loss"] else torch.zeros(0, model.members)
    hist["wall_time_s"] = time.perf_counter() - t0
    return hist


def _snapshot(model: InvariantNet, step: int) -> dict:
    return {"step": step, "eta": model.eta.detach().cpu().clone(), "W1": model.W1[:, :4].detach().cpu().clone()}


@torch.no_grad()
def evaluate(model: InvariantNet, train: tuple[Tensor, Tensor], test: tuple[Tensor, Tensor],
             samples: int, seed: int = 0, batch_size: int = 500, elbo_batch: int = 50) -> dict:
    """Per-datapoint ELBO (eq. 9) on the training set and test accuracy / log-likelihood.

    The ELBO uses one W2 sample and S transformation samples per batch of ``elbo_batch`` training
    points (L = 1 as in training; small batches average the estimate over ``N / elbo_batch`` W2
    draws, which keeps the differences between members above the sampling noise); test
    predictions use the posterior mean of W2 and S Monte Carlo transformations. All members share
    the noise (common random numbers), so their numbers differ only through their parameters.

    Returns:
        ``{"elbo": (M,), "kl_per_n": (M,), "test_acc": (M,) in %, "test_ll": (M,)}``.
    """
    model.eval()
    device = model.eta.device
    gen = torch.Generator().manual_seed(seed)
    x, y = train
    ll = torch.zeros(model.members, device=device)
    for i in range(0, len(x), elbo_batch):
        xb, yb = x[i:i + elbo_batch].to(device), y[i:i + elbo_batch].to(device)
        logf = model(xb, samples, gen, common=True)  # (M, B, K)
        ll += logf.gather(-1, yb.expand(model.members, -1).unsqueeze(-1)).sum((-2, -1))
    kl = model.kl() / len(x)  # (M,)
    elbo = ll / len(x) - kl  # (M,)
    xt, yt = test
    correct = torch.zeros(model.members, device=device)
    tll = torch.zeros(model.members, device=device)
    for i in range(0, len(xt), batch_size):
        xb, yb = xt[i:i + batch_size].to(device), yt[i:i + batch_size].to(device)
        logf = model(xb, samples, gen, sample_weights=False, common=True)  # (M, B, K)
        correct += (logf.argmax(-1) == yb).sum(-1)
        tll += logf.gather(-1, yb.expand(model.members, -1).unsqueeze(-1)).sum((-2, -1))
    model.train()
    return {"elbo": elbo.cpu(), "kl_per_n": kl.cpu(), "test_acc": (100 * correct / len(xt)).cpu(),
            "test_ll": (tll / len(xt)).cpu()}


# --------------------------------------------------------------------------- Fig. 1: the toy problem
def toy_data(n: int, seed: int, full: bool = False) -> tuple[Tensor, Tensor]:
    """Two classes on rings of radius 1 and 2 (noise 0.1), angles in +-30 degrees (``full``: all angles).

    Returns:
        ``(x (n, 2), y (n,))``.
    """
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    spread = math.pi if full else math.pi / 6
    angle = (2 * torch.rand(n, generator=g) - 1) * spread
    r = 1.0 + y.float() + 0.1 * torch.randn(n, generator=g)
    return torch.stack([r * torch.cos(angle), r * torch.sin(angle)], -1), y


def run_toy(s: Settings, device: torch.device, seed: int = 0,
            etas_deg: tuple[float, ...] = (0.0, 60.0, 180.0)) -> dict:
    """Fig. 1: RFF nets (sigma 5) with fixed eta_rot: no, some and full rotational invariance.

    Returns:
        ``{"etas_deg", "x", "y", "grid" (G, G, 2), "prob" (M, G, G) of class 1,
        "extrapolation_acc" (M,) in % on the full rings, "train_acc" (M,)}``.
    """
    x, y = toy_data(40, seed)
    xf, yf = toy_data(400, seed + 1, full=True)
    M = len(etas_deg)
    eta = torch.zeros(M, 6)
    eta[:, 2] = torch.deg2rad(torch.tensor(etas_deg))
    model = InvariantNet("rff", (2,), s.toy_hidden, 2, eta, torch.zeros(M, 6), torch.ones(M), sigma=5.0,
                         alpha=s.alpha, seed=seed).to(device)
    cfg = TrainConfig(epochs=s.toy_steps, batch_size=len(x), lr=1e-2, samples=16, log_every=s.toy_steps)
    fit_sweep(model, (x, y), cfg, seed)
    eps = linspace_eps(32).to(device)
    ax = torch.linspace(-3, 3, 61)
    grid = torch.stack(torch.meshgrid(ax, ax, indexing="xy"), -1)  # (G, G, 2)
    with torch.no_grad():
        prob = torch.cat([model(c.to(device), eps=eps, sample_weights=False)[..., 1].exp()
                          for c in grid.reshape(-1, 2).split(512)], 1)  # (M, G*G)
        pf = model(xf.to(device), eps=eps, sample_weights=False).argmax(-1).cpu()  # (M, n)
        pt = model(x.to(device), eps=eps, sample_weights=False).argmax(-1).cpu()  # (M, n)
    return {"etas_deg": list(etas_deg), "x": x, "y": y, "grid": grid, "prob": prob.reshape(M, 61, 61).cpu(),
            "extrapolation_acc": 100 * (pf == yf).float().mean(-1), "train_acc": 100 * (pt == y).float().mean(-1)}


# --------------------------------------------------------------------------- Table 1, Fig. 2, Fig. 5
def _scale(s: Settings, hidden: int) -> float:
    return math.sqrt(2.0 / hidden) if s.normalise_features else 1.0


def _rotation_members(s: Settings, with_ml: bool) -> tuple[Tensor, Tensor, Tensor, list[str]]:
    fixed, learned = list(s.init_degrees), list(s.learned_init_degrees)
    names = [f"fixed {d:g}" for d in fixed] + [f"learned ({d:g} init)" for d in learned]
    degs, learn = fixed + learned, [0.0] * len(fixed) + [1.0] * len(learned)
    bayes = [1.0] * len(degs)
    if with_ml:
        names += [f"ML ({d:g} init)" for d in s.ml_init_degrees]
        degs += list(s.ml_init_degrees)
        learn += [1.0] * len(s.ml_init_degrees)
        bayes += [0.0] * len(s.ml_init_degrees)
    eta = torch.zeros(len(degs), 6)
    eta[:, 2] = torch.deg2rad(torch.tensor(degs))
    mask = torch.tensor(learn)[:, None] * invariance_mask("rotation")  # (M, 6)
    return eta, mask, torch.tensor(bayes), names


def run_rotation_sweep(s: Settings, net: str, variant: str, device: torch.device, seed: int = 0,
                       with_ml: bool = False) -> dict:
    """Table 1 / Fig. 2 (/ Fig. 5) on one dataset: fixed and learned eta_rot (and ML members).

    Returns:
        ``{"names", "elbo", "test_acc", "test_ll" (M,), "eta_deg_final" (M,), "steps" (L,),
        "eta_deg" (L, M) over training, "wall_time_s"}``.
    """
    ds = transformed_dataset("mnist", variant, s.n_train, s.n_test, seed)
    eta, learn, bayes, names = _rotation_members(s, with_ml)
    model = InvariantNet(net, (1, 28, 28), s.hidden, 10, eta, learn, bayes, sigma=s.sigma, alpha=s.alpha,
                         blur_sigma=s.blur_sigma, seed=seed, feature_scale=_scale(s, s.hidden),
                         init_std=s.init_std).to(device)
    hist = fit_sweep(model, ds["train"], s.train, seed)
    ev = evaluate(model, ds["train"], ds["test"], s.train.eval_samples, seed)
    eta_deg = torch.rad2deg(hist["eta"][..., 2].abs())  # (L, M): the sign of eta_rot is irrelevant
    return {"names": names, **ev, "eta_deg_final": eta_deg[-1], "steps": hist["steps"], "eta_deg": eta_deg,
            "wall_time_s": hist["wall_time_s"], "n_train": ds["n_train"]}


def run_table1(s: Settings, device: torch.device, seed: int = 0) -> dict:
    """``{net: {variant: run_rotation_sweep(...)}}`` over ``s.table1_nets`` and the three datasets;
    the maximum-likelihood members (Fig. 5) join the RFF sweep on fully rotated MNIST."""
    return {net: {v: run_rotation_sweep(s, net, v, device, seed, with_ml=(net == "rff" and v == "full"))
                  for v in ROTATION_DATASETS} for net in s.table1_nets}


# --------------------------------------------------------------------------- Table 2 / 3, Fig. 4
def run_invariance_types(s: Settings, name: str, device: torch.device, seed: int = 0,
                         snapshots: int = 0) -> dict:
    """Table 2 (``name="mnist"``) / Table 3 (``"cifar10"``): ReLU nets learning each invariance type.

    Every member starts at eta = ``s.table2_eta_init`` (0, as in the paper) on the generators of its type and
    learns them (``none`` = plain MLP). eta = 0 is a stationary point of the ELBO in expectation (eps and -eps
    are equally likely, so the objective is even in eta): only the Monte Carlo noise moves eta off it.

    Args:
        snapshots: keep this many ``(eta, W1[:, :4])`` snapshots over training per dataset (Fig. 3).

    Returns:
        ``{"invariances", "datasets", "test_acc" (I, V), "elbo" (I, V), "eta" (I, V, 6) final,
        "models": {variant: InvariantNet}, "snapshots": {variant: [...]}, "wall_time_s", "n_train"}``.
    """
    cifar = name == "cifar10"
    n_train, n_test = (s.cifar_n_train, s.cifar_n_test) if cifar else (s.n_train, s.n_test)
    hidden, cfg = (s.cifar_hidden, s.cifar) if cifar else (s.hidden, s.table2)
    shape, inv = ((3, 32, 32) if cifar else (1, 28, 28)), s.table2_invariances
    learn = torch.stack([invariance_mask(i) for i in inv])  # (I, 6)
    acc, elbo, etas, models, snaps, t0, n = [], [], [], {}, {}, time.perf_counter(), 0
    for v in s.table2_datasets:
        ds = transformed_dataset(name, v, n_train, n_test, seed)
        model = InvariantNet("relu", shape, hidden, 10, s.table2_eta_init * learn, learn, torch.ones(len(inv)),
                             alpha=s.alpha, blur_sigma=s.blur_sigma, seed=seed,
                             feature_scale=_scale(s, hidden), init_std=s.init_std).to(device)
        snaps[v] = fit_sweep(model, ds["train"], cfg, seed, snapshots)["snapshots"]
        ev = evaluate(model, ds["train"], ds["test"], cfg.eval_samples, seed)
        acc.append(ev["test_acc"]), elbo.append(ev["elbo"]), etas.append(model.eta.detach().cpu())
        models[v], n = model.cpu(), ds["n_train"]
    return {"invariances": list(inv), "datasets": list(s.table2_datasets), "test_acc": torch.stack(acc, 1),
            "elbo": torch.stack(elbo, 1), "eta": torch.stack(etas, 1), "models": models, "snapshots": snaps,
            "wall_time_s": time.perf_counter() - t0, "n_train": n}


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
                         seed=seed, feature_scale=_scale(s, s.hidden), init_std=s.init_std).to(device)
    hist = fit_sweep(model, ds["train"], s.table2, seed)
    ev = evaluate(model, ds["train"], ds["test"], s.table2.eval_samples, seed)
    return {"invariance": invariance, "variant": variant, "names": names, "values": vals,
            "learned": learned.bool().tolist(), **ev,
            "eta": model.eta.detach().cpu(), "wall_time_s": hist["wall_time_s"], "n_train": ds["n_train"]}


def reduced_settings(s: Settings, hidden: int, samples: int, epochs: int) -> Settings:
    """``s`` with fewer hidden units, training samples S and epochs, everything else unchanged (the CPU
    studies of ``scripts/``)."""
    return replace(s, hidden=hidden, train=replace(s.train, samples=samples, epochs=epochs),
                   table2=replace(s.table2, samples=samples, epochs=epochs),
                   cifar_hidden=hidden, cifar=replace(s.cifar, samples=samples, epochs=epochs))


@torch.no_grad()
def filter_bank(weights: Tensor, eta: Tensor, eps: Tensor, blur_sigma: float = 0.1) -> Tensor:
    """Transformed copies of weight images (Fig. 3 / 4 / 6): one row per weight, one column per sample.

    Args:
        weights: ``(R, C, H, W)`` weight rows viewed as images.
        eta: ``(6,)`` invariance parameters.
        eps: ``(S, 6)`` noise (``linspace_eps`` for deterministic, ``uniform_eps`` for stochastic samples).

    Returns:
        ``(R, S, C, H, W)``.
    """
    from ..invariant_weights import transform_weights

    T = transformation_matrices(eta.reshape(1, 6), eps)  # (1, S, 3, 3)
    return transform_weights(weights.unsqueeze(0), T, blur_sigma)[0].transpose(0, 1)  # (R, S, C, H, W)


# --------------------------------------------------------------------------- claim sub-checks
_PAPER_BEST_FIXED = {"full": 175.0, "partial": 90.0, "regular": 45.0}  # argmax ELBO of Table 1


def _fixed(r: dict) -> list[int]:
    return [i for i, n in enumerate(r["names"]) if n.startswith("fixed")]


def c21_checks(t1: dict) -> list[bool]:
    """C2.1 per dataset: the ELBO-best fixed eta is within one grid step of Table 1's (175/90/45
    degrees), and the ELBO ranks the fixed models like test accuracy (Spearman rho > 0)."""
    out = []
    for v, r in t1.items():
        idx = _fixed(r)
        degs = [float(r["names"][i].split()[1]) for i in idx]
        elbo, acc = r["elbo"][idx], r["test_acc"][idx]
        best = degs[int(elbo.argmax())]
        grid = sorted(degs)
        out.append(abs(grid.index(best) - grid.index(_PAPER_BEST_FIXED[v])) <= 1)
        out.append(bool(spearmanr(elbo.numpy(), acc.numpy()).statistic > 0))
    return out


def c22_checks(t1: dict, elbo_tol: float = 0.02, acc_tol: float = 1.0) -> list[bool]:
    """C2.2 per dataset: learned eta (from the smallest init, as in Table 1) reaches the best fixed
    ELBO within ``elbo_tol`` and the best fixed accuracy within ``acc_tol`` points."""
    out = []
    for r in t1.values():
        idx, li = _fixed(r), r["names"].index(next(n for n in r["names"] if n.startswith("learned")))
        out.append(float(r["elbo"][li]) >= float(r["elbo"][idx].max()) - elbo_tol)
        out.append(float(r["test_acc"][li]) >= float(r["test_acc"][idx].max()) - acc_tol)
    return out


def c23_checks(t1: dict) -> list[bool]:
    """C2.3 per initial value: the learned eta ends ordered by the datasets' rotation range,
    full > partial > regular (Fig. 2)."""
    learned = {v: [(n, float(r["eta_deg_final"][i])) for i, n in enumerate(r["names"]) if n.startswith("learned")]
               for v, r in t1.items()}
    return [f[1] > p[1] > g[1] for f, p, g in zip(learned["full"], learned["partial"], learned["regular"])]


def c24_checks(full: dict) -> list[bool]:
    """C2.4 per ML init: on fully rotated data the ML eta ends below the VI eta from the same init (Fig. 5)."""
    eta = dict(zip(full["names"], full["eta_deg_final"].tolist()))
    return [eta[n] < eta[n.replace("ML", "learned")] for n in full["names"] if n.startswith("ML")]


def c25_checks(t2: dict) -> list[bool]:
    """C2.5 / C2.7: rotation/translation/scale invariance win on their datasets among those three,
    affine has the best mean accuracy, and each invariant model beats the plain MLP on average."""
    inv, ds, acc = t2["invariances"], t2["datasets"], t2["test_acc"]
    match = {"rotation": "full", "translation": "translated", "scale": "scaled"}
    three = [inv.index(k) for k in match]
    out = [int(acc[three, ds.index(d)].argmax()) == three.index(inv.index(k)) for k, d in match.items()]
    mean = acc.mean(1)  # (I,)
    out.append(int(mean.argmax()) == inv.index("affine"))
    out += [bool(mean[i] > mean[inv.index("none")]) for i in range(len(inv)) if inv[i] != "none"]
    return out


def c26_checks(t2: dict) -> list[bool]:
    """C2.6: the affine model's learned eta matches each dataset: |eta_rot| >= pi/2 on fully rotated
    data and < pi/2 on regular data, translation |eta_1|, |eta_2| >= 0.25 (3.5 px) on translated data,
    scale |eta_4|, |eta_5| >= 0.25 on scaled data (App. D: 8 px = 0.57, log 2 = 0.69)."""
    a = t2["invariances"].index("affine")
    eta = {d: t2["eta"][a, j].abs() for j, d in enumerate(t2["datasets"])}
    out = []
    if "full" in eta:
        out.append(bool(eta["full"][2] >= math.pi / 2))
    if "regular" in eta:
        out.append(bool(eta["regular"][2] < math.pi / 2))
    if "translated" in eta:
        out.append(bool(eta["translated"][:2].min() >= 0.25))
    if "scaled" in eta:
        out.append(bool(eta["scaled"][3:5].min() >= 0.25))
    return out


def claim_checks(t1: dict, t2: dict | None, t3: dict | None = None) -> dict[str, list[bool] | None]:
    """The sub-checks of every claim, ``{claim id: [bool, ...] or None}`` (None: its experiment was not run).

    Args:
        t1: ``run_table1`` output, or part of it: its ``"rff"`` sweeps decide C2.1-C2.3 once all three
            datasets are there, and C2.4 once ``"full"`` is.
        t2: ``run_invariance_types(..., "mnist")`` (C2.5, C2.6); t3: the same on CIFAR-10 (C2.7).
    """
    rff = t1.get("rff") or {}
    table1 = set(ROTATION_DATASETS) <= set(rff)  # C2.1-C2.3 compare the three datasets: all must be there
    return {"C2.1": c21_checks(rff) if table1 else None, "C2.2": c22_checks(rff) if table1 else None,
            "C2.3": c23_checks(rff) if table1 else None,
            "C2.4": c24_checks(rff["full"]) if "full" in rff else None,
            "C2.5": None if t2 is None else c25_checks(t2), "C2.6": None if t2 is None else c26_checks(t2),
            "C2.7": None if t3 is None else c25_checks(t3)}


def claim_values(checks: dict[str, list[bool] | None]) -> dict[str, float | None]:
    """The value of each claim, the fraction of its sub-checks that hold (``claim_checks`` output, or the
    ``checks`` a record saved); None where the claim was not run or has no sub-check (e.g. C2.4 in a sweep
    without maximum-likelihood members)."""
    return {k: fraction_true(c) if c else None for k, c in checks.items()}


def _strip(r: dict | None) -> dict | None:
    return None if r is None else {k: v for k, v in r.items() if k not in ("models", "snapshots")}


def record_numbers(toy: dict | None, t1: dict, t2: dict | None, t3: dict | None = None) -> dict:
    """What a run of the chapter records (the notebook and ``scripts/ch2_cpu_parts.py`` alike): the toy's
    accuracies, Tables 1-3 without the trained models, and the sub-checks of each claim (``claim_checks``).
    ``from_record`` turns the saved numbers back into the runners' layout."""
    return {"toy": None if toy is None else {k: toy[k] for k in ("etas_deg", "extrapolation_acc", "train_acc")},
            "table1": {net: {v: _strip(r) for v, r in per.items()} for net, per in t1.items()},
            "table2": _strip(t2), "table3": _strip(t3), "checks": claim_checks(t1, t2, t3)}


_TENSORS = ("elbo", "kl_per_n", "test_acc", "test_ll", "eta_deg_final", "eta_deg", "eta")


def from_record(numbers: dict) -> dict:
    """The ``numbers`` of a saved record (``record_numbers`` after JSON) with the runners' tensors restored:
    ``{"toy", "t1", "t2", "t3"}``, usable by ``claim_checks``, ``table1_frame``, ``table2_vs_paper`` and the
    plots."""
    def tensors(r: dict | None) -> dict | None:
        return None if r is None else {k: torch.tensor(v) if k in _TENSORS else v for k, v in r.items()}
    return {"toy": numbers.get("toy"), "t1": {net: {v: tensors(r) for v, r in per.items()}
                                              for net, per in (numbers.get("table1") or {}).items()},
            "t2": tensors(numbers.get("table2")), "t3": tensors(numbers.get("table3"))}


def show_record(got: dict, label: str, etas: Sequence[str] = ("affine",)) -> None:
    """Display a saved run (``from_record`` output) in the notebook: Table 1 with the paper's beside it and
    the eta traces of the RFF net (where Table 1 ran), then Tables 2 / 3 beside the paper's with the learned
    eta of the ``etas`` models per dataset (where they ran). ``label`` names the run in the figure title."""
    import matplotlib.pyplot as plt
    from IPython.display import display
    if "rff" in got["t1"]:
        display(table1_frame(got["t1"]))
        print("Table 1 (RFF): paper vs ours")
        display(table1_vs_paper(got["t1"]["rff"]))
        plot_eta_figures(got["t1"]["rff"], f"{label}: η_rot over training")
        plt.show()
    for name, t, paper in (("Table 2 (ReLU, MNIST)", got["t2"], PAPER_TABLE2),
                           ("Table 3 (ReLU, CIFAR-10)", got["t3"], PAPER_TABLE3)):
        if t is None:
            continue
        print(f"{name}, {t['n_train']:,} training images: test accuracy (%), paper vs ours")
        display(table2_vs_paper(t, paper))
        for inv in etas:
            print(f"learned η of the {inv} model per dataset")
            display(eta_frame(t, inv))


# --------------------------------------------------------------------------- tables and figures
def table1_frame(t1: dict) -> "pd.DataFrame":
    """Table 1 (and App. Tables 4/5): ELBO per datapoint and test accuracy (%) of every member, per net
    and dataset; the learned members also show their final |eta_rot| in degrees."""
    import pandas as pd
    rows = []
    for net, per in t1.items():
        for v, r in per.items():
            for i, name in enumerate(r["names"]):
                rows.append({"net": net.upper(), "dataset": v, "model": name, "ELBO": round(float(r["elbo"][i]), 3),
                             "test acc (%)": round(float(r["test_acc"][i]), 1),
                             "η_rot (°)": round(float(r["eta_deg_final"][i]), 1)})
    df = pd.DataFrame(rows)
    return df.pivot_table(index=["net", "model"], columns="dataset", values=["ELBO", "test acc (%)", "η_rot (°)"],
                          sort=False)


def table2_frame(t2: dict) -> "pd.DataFrame":
    """Table 2 / 3: test accuracy (%) of each invariance type (rows) on each dataset (columns)."""
    import pandas as pd
    return pd.DataFrame(t2["test_acc"].numpy().round(1), index=t2["invariances"], columns=t2["datasets"])


#: The paper's numbers, typed in and cited: Table 1 (RFF; ELBO per datapoint, test accuracy %) per
#: dataset (full, partial, regular), and Tables 2 / 3 (ReLU; test accuracy %) per invariance and dataset.
PAPER_TABLE1 = {
    "fixed 5": {"full": (-1.07, 79.29), "partial": (-0.80, 86.71), "regular": (-0.36, 96.00)},
    "fixed 45": {"full": (-0.63, 87.35), "partial": (-0.49, 91.13), "regular": (-0.26, 95.93)},
    "fixed 90": {"full": (-0.52, 90.33), "partial": (-0.44, 91.69), "regular": (-0.30, 94.69)},
    "fixed 135": {"full": (-0.45, 91.19), "partial": (-0.45, 91.04), "regular": (-0.36, 92.13)},
    "fixed 175": {"full": (-0.43, 91.57), "partial": (-0.47, 90.47), "regular": (-0.45, 90.97)},
    "learned (5 init)": {"full": (-0.43, 91.72), "partial": (-0.42, 92.34), "regular": (-0.26, 96.40)},
}
_T2_COLS = ("full", "translated", "scaled", "regular")
PAPER_TABLE2 = {k: dict(zip(_T2_COLS, v)) for k, v in {
    "none": (90.35, 89.34, 96.61, 98.10), "rotation": (98.05, 94.08, 97.62, 98.64),
    "translation": (93.59, 97.87, 97.98, 98.76), "scale": (93.80, 94.30, 98.06, 98.35),
    "affine": (98.14, 97.66, 98.31, 98.93)}.items()}
PAPER_TABLE3 = {k: dict(zip(_T2_COLS, v)) for k, v in {
    "none": (41.24, 40.75, 46.56, 54.49), "rotation": (46.04, 40.71, 46.77, 54.72),
    "translation": (40.99, 45.20, 47.44, 55.79), "scale": (40.92, 41.22, 49.28, 54.72),
    "affine": (46.12, 45.77, 48.81, 55.44)}.items()}


def table1_vs_paper(t1_net: dict) -> "pd.DataFrame":
    """Table 1 side by side: the paper's ELBO and accuracy (RFF) and ours, for the members both have.

    Args:
        t1_net: ``{variant: run_rotation_sweep(...)}`` of one net.
    """
    import pandas as pd
    rows = {}
    for name, per in PAPER_TABLE1.items():
        row = {}
        for v, r in t1_net.items():
            if name in r["names"] and v in per:
                i = r["names"].index(name)
                row |= {(v, "ELBO paper"): per[v][0], (v, "ELBO ours"): round(float(r["elbo"][i]), 3),
                        (v, "acc paper"): per[v][1], (v, "acc ours"): round(float(r["test_acc"][i]), 1)}
        if row:
            rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def table2_vs_paper(t2: dict, paper: dict) -> "pd.DataFrame":
    """Table 2 / 3 side by side: the paper's test accuracy (``PAPER_TABLE2`` / ``PAPER_TABLE3``) and ours."""
    import pandas as pd
    rows = {}
    for i, inv in enumerate(t2["invariances"]):
        rows[inv] = {}
        for j, v in enumerate(t2["datasets"]):
            rows[inv] |= {(v, "paper"): paper[inv][v], (v, "ours"): round(float(t2["test_acc"][i, j]), 1)}
    return pd.DataFrame.from_dict(rows, orient="index")


def eta_frame(t2: dict, invariance: str = "affine") -> "pd.DataFrame":
    """The learned eta of one invariance type per dataset (App. E units: normalized coordinates for
    translation, radians for rotation, log-scale for scale and shear)."""
    import pandas as pd
    from ..groups import AFFINE_NAMES
    i = t2["invariances"].index(invariance)
    return pd.DataFrame(t2["eta"][i].numpy().round(3), index=t2["datasets"], columns=list(AFFINE_NAMES))


def eta_sweep_frame(sweeps: Sequence[dict]):
    """``run_eta_sweep`` results as one table: per sweep and member, the starting eta of the swept generators,
    whether it was learned, where it ended, the training ELBO and the test accuracy."""
    import pandas as pd
    rows = []
    for r in sweeps:
        gens = list(INVARIANCES[r["invariance"]])
        for m, name in enumerate(r["names"]):
            rows.append({"invariance": r["invariance"], "dataset": r["variant"], "member": name,
                         "eta final": float(torch.as_tensor(r["eta"])[m, gens].abs().mean()),
                         "ELBO": float(r["elbo"][m]), "test acc (%)": float(r["test_acc"][m])})
    return pd.DataFrame(rows).set_index(["invariance", "dataset", "member"]).round(3)


def plot_toy(axes, toy: dict) -> None:
    """Fig. 1: class-1 probability of the toy RFF nets with no / some / full rotational invariance."""
    ext = [-3, 3, -3, 3]
    for ax, deg, prob, acc in zip(axes, toy["etas_deg"], toy["prob"], toy["extrapolation_acc"]):
        ax.imshow(prob.numpy(), origin="lower", extent=ext, cmap="coolwarm", vmin=0, vmax=1)
        ax.scatter(*toy["x"].T.numpy(), c=toy["y"].numpy(), cmap="coolwarm", edgecolor="k", s=18)
        ax.set(xticks=[], yticks=[], title=f"η_rot = {deg:g}°: extrapolation {float(acc):.0f}%")


def plot_eta_traces(ax, r: dict, prefix: str = "learned", n_train: int | None = None, style: str = "-") -> None:
    """Fig. 2 / Fig. 5: |eta_rot| (degrees) over training for the members whose name starts with ``prefix``."""
    steps = np.asarray(r["steps"])
    for i, name in enumerate(r["names"]):
        if name.startswith(prefix):
            ax.plot(steps, r["eta_deg"][:, i].numpy(), style, label=name)
    ax.set(xlabel="step", ylabel="|η_rot| (degrees)", ylim=(0, 200))


def plot_eta_figures(rff: dict, title: str = "") -> "plt.Figure":
    """Figs. 2 and 5 of one RFF Table-1 run (``{variant: run_rotation_sweep(...)}``, from a run or
    ``from_record``): learned |eta_rot| over training on each dataset present, and on fully rotated data
    variational (solid) vs maximum-likelihood (dashed) members."""
    import matplotlib.pyplot as plt
    variants = [v for v in ("regular", "partial", "full") if v in rff]
    fig, axes = plt.subplots(1, len(variants) + 1, figsize=(4.2 * (len(variants) + 1), 3.6), sharey=True)
    for ax, v in zip(axes, variants):
        plot_eta_traces(ax, rff[v])
        ax.set_title(f"{v} MNIST (true range {ROTATION_DATASETS[v]:g}°)", fontsize=10)
    axes[0].legend(fontsize=8)
    if "full" in rff:
        plot_eta_traces(axes[-1], rff["full"], "learned")
        plot_eta_traces(axes[-1], rff["full"], "ML", style="--")
        axes[-1].set_title("full: variational (—) vs ML (--), cf. Fig. 5", fontsize=10)
    fig.suptitle(title or "RFF: learned η_rot over training (cf. Fig. 2)")
    fig.tight_layout()
    return fig


def bank_image(weights: Tensor, eta: Tensor, samples: int = 7, blur_sigma: float = 0.1,
               dims: tuple[int, ...] = (0, 1, 2, 3, 4, 5)) -> Tensor:
    """Figs. 3/4: a filter bank as one image: rows are weights, columns the deterministic samples
    ``T(eps)`` with eps on a linspace grid, the same value for every generator in ``dims`` at once
    (eta sets the ranges; the other generators stay 0).

    Args:
        weights: ``(R, 1, H, W)``; eta: ``(6,)``.
    Returns:
        ``(R * H, samples * W)``, each weight scaled to [-1, 1].
    """
    eps = torch.zeros(samples, 6)  # (S, 6) one path through the group
    eps[:, list(dims)] = torch.linspace(-1, 1, samples)[:, None]
    bank = filter_bank(weights, eta, eps.contiguous(), blur_sigma)[:, :, 0]  # (R, S, H, W)
    bank = bank / bank.flatten(1).abs().max(1).values.clamp_min(1e-12)[:, None, None, None]
    R, S, H, W = bank.shape
    return bank.permute(0, 2, 1, 3).reshape(R * H, S * W)  # (R*H, S*W)


def bank_over_training(snaps: list[dict], member: int, shape: tuple[int, ...] = (1, 28, 28),
                       weight: int = 0, samples: int = 7, blur_sigma: float = 0.1) -> Tensor:
    """Fig. 3: one weight's deterministically sampled filter bank at each snapshot of training.

    Row t shows ``W1[member, weight]`` at snapshot t under ``samples`` rotations equally spaced
    between -eta_rot and +eta_rot (that member's eta_rot at that time; eps on ``linspace_eps``).

    Args:
        snaps: ``fit_sweep(..., snapshots=k)["snapshots"]``: dicts with ``"eta"`` ``(M, 6)`` and
            ``"W1"`` ``(M, 4, P)``.
        member: which member; shape: ``(C, H, W)`` of a weight image (C = 1 shown).

    Returns:
        ``(T * H, samples * W)``.
    """
    rows = []
    for snap in snaps:
        eta = torch.zeros(6)
        eta[2] = snap["eta"][member, 2]
        w = snap["W1"][member, weight].reshape(1, *shape)[:1]  # (1, 1, H, W)
        rows.append(bank_image(w, eta, samples, blur_sigma, dims=(2,)))  # (H, samples * W)
    return torch.cat(rows)  # (T*H, samples*W)


def draw_eta(ax, weights: Tensor, sweep: dict, degrees: float, inputs: Tensor | None = None) -> None:
    """The eta widget's rotation panel: the filter bank at eta_rot = ``degrees`` (``inputs``, if
    given, as the top rows: input images under the same transformations) and, from the precomputed
    sweep, the ELBO and accuracy of the fixed-eta model trained at that value.

    Args:
        weights: ``(R, 1, H, W)``; inputs: ``(R', 1, H, W)`` or None.
    """
    eta = torch.zeros(6)
    eta[2] = math.radians(degrees)
    rows = weights if inputs is None else torch.cat([inputs, weights])  # (R' + R, 1, H, W)
    ax.imshow(bank_image(rows, eta), cmap="RdBu_r", vmin=-1, vmax=1)
    i = sweep["names"].index(f"fixed {degrees:g}")
    ax.set(xticks=[], yticks=[], xlabel=f"fixed η: ELBO {float(sweep['elbo'][i]):.3f}, "
                                         f"test acc {float(sweep['test_acc'][i]):.1f}%")


def draw_generator(ax, weights: Tensor, generator: str, value: float = 0.5, inputs: Tensor | None = None) -> None:
    """The eta widget's generator panel: the filter bank (and ``inputs`` as top rows) with only
    ``generator`` set to ``value``.

    Args:
        weights: ``(R, 1, H, W)``; generator: one of ``helpers.groups.AFFINE_NAMES``;
        inputs: ``(R', 1, H, W)`` or None.
    """
    from ..groups import AFFINE_NAMES
    if generator not in AFFINE_NAMES:
        raise ValueError(f"unknown generator {generator!r}; valid: {list(AFFINE_NAMES)}")
    eta = torch.zeros(6)
    eta[AFFINE_NAMES.index(generator)] = value
    rows = weights if inputs is None else torch.cat([inputs, weights])  # (R' + R, 1, H, W)
    ax.imshow(bank_image(rows, eta), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set(xticks=[], yticks=[], xlabel=f"η_{generator} = {value:g}")
