"""The studies beyond the paper's tables, parts of the standard profile only (``settings.STUDIES``), which the page
of every profile shows (``full_ablation.studies``):

- ``eta_sweep`` (part ``eta-sweep``): does the ELBO reward an invariance at all? Table 2's ReLU net with the
  generators of one invariance *fixed* at several values, and learned from others, in one sweep (``run_eta_sweep``);
- ``cifar_preprocessing`` (part ``cifar-preprocessing``): the reason for ``Settings.cifar_standardise`` and the
  first layer's rate on CIFAR-10, Table 3's plain MLP on raw and standardised pixels;
- ``kernel_confound`` (part ``kernel-confound``, issue 39 item 5): does the ELBO's ranking of fixed eta_rot survive
  when the warped RFF rows get their size back, their norm or their spread over the data (``run_confound_sweep``,
  read by ``results.confound_reading``)?
"""
from __future__ import annotations

from dataclasses import replace
from typing import Sequence

import torch

from ...checkpoint import Checkpoints, active, scope
from .data import VARIANTS, transformed_dataset
from .invariant_weights import INVARIANCES, InvariantNet, invariance_mask, transformation_matrices, uniform_eps
from .settings import CONFOUND_ARMS, CifarPreprocessing, EtaSweep, KernelConfound, Settings, reduced_settings
from .sweeps import feature_scale, run_invariance_type
from .train import evaluate, fit_sweep
from .warps import filter_gain

__all__ = ["run_eta_sweep", "eta_sweep", "cifar_preprocessing", "run_confound_sweep", "kernel_confound"]


