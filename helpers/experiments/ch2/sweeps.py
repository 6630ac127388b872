"""Chapter 2's training runs, each a sweep of ``M`` members trained as one model (``train.fit_sweep``): one per
experiment (``run_rotation_sweep``: Table 1, Figs. 2 / 5; ``run_invariance_type``: Tables 2 / 3, Figs. 3 / 4), and
the parts' runs ``(settings, device, ...) -> result`` (``toy``, ``table1``, ``table23``, ``ladder_rung``,
``ladder_variation``; ``parts`` lists them), the seeded ones keeping each finished seed as a piece
(``seeded_sweeps``, ``helpers.checkpoint``).
"""
from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np
import torch
from torch import Tensor

from ...checkpoint import active
from .data import as_uint8, toy_data, transformed_dataset
from .invariant_weights import InvariantNet, invariance_mask, linspace_eps
from .settings import Settings, TrainConfig
from .train import evaluate, fit_sweep

__all__ = ["FIG3_SNAPSHOTS", "feature_scale", "toy", "rotation_members", "run_rotation_sweep",
           "run_invariance_type", "seeded_sweeps", "table1", "ladder_settings", "ladder_rung",
           "ladder_variation", "table23"]

#: Snapshots over training of the rotation member on fully rotated MNIST (``t2-full``; Fig. 3 draws them).
FIG3_SNAPSHOTS = 6


def feature_scale(s: Settings, hidden: int) -> float:
    """c in the hidden features ``c * phi(W1 x + b)``: ``sqrt(2 / D)`` where ``s.normalise_features``, else 1."""
    return math.sqrt(2.0 / hidden) if s.normalise_features else 1.0


# --------------------------------------------------------------------------- Fig. 1: the toy problem
def toy(s: Settings, device: torch.device, etas_deg: tuple[float, ...] = (0.0, 60.0, 180.0)) -> dict:
    """The ``toy`` part, Fig. 1: RFF nets (sigma 5) with fixed eta_rot: no, some and full rotational invariance.

    Returns:
        ``{"etas_deg", "x" (n, 2), "y" (n,), "prob" (M, G, G) of class 1 on the grid [-3, 3]^2 (G = 61),
        "extrapolation_acc" (M,) in % on the full rings, "train_acc" (M,)}``.
    """
    x, y = toy_data(40, 0)
    xf, yf = toy_data(400, 1, full=True)
    M = len(etas_deg)
    eta = torch.zeros(M, 6)
    eta[:, 2] = torch.deg2rad(torch.tensor(etas_deg))
    model = InvariantNet("rff", (2,), s.toy_hidden, 2, eta, torch.zeros(M, 6), torch.ones(M), sigma=5.0,
                         alpha=s.alpha).to(device)
    cfg = TrainConfig(epochs=s.toy_steps, batch_size=len(x), lr=1e-2, samples=16, log_every=s.toy_steps)
    fit_sweep(model, (x, y), cfg)
    eps = linspace_eps(32).to(device)
    ax = torch.linspace(-3, 3, 61)
    grid = torch.stack(torch.meshgrid(ax, ax, indexing="xy"), -1)  # (G, G, 2)
    with torch.no_grad():
        prob = torch.cat([model(c.to(device), eps=eps, sample_weights=False)[..., 1].exp()
                          for c in grid.reshape(-1, 2).split(512)], 1)  # (M, G*G)
        pf = model(xf.to(device), eps=eps, sample_weights=False).argmax(-1).cpu()  # (M, n)
        pt = model(x.to(device), eps=eps, sample_weights=False).argmax(-1).cpu()  # (M, n)
    return {"etas_deg": list(etas_deg), "x": x, "y": y, "prob": prob.reshape(M, 61, 61).cpu(),  # (M, G, G)
            "extrapolation_acc": 100 * (pf == yf).float().mean(-1), "train_acc": 100 * (pt == y).float().mean(-1)}


