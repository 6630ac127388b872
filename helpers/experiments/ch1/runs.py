"""Chapter 1's training runs, the compute of its parts (``parts``): each trains and measures models and returns
numbers and small arrays, never models. ``run_group`` and ``run_sensitivity`` are the whole-sweep layout's parts
(quick, standard), ``run_fixed`` and ``run_nu`` the split layout's (``Settings.split_sweeps``, the paper profile).
"""
from __future__ import annotations

import math
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ... import data
from ...groups import get_group
from ...metrics import distribution_invariance, invariance_penalty, orbit_saliency, pick_nu
from ...models import MLP, GroupPooledMLP, count_parameters
from ...training import accuracy, predict
from .data import Transforming, drifted, transforming
from .measures import evaluate, linear_flow, orbit_neighbours, orbit_spread
from .models import train, train_sweep
from .results import join
from .settings import N_CLASSES, SIZE, Extension, Settings

__all__ = ["run_group", "run_fixed", "run_nu", "run_drift", "run_saliency", "run_tsne", "run_sensitivity",
           "run_extension", "run_proposition", "proposition"]


def run_group(group_name: str, s: Settings, device: torch.device) -> dict:
    """Part ``group-<g>``: Table 1 for one group, the L2 nu sweep that picks IR's nu, and what Figs. 2-4 and the
    nu and beta controls draw from the WT, DA and chosen-IR models: ``_fixed_kinds`` and the sweep, trained as one
    ensemble, joined as ``results.groups_of`` joins the split layout's parts (``results.join``).

    Returns:
        ``{"group": name, "nu": chosen nu, "n_params": {kind: int}, "table": {kind: evaluate(...)},
        "sweep": {nu: evaluate(...)}, "orbit_example": (G, 36, 36), "saliency": run_saliency(...),
        "drift": run_drift(...), "tsne": run_tsne(...)}``.
    """
    ds = transforming("mnist", group_name, s)
    fixed = _fixed_kinds(ds, s, device)
    swept = train_sweep(ds, s, s.nus, "l2", device)
    ir = {nu: _ir_result(ds, "l2", nu, ms, s, figures=False) for nu, ms in swept.items()}
    nu = pick_nu({k: r["metrics"] for k, r in ir.items()}, s.si_target)
    ir[nu] |= _ir_figures(ds, swept[nu], s)  # only the picked models' drift and t-SNE are drawn
    return join(fixed, ir, s.si_target)


def run_fixed(group_name: str, s: Settings, device: torch.device) -> dict:
    """Part ``group-<g>`` of the split layout (``s.split_sweeps``): ``run_group`` without the IR sweep, whose nus are
    the ``ir-<g>-l2-<nu>`` parts (``run_nu``); ``results.groups_of`` puts them together.

    Returns:
        ``run_group``'s dictionary without ``"nu"`` and ``"sweep"``, and without IR in ``"n_params"``, ``"table"``,
        ``"drift"`` and ``"tsne"`` (``"saliency"["IR"]`` is ``{}``).
    """
    return _fixed_kinds(transforming("mnist", group_name, s), s, device)


def _fixed_kinds(ds: Transforming, s: Settings, device: torch.device) -> dict:
    """WT and DA trained and measured, with what the figures draw from them (``run_fixed``'s result)."""
    models = {k: train(k, ds, s, device=device) for k in ("WT", "DA")}
    return {"group": ds.group.name, "n_params": {k: count_parameters(v[0]) for k, v in models.items()},
            "table": {k: evaluate(models[k], ds, s, sensitivity=k == "DA") for k in models},
            "orbit_example": ds.group.orbit(ds.test[0][:1])[:, 0],  # (G, 36, 36)
            "saliency": run_saliency(models, ds, s) | {"IR": {}}, "drift": run_drift(models, ds, s),
            "tsne": run_tsne(models, ds, s)}


def run_nu(group_name: str, penalty: str, nu: float, s: Settings, device: torch.device) -> dict:
    """Part ``ir-<g>-<penalty>-<nu>`` (``s.split_sweeps``): the IR models of one nu, trained with eq. 4's ``penalty``
    on every seed, as they are trained inside the whole sweep (``train_sweep``), and measured. The L2 parts (the
    sweep that picks Table 1's IR) also keep what Figs. 2-4 draw from IR, since any of them may be the one picked.

    Returns:
        ``{"group", "penalty", "nu", "n_params": int, "metrics": evaluate(..., sensitivity=True)}``, and for L2
        ``"saliency"`` ``(3, G, H, W)`` (member 0), ``"drift"`` (``run_drift`` of IR) and ``"tsne"`` (IR's spread
        and neighbours).
    """
    ds = transforming("mnist", group_name, s)
    models = train_sweep(ds, s, [nu], penalty, device)[float(nu)]
    return _ir_result(ds, penalty, nu, models, s, figures=penalty == "l2")