def run_eta_sweep(s: Settings, invariance: str, variant: str, values: Sequence[float], device: torch.device,
                  seed: int = 0, learned_from: Sequence[float] = ()) -> dict:
    """Does the ELBO reward an invariance at all? Table 2's ReLU net on one MNIST dataset with the generators
    of ``invariance`` fixed at each of ``values`` (both generators of a type at the same value), and learned
    from each of ``learned_from``, in one sweep (the same mini-batches for every member, evaluated with
    common noise, as in Table 1; Table 2's optimisation settings ``s.table2``).

    A diagnostic beyond the paper: if the ELBO-best fixed value is 0, learning that moves eta to 0 follows the
    objective; if it is not, the optimisation misses it.

    Returns:
        ``{"invariance", "variant", "generators" (the swept ones' indices), "names", "values" (M,), "learned" (M,)
        bool, "elbo", "test_acc", "test_ll", "kl_per_n" (M,), "eta" (M, 6) final, "wall_time_s", "n_train"}``.
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
    return {"invariance": invariance, "variant": variant, "generators": list(INVARIANCES[invariance]),
            "names": names, "values": vals, "learned": learned.bool().tolist(), **ev,
            "eta": model.eta.detach().cpu(), "wall_time_s": hist["wall_time_s"], "n_train": ds["n_train"]}


def eta_sweep(s: Settings, device: torch.device, study: EtaSweep) -> dict:
    """Part ``eta-sweep``: ``run_eta_sweep`` for each sweep of ``study`` on ``s`` reduced to ``study.hidden`` units,
    S = ``study.samples`` and ``study.epochs`` epochs; each finished sweep is kept as a piece.

    Returns:
        ``{"sweeps": [run_eta_sweep(...)], "n_train", "hidden", "samples", "epochs"}``.
    """
    r = reduced_settings(s, study.hidden, study.samples, study.epochs)
    ckpt, done = active(), []
    for i, (invariance, variant, values, learned) in enumerate(study.sweeps):
        got = ckpt.piece(f"sweep-{i}")
        if got is None:
            got = run_eta_sweep(r, invariance, variant, values, device, learned_from=learned)
            ckpt.keep(f"sweep-{i}", got)
        done.append(got)
    return {"sweeps": done, "n_train": done[0]["n_train"], "hidden": r.hidden, "samples": r.table2.samples,
            "epochs": r.table2.epochs}


def cifar_preprocessing(s: Settings, device: torch.device, study: CifarPreprocessing) -> dict:
    """Part ``cifar-preprocessing``: Table 3's plain MLP member (no invariance) on regular CIFAR-10 at ``s``'s
    budget, once per arm of ``study`` (pixels standardised or raw [0, 1], the first layer's rate ``lr_w1``); each
    finished arm is kept as a piece.

    Returns:
        ``{"arms": [{"arm", "standardise", "lr_w1", "test_acc" (%), "test_ll", "elbo", "seconds"}], "n_train",
        "hidden", "samples", "epochs"}``.
    """
    ckpt, arms = active(), []
    for i, (arm, standardise, lr_w1) in enumerate(study.arms):
        got = ckpt.piece(f"arm-{i}")
        if got is None:
            a = replace(s, table2_invariances=("none",), cifar_standardise=standardise,
                        cifar=replace(s.cifar, lr_w1=lr_w1))
            with scope(Checkpoints(None)):  # the arms would share run_invariance_type's checkpoint key
                r = run_invariance_type(a, "cifar10", "regular", device)
            got = {"arm": arm, "standardise": standardise, "lr_w1": lr_w1, "n_train": r["n_train"],
                   **{k: float(r[k][0]) for k in ("test_acc", "test_ll", "elbo")}, "seconds": r["wall_time_s"]}
            ckpt.keep(f"arm-{i}", got)
        arms.append(got)
    return {"arms": arms, "n_train": arms[0]["n_train"], "hidden": s.cifar_hidden, "samples": s.cifar.samples,
            "epochs": s.cifar.epochs}


def run_confound_sweep(s: Settings, variant: str, degrees: Sequence[float], device: torch.device,
                       seed: int = 0, arms: Sequence[str] = ("norm", "data")) -> dict:
    """The base-kernel confound on one MNIST dataset: Table 1's RFF net with eta_rot fixed at each of ``degrees``
    with the warped rows as they are, and at each nonzero one again under each control of ``arms``
    (``settings.CONFOUND_ARMS``: rows rescaled to their own norm, or to their own spread over the training images,
    ``InvariantNet(renormalise=..., metric=...)``; at 0 degrees the warp is the identity and every arm is the same
    member), in one sweep: the same mini-batches, W1, phases and evaluation noise, so the arms differ only in the
    kernel's width.

    Returns:
        ``{"variant", "degrees" (M,), "arm" (M,) ("as warped" or a control), "elbo", "kl_per_n", "test_acc",
        "test_ll", "test_acc_sampled", "test_ll_sampled" (M,), "norm2_kept", "spread2_kept" (M,): the mean
        |A_T w|^2 / |w|^2 of the rows as warped, in the Euclidean norm and in the data's metric, under 64 draws of
        each member's T, "wall_time_s", "n_train"}``.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown dataset variant {variant!r}; valid: {list(VARIANTS)}")
    bad = [a for a in arms if a not in CONFOUND_ARMS]
    if bad:
        raise ValueError(f"unknown control arm(s) {bad}; valid: {list(CONFOUND_ARMS)}")
    moved = [float(d) for d in degrees if d != 0]
    degs = [float(d) for d in degrees] + moved * len(arms)
    names = ["as warped"] * len(degrees) + [a for a in arms for _ in moved]
    codes = torch.tensor([0.0 if a == "as warped" else float(CONFOUND_ARMS[a]) for a in names])  # (M,)
    M = len(degs)
    eta = torch.zeros(M, 6)
    eta[:, 2] = torch.deg2rad(torch.tensor(degs))
    ds = transformed_dataset("mnist", variant, s.n_train, s.n_test, seed)
    xs = ds["train"][0].flatten(1)  # (N, P)
    cov = torch.cov(xs.T)  # (P, P): the training images' covariance, the metric of the "data" arm
    model = InvariantNet("rff", (1, 28, 28), s.hidden, 10, eta, torch.zeros(M, 6), torch.ones(M), sigma=s.sigma,
                         alpha=s.alpha, blur_sigma=s.blur_sigma, seed=seed, feature_scale=feature_scale(s, s.hidden),
                         init_std=s.init_std, renormalise=codes, metric=cov).to(device)
    hist = fit_sweep(model, ds["train"], s.train, seed, desc=f"kernel confound {variant} s{seed}",
                     checkpoint_key=f"sweep-{variant}-s{seed}")
    ev = evaluate(model, ds["train"], ds["test"], s.train.eval_samples, seed)
    with torch.no_grad():
        eps = uniform_eps(1, 64, torch.Generator().manual_seed(seed), model.eta.device)[0]  # (64, 6)
        T = transformation_matrices(model.eta, eps)  # (M, 64, 3, 3)
        w = model.W1.reshape(1, s.hidden, 1, 28, 28)
        kept = [(1 / filter_gain(w, T, s.blur_sigma, c) ** 2).mean((1, 2)).cpu() for c in (None, model.metric)]
    return {"variant": variant, "degrees": degs, "arm": names, **ev, "norm2_kept": kept[0], "spread2_kept": kept[1],
            "wall_time_s": hist["wall_time_s"], "n_train": ds["n_train"]}


def kernel_confound(s: Settings, device: torch.device, study: KernelConfound) -> dict:
    """Part ``kernel-confound``: ``run_confound_sweep`` on each dataset of ``study`` for each of its seeds, on
    ``study.n_train`` / ``study.n_test`` images and ``s``'s optimisation reduced to ``study.hidden`` units,
    S = ``study.samples`` and ``study.epochs`` epochs; each finished sweep is kept as a piece.

    Returns:
        ``{"runs": {variant: [run_confound_sweep(...) per seed]}, "n_train", "hidden", "samples", "epochs",
        "steps"}``.
    """
    r = replace(reduced_settings(s, study.hidden, study.samples, study.epochs), n_train=study.n_train,
                n_test=study.n_test)
    ckpt = active()
    runs: dict[str, list] = {}
    for variant in study.datasets:
        runs[variant] = []
        for sd in range(study.seeds):
            got = ckpt.piece(f"{variant}-s{sd}")
            if got is None:
                got = run_confound_sweep(r, variant, study.degrees, device, sd, study.arms)
                ckpt.keep(f"{variant}-s{sd}", got)
            runs[variant].append(got)
    n = runs[study.datasets[0]][0]["n_train"]
    return {"runs": runs, "n_train": n, "hidden": r.hidden, "samples": r.train.samples, "epochs": r.train.epochs,
            "steps": r.train.epochs * -(-n // r.train.batch_size)}