# --------------------------------------------------------------------------- Table 1, Fig. 2, Fig. 5
def rotation_members(s: Settings, with_ml: bool) -> tuple[Tensor, Tensor, Tensor, list[str]]:
    """Table 1's members: ``eta_init`` ``(M, 6)``, ``learn`` ``(M, 6)``, ``bayes`` ``(M,)`` and their names, the
    fixed eta_rot, then the learned ones and (``with_ml``) the maximum-likelihood ones, from their initial degrees."""
    fixed, learned, ml = list(s.init_degrees), list(s.learned_init_degrees), list(s.ml_init_degrees) if with_ml else []
    names = [f"fixed {d:g}" for d in fixed] + [f"learned ({d:g} init)" for d in learned] + [f"ML ({d:g} init)" for d in ml]
    eta = torch.zeros(len(names), 6)
    eta[:, 2] = torch.deg2rad(torch.tensor(fixed + learned + ml))
    learn = torch.tensor([0.0] * len(fixed) + [1.0] * (len(learned) + len(ml)))[:, None] * invariance_mask("rotation")
    return eta, learn, torch.tensor([1.0] * (len(fixed) + len(learned)) + [0.0] * len(ml)), names


def run_rotation_sweep(s: Settings, net: str, variant: str, device: torch.device, seed: int = 0,
                       with_ml: bool = False, checkpoint_key: str = "sweep") -> dict:
    """Table 1 / Fig. 2 (/ Fig. 5) on one dataset: fixed and learned eta_rot (and ML members).

    Returns:
        ``{"names", "elbo", "kl_per_n", "test_acc", "test_ll", "test_acc_sampled", "test_ll_sampled" (M,),
        "eta_deg_final" (M,), "steps" (L,), "eta_deg" (L, M) over training, "wall_time_s", "n_train", "examples"
        (4, 1, 28, 28) uint8}`` (``train.evaluate``).
    """
    ds = transformed_dataset("mnist", variant, s.n_train, s.n_test, seed)
    eta, learn, bayes, names = rotation_members(s, with_ml)
    model = InvariantNet(net, (1, 28, 28), s.hidden, 10, eta, learn, bayes, sigma=s.sigma, alpha=s.alpha,
                         blur_sigma=s.blur_sigma, seed=seed, feature_scale=feature_scale(s, s.hidden),
                         init_std=s.init_std).to(device)
    hist = fit_sweep(model, ds["train"], s.train, seed, desc=f"Table 1 {net} {variant} s{seed}",
                     checkpoint_key=checkpoint_key)
    ev = evaluate(model, ds["train"], ds["test"], s.train.eval_samples, seed)
    eta_deg = torch.rad2deg(hist["eta"][..., 2].abs())  # (L, M): the sign of eta_rot is irrelevant
    return {"names": names, **ev, "eta_deg_final": eta_deg[-1], "steps": hist["steps"], "eta_deg": eta_deg,
            "wall_time_s": hist["wall_time_s"], "n_train": ds["n_train"], "examples": as_uint8(ds["train"][0][:4])}


# --------------------------------------------------------------------------- Tables 2 / 3, Figs. 3 / 4
def _fig3(snaps: list[dict], member: int) -> dict:
    """One member's ``eta`` ``(T, 6)`` and first two weights ``W1`` ``(T, 2, P)`` at each snapshot (Fig. 3)."""
    return {"steps": [int(sn["step"]) for sn in snaps], "eta": torch.stack([sn["eta"][member] for sn in snaps]),
            "W1": torch.stack([sn["W1"][member, :2] for sn in snaps])}


