"""Chapter 2's compute: one part per experiment and dataset, each a sweep of ``M`` members trained as one model.

- ``toy``: Fig. 1, a 2-D two-class problem with no / some / full rotational invariance.
- ``t1-<net>-<dataset>`` (net in ``s.table1_nets``, dataset full / partial / regular): Table 1 (App. Tables
  4 / 5) and Fig. 2 on one dataset, fixed eta_rot at 5..175 degrees and learned eta from the same initial
  values; ``t1-rff-full`` also holds the maximum-likelihood members of Fig. 5.
- ``t2-<dataset>`` (``s.table2_datasets``): Table 2 on one MNIST dataset, ReLU nets learning no / rotation /
  translation / scale / affine invariance, with the small arrays Figs. 3 (``t2-full``) / 4 and the eta control
  draw.
- ``t3-<dataset>``: the same on CIFAR-10 (Table 3), where ``s.cifar_n_train > 0``.
- ``ab-<arm>-<dataset>`` (``s.ablation``): what the parameterisation costs, the paper's settings and one
  departure at a time (``ablation``), on several seeds.

Each part declares the settings it reads (``uses``), so a change to another experiment's settings leaves it
valid. ``collect`` combines the per-dataset results back into the tables' layout ``{"toy", "t1", "t2", "t3"}``
(also what ``records.from_record`` gives for a whole-run record), which the claims and the views read.
"""
from __future__ import annotations

import math
import time
from dataclasses import replace
from functools import partial
from typing import Mapping

import numpy as np
import torch
from torch import Tensor

from ...checkpoint import active
from ...parts import Needs, Part
from .data import ROTATION_DATASETS, as_uint8, toy_data, transformed_dataset
from .invariant_weights import InvariantNet, invariance_mask, linspace_eps
from .settings import Settings, TrainConfig
from .train import evaluate, fit_sweep

__all__ = ["FIG3_SNAPSHOTS", "FULL_STUDY", "feature_scale", "run_toy", "run_rotation_sweep", "run_invariance_type",
           "all_parts", "combine_datasets", "collect", "with_full_ablation"]

#: Snapshots over training of the rotation member on fully rotated MNIST (``t2-full``; Fig. 3 draws them).
FIG3_SNAPSHOTS = 6
_SHARED = ("alpha", "blur_sigma", "normalise_features", "init_std")
_USES = {
    "toy": ("toy_hidden", "toy_steps", "alpha"),
    "t1": ("n_train", "n_test", "hidden", "train", "init_degrees", "learned_init_degrees", "ml_init_degrees",
           "sigma", *_SHARED),
    "t2": ("n_train", "n_test", "hidden", "table2", "table2_invariances", "table2_eta_init", "table2_seeds",
           *_SHARED),
    "ab": ("ablation", "alpha", "blur_sigma"),
    "ladder": ("ladder", "n_train", "n_test", "hidden", "train", "init_degrees", "learned_init_degrees", "sigma",
               *_SHARED),
    "t3": ("cifar_n_train", "cifar_n_test", "cifar_hidden", "cifar", "cifar_standardise", "table2_invariances",
           "table2_eta_init", "table2_seeds", *_SHARED),
}


def feature_scale(s: Settings, hidden: int) -> float:
    """c in the hidden features ``c * phi(W1 x + b)``: ``sqrt(2 / D)`` where ``s.normalise_features``, else 1."""
    return math.sqrt(2.0 / hidden) if s.normalise_features else 1.0