def _ir_result(ds: Transforming, penalty: str, nu: float, models: list[nn.Module], s: Settings, figures: bool) -> dict:
    """One nu's IR models measured (``run_nu``'s result); the L2 sweep's also with their saliency (the nu control),
    and with ``figures`` their drift and t-SNE spread too (``_ir_figures``)."""
    out = {"group": ds.group.name, "penalty": penalty, "nu": float(nu), "n_params": count_parameters(models[0]),
           "metrics": evaluate(models, ds, s, sensitivity=True)}
    if penalty == "l2":
        out["saliency"] = run_saliency({"IR": models}, ds, s)["IR"]
    return out | (_ir_figures(ds, models, s) if figures else {})


def _ir_figures(ds: Transforming, models: list[nn.Module], s: Settings) -> dict:
    """What Figs. 2 and 4 draw from IR models: ``{"drift": run_drift(...), "tsne": run_tsne(...)}`` of IR alone."""
    return {"drift": run_drift({"IR": models}, ds, s), "tsne": run_tsne({"IR": models}, ds, s)}


def run_saliency(models: dict[str, list[nn.Module]], ds: Transforming, s: Settings, n: int = 3) -> dict:
    """Fig. 3 and the nu control: realigned orbit saliency of ``n`` test samples for member 0 of each kind of
    ``models`` (target: the true class).

    Returns:
        ``{"images": (n, H, W) untransformed inputs (standardised), kind: (n, G, H, W)}``, float32.
    """
    dev = next(next(iter(models.values()))[0].parameters()).device
    x, y = ds.test[0][:n].to(dev), ds.test[1][:n].to(dev)
    maps = {k: orbit_saliency(ms[0], x, ds.group, y, s.ig_steps).transpose(0, 1).detach().cpu()  # (n, G, H, W)
            for k, ms in models.items()}
    return {"images": x.cpu()} | maps


def run_drift(models: dict[str, list[nn.Module]], mnist: Transforming, s: Settings, seed: int = 0,
              n_examples: int = 4) -> dict:
    """Fig. 4: DI and the accuracy ratio Acc(D(beta)) / Acc(D(0)) over the drift degrees ``s.betas``.

    Also keeps, for the beta widget, ``n_examples`` drifted test images per beta with each model's
    (member 0) predicted class and the orbit DI of that one image.

    Returns:
        ``{"betas": [...], kind: {"DI": (n_beta, M), "acc_ratio": (n_beta, M)},
        "examples": {"images": (n_beta, E, 36, 36), "labels": (E,), kind: {"pred": (n_beta, E),
        "DI": (n_beta, E)}}}``.
    """
    fmnist = transforming("fashion_mnist", mnist.group, s, seed)
    out: dict = {"betas": list(s.betas)}
    ex: dict = {"images": [], "labels": mnist.test[1][:n_examples].tolist()}
    for kind, ms in models.items():
        dev = next(ms[0].parameters()).device
        di, acc, ex[kind] = [], [], {"pred": [], "DI": []}
        for beta in s.betas:
            x, y = (t[: s.n_eval].to(dev) for t in drifted(mnist, fmnist, beta))
            di.append([distribution_invariance(m, x, mnist.group) for m in ms])
            acc.append([accuracy(predict(m, x), y) for m in ms])
            xe = x[:n_examples]  # (E, 36, 36)
            ex[kind]["pred"].append(predict(ms[0], xe).argmax(-1).tolist())
            ex[kind]["DI"].append([distribution_invariance(ms[0], xe[e:e + 1], mnist.group) for e in range(len(xe))])
            if len(ex["images"]) < len(s.betas):
                ex["images"].append((xe.cpu() * mnist.std + mnist.mean).numpy())
        accs = np.array(acc)  # (n_beta, M)
        out[kind] = {"DI": di, "acc_ratio": (accs / accs[:1]).tolist(), "acc": accs.tolist()}
    out["examples"] = ex
    return out


def run_tsne(models: dict[str, list[nn.Module]], ds: Transforming, s: Settings, seed: int = 0) -> dict:
    """Fig. 2: t-SNE of the DA model's penultimate features over whole orbits, plus ``orbit_spread``.

    Returns:
        ``{"embedding": (G*B, 2), "labels": (G*B,), "g": (G*B,), "n": B, "spread": {kind: float},
        "neighbours": {kind: orbit_neighbours(...)}}``; without a DA model in ``models`` (a nu part of the split
        layout) only ``"spread"`` and ``"neighbours"``.
    """
    from sklearn.manifold import TSNE
    x, y = (t[: s.n_tsne] for t in ds.test)
    G, B = ds.group.order, len(x)
    feats = {}
    for kind, ms in models.items():
        dev = next(ms[0].parameters()).device
        with torch.no_grad():
            orbit = ds.group.orbit(x.to(dev)).reshape(G * B, SIZE, SIZE)  # (G*B, H, W)
            member = cast("MLP | GroupPooledMLP", ms[0])  # chapter 1's models (models.make_model)
            feats[kind] = member.features(orbit).view(G, B, -1).cpu()  # (G, B, D), member 0
    out = {"spread": {k: orbit_spread(f, y) for k, f in feats.items()},
           "neighbours": {k: orbit_neighbours(f, y) for k, f in feats.items()}}
    if "DA" not in feats:
        return out
    emb = TSNE(2, perplexity=30, init="pca", random_state=seed).fit_transform(feats["DA"].reshape(G * B, -1).numpy())
    return {"embedding": emb, "labels": y.repeat(G).numpy(), "g": np.repeat(np.arange(G), B), "n": B, **out}