def run_invariance_type(s: Settings, name: str, variant: str, device: torch.device, seed: int = 0,
                        figures: bool = False, snapshots: int = 0) -> dict:
    """Table 2 (``name="mnist"``) / Table 3 (``"cifar10"``) on one dataset: ReLU nets learning each invariance.

    Every member starts at eta = ``s.table2_eta_init`` (0, as in the paper) on the generators of its type and
    learns them (``none`` = plain MLP). eta = 0 is a stationary point of the ELBO in expectation (eps and -eps
    are equally likely, so the objective is even in eta): only the Monte Carlo noise moves eta off it.

    Args:
        figures: also return what the page draws: ``"examples"`` ``(4, C, H, W)`` uint8 training images and
            ``"W1_affine"`` ``(4, C, H, W)``, the affine member's first four weights (Fig. 4, the eta control).
        snapshots: keep this many snapshots of the rotation member over training, as ``"fig3"`` (``_fig3``).

    Returns:
        ``{"invariances", "dataset", "elbo", "kl_per_n", "test_acc", "test_ll" (I,), "eta" (I, 6) final,
        "wall_time_s", "n_train"}`` and the arrays of ``figures`` and ``snapshots``.
    """
    cifar = name == "cifar10"
    n_train, n_test = (s.cifar_n_train, s.cifar_n_test) if cifar else (s.n_train, s.n_test)
    hidden, cfg = (s.cifar_hidden, s.cifar) if cifar else (s.hidden, s.table2)
    shape, inv = ((3, 32, 32) if cifar else (1, 28, 28)), list(s.table2_invariances)
    learn = torch.stack([invariance_mask(i) for i in inv])  # (I, 6)
    t0 = time.perf_counter()
    ds = transformed_dataset(name, variant, n_train, n_test, seed, standardise=cifar and s.cifar_standardise)
    model = InvariantNet("relu", shape, hidden, 10, s.table2_eta_init * learn, learn, torch.ones(len(inv)),
                         alpha=s.alpha, blur_sigma=s.blur_sigma, seed=seed,
                         feature_scale=feature_scale(s, hidden), init_std=s.init_std).to(device)
    snaps = fit_sweep(model, ds["train"], cfg, seed, snapshots, desc=f"{name} {variant} s{seed}",
                      checkpoint_key=f"sweep-s{seed}")["snapshots"]
    ev = evaluate(model, ds["train"], ds["test"], cfg.eval_samples, seed)
    out = {"invariances": inv, "dataset": variant, **ev, "eta": model.eta.detach().cpu(),  # (I, 6)
           "wall_time_s": time.perf_counter() - t0, "n_train": ds["n_train"]}
    if figures:
        out["examples"] = as_uint8(ds["train"][0][:4])  # (4, C, H, W)
    if figures and "affine" in inv:
        out["W1_affine"] = model.W1[inv.index("affine"), :4].detach().cpu().reshape(4, *shape)  # (4, C, H, W)
    if snaps and "rotation" in inv:
        out["fig3"] = _fig3(snaps, inv.index("rotation"))
    return out


# --------------------------------------------------------------------------- the parts' runs (``parts``)
_PER_SEED = ("elbo", "kl_per_n", "test_acc", "test_ll", "eta_deg_final")
#: Kept per seed where every seed has them (evaluations since issue 39, item 5: the sampled predictive).
_PER_SEED_NEW = ("test_acc_sampled", "test_ll_sampled")


def seeded_sweeps(run, seeds: int, keys: tuple[str, ...] = _PER_SEED,
                  optional: tuple[str, ...] = _PER_SEED_NEW) -> dict:
    """``run(seed, checkpoint_key)`` on seeds 0, 1, ..., ``seeds - 1``: each finished seed kept as a piece and
    each running one checkpointing under ``sweep-s<seed>`` (``helpers.checkpoint``), so the part goes on across
    sessions a seed at a time. Returns the first seed's result with ``"per_seed"``: ``{"seeds" (S,), "elbo",
    "kl_per_n", "test_acc", "test_ll", "eta_deg_final" (S, M)}`` (``keys``; and those of ``optional``,
    ``"test_acc_sampled"``, ``"test_ll_sampled"``, where every seed has them), ``wall_time_s`` summed over the
    seeds."""
    ckpt, runs = active(), []
    for k in range(seeds):
        key = f"sweep-s{k}"
        got = ckpt.piece(key)
        if got is None:
            got = run(k, key)
            ckpt.keep(key, got)
        runs.append(got)
    out = dict(runs[0])
    out["per_seed"] = {"seeds": np.arange(len(runs)),
                       **{k: np.stack([np.asarray(r[k]) for r in runs]) for k in keys
                          + tuple(k for k in optional if all(k in r for r in runs))}}
    out["wall_time_s"] = float(sum(r["wall_time_s"] for r in runs))
    return out