# --------------------------------------------------------------------------- Fig. 1: the toy problem
def run_toy(s: Settings, device: torch.device, seed: int = 0,
            etas_deg: tuple[float, ...] = (0.0, 60.0, 180.0)) -> dict:
    """Fig. 1: RFF nets (sigma 5) with fixed eta_rot: no, some and full rotational invariance.

    Returns:
        ``{"etas_deg", "x" (n, 2), "y" (n,), "prob" (M, G, G) of class 1 on the grid [-3, 3]^2 (G = 61),
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
    return {"etas_deg": list(etas_deg), "x": x, "y": y, "prob": prob.reshape(M, 61, 61).cpu(),  # (M, G, G)
            "extrapolation_acc": 100 * (pf == yf).float().mean(-1), "train_acc": 100 * (pt == y).float().mean(-1)}


# --------------------------------------------------------------------------- Table 1, Fig. 2, Fig. 5
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
                       with_ml: bool = False, checkpoint_key: str = "sweep") -> dict:
    """Table 1 / Fig. 2 (/ Fig. 5) on one dataset: fixed and learned eta_rot (and ML members).

    Returns:
        ``{"names", "elbo", "kl_per_n", "test_acc", "test_ll" (M,), "eta_deg_final" (M,), "steps" (L,),
        "eta_deg" (L, M) over training, "wall_time_s", "n_train", "examples" (4, 1, 28, 28) uint8}``.
    """
    ds = transformed_dataset("mnist", variant, s.n_train, s.n_test, seed)
    eta, learn, bayes, names = _rotation_members(s, with_ml)
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


# --------------------------------------------------------------------------- the parts
def _toy(s: Settings, seed: int, device: torch.device) -> dict:
    return run_toy(s, device, seed)


_PER_SEED = ("elbo", "kl_per_n", "test_acc", "test_ll", "eta_deg_final")


def _seeded_sweeps(run, seeds: int, seed: int) -> dict:
    """``run(seed, checkpoint_key)`` on seeds ``seed``, ``seed + 1``, ...: each finished seed kept as a piece and
    each running one checkpointing under ``sweep-s<seed>`` (``helpers.checkpoint``), so the part goes on across
    sessions a seed at a time. Returns the first seed's result with ``"per_seed"``: ``{"seeds" (S,), "elbo",
    "kl_per_n", "test_acc", "test_ll", "eta_deg_final" (S, M)}``, ``wall_time_s`` summed over the seeds."""
    ckpt, runs = active(), []
    for k in range(seeds):
        key = f"sweep-s{seed + k}"
        got = ckpt.piece(key)
        if got is None:
            got = run(seed + k, key)
            ckpt.keep(key, got)
        runs.append(got)
    out = dict(runs[0])
    out["per_seed"] = {"seeds": np.arange(seed, seed + len(runs)),
                       **{k: np.stack([np.asarray(r[k]) for r in runs]) for k in _PER_SEED}}
    out["wall_time_s"] = float(sum(r["wall_time_s"] for r in runs))
    return out


def _table1(s: Settings, seed: int, device: torch.device, net: str, variant: str) -> dict:
    """Table 1 on one dataset; with ``s.table1_seeds`` > 1 on that many seeds (``_seeded_sweeps``)."""
    with_ml = net == "rff" and variant == "full"
    if s.table1_seeds == 1:
        return run_rotation_sweep(s, net, variant, device, seed, with_ml)
    return _seeded_sweeps(lambda sd, key: run_rotation_sweep(s, net, variant, device, sd, with_ml, key),
                          s.table1_seeds, seed)


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
    return replace(s, hidden=hidden, init_degrees=lad.variation_degrees, learned_init_degrees=(),
                   train=replace(s.train, samples=samples))


def _ladder_rung(s: Settings, seed: int, device: torch.device, variant: str, budget: int) -> dict:
    r = ladder_settings(s, budget=budget)
    out = _seeded_sweeps(lambda sd, key: run_rotation_sweep(r, "rff", variant, device, sd, False, key),
                         s.ladder.seeds, seed)
    return out | {"budget_steps": budget}


def _ladder_variation(s: Settings, seed: int, device: torch.device, hidden: int, samples: int) -> dict:
    r = ladder_settings(s, hidden=hidden, samples=samples)
    out = _seeded_sweeps(lambda sd, key: run_rotation_sweep(r, "rff", s.ladder.variation_dataset, device, sd, False,
                                                             key), s.ladder.seeds, seed)
    return out | {"hidden": hidden, "samples": samples}


def _table23(s: Settings, seed: int, device: torch.device, name: str, variant: str) -> dict:
    """Table 2 / 3 on one dataset, trained on ``s.table2_seeds`` seeds (``seed``, ``seed + 1``, ...): the first
    seed's result (with what the page draws: the MNIST parts keep the figures, fully rotated MNIST also Fig. 3)
    and ``"per_seed"``: ``{"seeds" (S,), "test_acc" (S, I), "elbo" (S, I), "eta" (S, I, 6)}`` for the claims that
    compare the invariance types (C2.5, C2.7).

    Each finished seed is kept as a piece (``helpers.checkpoint``), so the part goes on across sessions a seed at
    a time; a seed's ``wall_time_s`` is its own run's."""
    mnist = name == "mnist"
    ckpt, runs = active(), []
    for k in range(s.table2_seeds):
        key = f"sweep-s{seed + k}"
        run = ckpt.piece(key)
        if run is None:
            run = run_invariance_type(s, name, variant, device, seed + k, figures=mnist and k == 0,
                                      snapshots=FIG3_SNAPSHOTS if mnist and variant == "full" and k == 0 else 0)
            ckpt.keep(key, run)
        runs.append(run)
    out = runs[0]
    out["per_seed"] = {"seeds": np.arange(seed, seed + len(runs)),
                       **{k: np.stack([np.asarray(r[k]) for r in runs]) for k in ("test_acc", "elbo", "eta")}}
    out["wall_time_s"] = float(sum(r["wall_time_s"] for r in runs))
    return out


def _ablation(s: Settings, seed: int, device: torch.device, arm: str, variant: str) -> dict:
    from .ablation import run_arm  # it runs run_rotation_sweep of this module

    return run_arm(s.ablation, arm, variant, device, seed, s.alpha, s.blur_sigma)


def all_parts(s: Settings) -> list[Part]:
    """The chapter's parts in profile settings ``s`` (see the module docstring)."""
    gpu = Needs(gpu=True, memory_gb=2.0)
    out = [Part("toy", _toy, Needs(gpu=True, memory_gb=1.0), uses=_USES["toy"],
                description="Fig. 1: toy RFF nets with no / some / full rotational invariance")]
    # table1_seeds is left out of the settings hash at its default 1 (stored one-seed parts keep their hashes)
    t1_uses = _USES["t1"] + (("table1_seeds",) if s.table1_seeds != 1 else ())
    out += [Part(f"t1-{net}-{v}", partial(_table1, net=net, variant=v), gpu, uses=t1_uses,
                 description=f"Table 1 ({net.upper()}), {v} MNIST: fixed and learned eta_rot"
                             + (" and ML members (Fig. 5)" if (net, v) == ("rff", "full") else ""))
            for net in s.table1_nets for v in ROTATION_DATASETS]
    out += [Part(f"t2-{v}", partial(_table23, name="mnist", variant=v), gpu, uses=_USES["t2"],
                 description=f"Table 2, {v} MNIST: ReLU nets learning each invariance type")
            for v in s.table2_datasets]
    if s.cifar_n_train > 0:
        out += [Part(f"t3-{v}", partial(_table23, name="cifar10", variant=v), Needs(gpu=True, memory_gb=4.0),
                     uses=_USES["t3"], description=f"Table 3, {v} CIFAR-10: ReLU nets learning each invariance type")
                for v in s.table2_datasets]
    if s.ladder is not None:
        lad = s.ladder
        out += [Part(f"ladder-{v}-{b}", partial(_ladder_rung, variant=v, budget=b), gpu, uses=_USES["ladder"],
                     description=f"Budget ladder: Table 1 (RFF), {v} MNIST, {b} steps, {lad.seeds} seeds")
                for v in lad.datasets for b in lad.budgets]
        out += [Part(f"var-{lad.variation_dataset}-d{d}-s{k}", partial(_ladder_variation, hidden=d, samples=k), gpu,
                     uses=_USES["ladder"], description=f"Width and samples at the profile's steps: fixed eta "
                     f"{', '.join(f'{g:g}' for g in lad.variation_degrees)} deg, {lad.variation_dataset} MNIST, "
                     f"D = {d}, S = {k}, {lad.seeds} seeds")
                for d, k in lad.variations]
    if s.ablation is not None:
        out += [Part(f"ab-{arm}-{v}", partial(_ablation, arm=arm, variant=v), Needs(memory_gb=1.0),
                     uses=_USES["ab"], description=f"What the parameterisation costs: arm {arm!r}, {v} MNIST, "
                                                   f"{s.ablation.seeds} seeds")
                for arm in s.ablation.arms for v in s.ablation.datasets]
    return out