def run_sensitivity(group_name: str, penalty: str, s: Settings, device: torch.device) -> dict:
    """Part ``sensitivity-<g>-<penalty>``: Fig. 5's IR models with the KL or normalised-L2 regulariser, swept over
    ``s.nus_other[penalty]`` as one ensemble and measured with sigma_max(J); nu picked by the SI rule.

    Returns:
        ``{"penalty": penalty, "nu": chosen, "sweep": {nu: evaluate(..., sensitivity=True)}}``.
    """
    ds = transforming("mnist", group_name, s)
    models = train_sweep(ds, s, s.nus_other[penalty], penalty, device)
    sweep = {nu: evaluate(ms, ds, s, sensitivity=True) for nu, ms in models.items()}
    return {"penalty": penalty, "nu": pick_nu(sweep, s.si_target), "sweep": sweep}


def run_extension(s: Settings, device: torch.device, study: Extension) -> dict:
    """Part ``extension-<g>-<penalty>``: IR with ``study.penalty`` on ``study.group`` at ``study.nus`` (beyond the
    profile's grid), trained as ``run_sensitivity``'s sweep and measured with sigma_max(J); no nu is picked.

    Returns:
        ``{"group", "penalty", "sweep": {nu: evaluate(..., sensitivity=True)}}``.
    """
    ds = transforming("mnist", study.group, s)
    models = train_sweep(ds, s, study.nus, study.penalty, device)
    return {"group": study.group, "penalty": study.penalty,
            "sweep": {nu: evaluate(ms, ds, s, sensitivity=True) for nu, ms in models.items()}}


def run_proposition(group_name: str = "rot4", n: int = 64, size: int = 12, n_steps: int = 200,
                    lr: float | None = None, seed: int = 0) -> dict:
    """Proposition 3.1 on real MNIST: ||W(t)||_2 under LI minimisation, exact flow and discrete descent.

    A linear model ``W`` (``(9, size*size)``, He-initialised with ``seed``) sees ``n`` MNIST digits
    average-pooled to ``size x size`` (standardised); it is trained on LI alone, by gradient descent
    ``W_{t+1} = W_t - lr grad LI`` (the paper's discrete version), and by the exact flow (eq. 6).
    LI is the *sum* of eq. (2) over samples and g != e, whose Hessian is ``Sigma``; descent is stable
    for ``lr < 2 / lambda_max(Sigma)``, so the default step is ``1 / lambda_max(Sigma)``.

    Returns:
        ``{"t": [...], "flow": [...], "gd": [...], "LI": [...], "lr": float, "lambda_max": float,
        "max_increase_flow": float, "max_increase_gd": float}``.
    """
    group = get_group(group_name)
    x, _ = data.load("mnist", train=False)
    x = F.adaptive_avg_pool2d(data.to_unit(x[:n])[:, None], size)[:, 0].double()  # (n, size, size)
    x = data.standardize(x)[0]
    eps = (group.orbit(x)[:1] - group.orbit(x)[1:]).flatten(2).flatten(0, 1)  # ((G-1)*n, D)
    lam_max = float(torch.linalg.eigvalsh(eps.T @ eps)[-1])
    lr = 1.0 / lam_max if lr is None else lr
    if lr <= 0:
        raise ValueError(f"step size lr must be > 0, got {lr}")
    gen = torch.Generator().manual_seed(seed)
    W = torch.randn(N_CLASSES, size * size, generator=gen, dtype=torch.float64) * math.sqrt(2 / (size * size))
    times = torch.arange(n_steps + 1, dtype=torch.float64) * lr
    flow = linear_flow(W, x, group, times)
    W_gd, norms, li = W.clone().requires_grad_(True), [], []
    for _ in range(n_steps + 1):
        z = (group.orbit(x).flatten(2) @ W_gd.T)  # (G, n, K)
        loss = invariance_penalty(z, "l2") * (group.order - 1) * n  # the sum of eq. (2), not the mean
        norms.append(torch.linalg.matrix_norm(W_gd.detach(), ord=2).item())
        li.append(loss.item())
        (grad,) = torch.autograd.grad(loss, W_gd)
        W_gd = (W_gd - lr * grad).detach().requires_grad_(True)
    inc = lambda v: float(np.max(np.diff(np.asarray(v))))  # noqa: E731
    return {"t": times.tolist(), "flow": flow.tolist(), "gd": norms, "LI": li, "lr": lr, "lambda_max": lam_max,
            "max_increase_flow": inc(flow.numpy()), "max_increase_gd": inc(norms)}


def proposition(s: Settings, device: torch.device) -> dict:
    """Part ``proposition``: ``run_proposition`` on R4 (no profile setting shapes it)."""
    return run_proposition("rot4")