def table1(s: Settings, device: torch.device, net: str, variant: str) -> dict:
    """Table 1 on one dataset; with ``s.table1_seeds`` > 1 on that many seeds (``seeded_sweeps``)."""
    with_ml = net == "rff" and variant == "full"
    if s.table1_seeds == 1:
        return run_rotation_sweep(s, net, variant, device, with_ml=with_ml)
    return seeded_sweeps(lambda sd, key: run_rotation_sweep(s, net, variant, device, sd, with_ml, key),
                         s.table1_seeds)


def ladder_settings(s: Settings, budget: int | None = None, hidden: int | None = None,
                    samples: int | None = None) -> Settings:
    """The settings of one ladder part: ``s`` trained for ``budget`` steps (a rung, Table 1's fixed and learned
    members), or with width ``hidden`` and ``samples`` S and only ``s.ladder.variation_degrees`` as fixed members
    (a variation, at the profile's steps)."""
    lad = s.ladder
    if lad is None:
        raise ValueError("these settings have no ladder (Settings.ladder is None)")
    if budget is not None:
        per_epoch = math.ceil(s.n_train / s.train.batch_size)
        return replace(s, train=replace(s.train, total_steps=budget, epochs=math.ceil(budget / per_epoch)))
    if hidden is None or samples is None:
        raise ValueError("a ladder part is a rung (budget) or a variation (hidden and samples)")
    return replace(s, hidden=hidden, init_degrees=lad.variation_degrees, learned_init_degrees=(),
                   train=replace(s.train, samples=samples))


def ladder_rung(s: Settings, device: torch.device, variant: str, budget: int) -> dict:
    """A ``ladder-<dataset>-<steps>`` part: Table 1's RFF sweep (no ML members) for ``budget`` steps, on
    ``s.ladder.seeds`` seeds (``seeded_sweeps``), with ``"budget_steps"``."""
    r = ladder_settings(s, budget=budget)
    assert s.ladder is not None  # ladder_settings checked it
    out = seeded_sweeps(lambda sd, key: run_rotation_sweep(r, "rff", variant, device, sd, False, key),
                        s.ladder.seeds)
    return out | {"budget_steps": budget}


def ladder_variation(s: Settings, device: torch.device, hidden: int, samples: int) -> dict:
    """A ``var-<dataset>-d<D>-s<S>`` part: the fixed members ``s.ladder.variation_degrees`` at width ``hidden`` and
    ``samples`` S, on ``s.ladder.seeds`` seeds (``seeded_sweeps``), with ``"hidden"`` and ``"samples"``."""
    r, lad = ladder_settings(s, hidden=hidden, samples=samples), s.ladder
    assert lad is not None  # ladder_settings checked it
    out = seeded_sweeps(lambda sd, key: run_rotation_sweep(r, "rff", lad.variation_dataset, device, sd, False, key),
                        lad.seeds)
    return out | {"hidden": hidden, "samples": samples}


def table23(s: Settings, device: torch.device, name: str, variant: str) -> dict:
    """Table 2 / 3 on one dataset, trained on ``s.table2_seeds`` seeds (0, 1, ...): the first
    seed's result (with what the page draws: the MNIST parts keep the figures, fully rotated MNIST also Fig. 3)
    and ``"per_seed"``: ``{"seeds" (S,), "test_acc" (S, I), "elbo" (S, I), "eta" (S, I, 6)}`` for the claims that
    compare the invariance types (C2.5, C2.7); each finished seed is a piece (``seeded_sweeps``)."""
    mnist = name == "mnist"

    def run(sd: int, key: str) -> dict:
        first = sd == 0
        return run_invariance_type(s, name, variant, device, sd, figures=mnist and first,
                                   snapshots=FIG3_SNAPSHOTS if mnist and variant == "full" and first else 0)
    return seeded_sweeps(run, s.table2_seeds, ("test_acc", "elbo", "eta"), optional=())