# --------------------------------------------------------------------------- back to the tables' layout
def combine_datasets(per: Mapping[str, dict]) -> dict:
    """Table 2 / 3 from its per-dataset parts ``{dataset: result}``.

    Returns:
        ``{"invariances", "datasets", "test_acc" (I, V), "elbo" (I, V), "eta" (I, V, 6), "n_train",
        "wall_time_s"}``; where the parts trained several seeds, ``test_acc`` and ``elbo`` are seed means, ``eta``
        the first seed's (the one the figures show), and ``"seed_acc"`` ``(S, I, V)``, ``"seed_eta"``
        ``(S, I, V, 6)`` hold every seed.
    """
    rs = list(per.values())
    stacked = {k: np.stack([np.asarray(r[k]) for r in rs], 1) for k in ("test_acc", "elbo", "eta")}  # (I, V[, 6])
    out = {"invariances": list(rs[0]["invariances"]), "datasets": list(per), **stacked,
           "n_train": rs[0]["n_train"], "wall_time_s": float(sum(r["wall_time_s"] for r in rs))}
    if all("per_seed" in r for r in rs) and len({len(r["per_seed"]["seeds"]) for r in rs}) == 1:
        seed = {k: np.stack([np.asarray(r["per_seed"][k]) for r in rs], 2) for k in ("test_acc", "elbo", "eta")}
        out |= {"test_acc": seed["test_acc"].mean(0), "elbo": seed["elbo"].mean(0), "seed_acc": seed["test_acc"],
                "seed_eta": seed["eta"]}
    return out


def collect(results: Mapping[str, dict]) -> dict:
    """The part results (``{part name: result}``, e.g. a page's evidence) in the tables' layout.

    Returns:
        ``{"toy": result or None, "t1": {net: {dataset: result}}, "ablation": {arm: {dataset: result}} or None,
        "t2": combine_datasets(...) or None, "t3": the same or None}``.
    """
    t1: dict = {}
    per: dict = {"t2": {}, "t3": {}}
    ab: dict = {}
    for name, r in results.items():
        kind, _, rest = name.partition("-")
        if kind == "ab":
            arm, _, variant = rest.rpartition("-")
            ab.setdefault(arm, {})[variant] = r
        elif kind == "t1":
            net, _, variant = rest.partition("-")
            t1.setdefault(net, {})[variant] = r
        elif kind in per:
            per[kind][rest] = r
    return {"toy": results.get("toy"), "t1": t1, "ablation": ab or None,
            **{k: combine_datasets(v) if v else None for k, v in per.items()}}


#: The profile whose ablation is the full study (``quick``'s is a smaller one, to keep CI within its budget).
FULL_STUDY = "standard"


def with_full_ablation(ev, store=None):
    """``ev`` (a page's ``Evidence``) with its ablation parts replaced by the full study's, where a lighter
    profile runs a smaller ablation and every part of the full one (``FULL_STUDY``'s) is stored; else ``ev``
    unchanged. Nothing is computed. The borrowed parts keep their own provenance (profile, device, time) in
    ``ev.meta``, and ``ev.note`` says so.
    """
    from ... import runner  # the page's loader; parts.py is imported by it, not the other way round
    from .settings import SETTINGS

    full = SETTINGS[FULL_STUDY].ablation
    if ev.profile == FULL_STUDY or full is None or SETTINGS.get(ev.profile) is None \
            or SETTINGS[ev.profile].ablation == full:
        return ev
    module = runner.chapter_module("2")
    parts = [p for p in runner.chapter_parts(module, SETTINGS[FULL_STUDY]) if p.name.startswith("ab-")]
    found = runner.find_stored(module, FULL_STUDY, ev.seed, parts, runner.stores(store))
    if not found or any(f.stored is None for f in found):
        return ev
    for name in [n for n in ev.results if n.startswith("ab-")]:
        for d in (ev.results, ev.meta, ev.where):
            d.pop(name, None)
    for f in found:
        ev.results[f.part.name], ev.meta[f.part.name] = f.stored.result, f.stored.meta
        ev.where[f.part.name] = "committed" if f.store.protected else "local"
    ev.note = (ev.note + "; " if ev.note else "") + (f"the ablation's {len(found)} parts are the full study, "
                                                     f"stored under the {FULL_STUDY} profile")
    return ev
