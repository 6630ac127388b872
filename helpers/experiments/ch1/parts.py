"""Chapter 1's compute as parts: ``group-<g>`` (Table 1, the nu sweep, Figs. 2-4 for one group), ``sensitivity-<g>-<penalty>``
(Fig. 5's other regularisers) and ``proposition`` (Prop. 3.1). Each returns numbers and small arrays."""
from __future__ import annotations

import math
from functools import partial

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ... import data
from ...groups import get_group
from ...metrics import distribution_invariance, invariance_penalty
from ...models import count_parameters
from ...parts import Needs, Part
from ...training import accuracy, predict
from .data import Transforming, drifted, transforming
from .measures import evaluate, linear_flow, orbit_neighbours, orbit_saliency, orbit_spread, pick_nu
from .models import train, train_sweep
from .settings import N_CLASSES, SIZE, Settings

__all__ = ["all_parts", "run_group", "run_drift", "run_saliency", "run_tsne", "run_sensitivity", "run_proposition",
           "groups_of", "sensitivity_of"]

#: The settings fields each kind of part reads (its settings hash covers only these).
_COMMON = ("n_train", "n_test", "n_val", "seeds", "hidden", "fit", "si_target", "n_eval", "n_si", "ig_steps")
_USES_GROUP = _COMMON + ("nus", "betas", "n_tsne")
_USES_SENSITIVITY = _COMMON + ("nus_other",)


def run_group(group_name: str, s: Settings, seed: int, device: torch.device) -> dict:
    """Part ``group-<g>``: Table 1 for one group, the L2 nu sweep that picks IR's nu, and what Figs. 2-4 and the
    nu and beta controls draw from the WT, DA and chosen-IR models.

    Returns:
        ``{"group": name, "nu": chosen nu, "n_params": {kind: int}, "table": {kind: evaluate(...)},
        "sweep": {nu: evaluate(...)}, "orbit_example": (G, 36, 36), "saliency": run_saliency(...),
        "drift": run_drift(...), "tsne": run_tsne(...)}``.
    """
    ds = transforming("mnist", group_name, s, seed)
    models = {k: train(k, ds, s, device=device) for k in ("WT", "DA")}
    table = {k: evaluate(models[k], ds, s, sensitivity=k == "DA") for k in models}
    ir_models = train_sweep(ds, s, s.nus, "l2", device)
    sweep = {nu: evaluate(ms, ds, s, sensitivity=True) for nu, ms in ir_models.items()}
    nu = pick_nu(sweep, s.si_target)
    models["IR"], table["IR"] = ir_models[nu], sweep[nu]
    return {"group": ds.group.name, "nu": nu, "n_params": {k: count_parameters(v[0]) for k, v in models.items()},
            "table": table, "sweep": sweep, "orbit_example": ds.group.orbit(ds.test[0][:1])[:, 0],  # (G, 36, 36)
            "saliency": run_saliency(models, ir_models, ds, s), "drift": run_drift(models, ds, s, seed),
            "tsne": run_tsne(models, ds, s, seed)}


def run_saliency(models: dict[str, list[nn.Module]], sweep_models: dict[float, list[nn.Module]], ds: Transforming,
                 s: Settings, n: int = 3) -> dict:
    """Fig. 3 and the nu control: realigned orbit saliency of ``n`` test samples for member 0 of WT, DA and every
    IR model of the nu sweep (target: the true class).

    Returns:
        ``{"images": (n, H, W) untransformed inputs (standardised), "WT"/"DA": (n, G, H, W),
        "IR": {nu: (n, G, H, W)}}``, float32.
    """
    dev = next(models["DA"][0].parameters()).device
    x, y = ds.test[0][:n].to(dev), ds.test[1][:n].to(dev)
    out: dict = {"images": x.cpu()}
    for kind in ("WT", "DA"):
        out[kind] = orbit_saliency(models[kind][0], x, y, ds.group, s.ig_steps).cpu()
    out["IR"] = {nu: orbit_saliency(ms[0], x, y, ds.group, s.ig_steps).cpu() for nu, ms in sweep_models.items()}
    return out


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
        acc = np.array(acc)  # (n_beta, M)
        out[kind] = {"DI": di, "acc_ratio": (acc / acc[:1]).tolist(), "acc": acc.tolist()}
    out["examples"] = ex
    return out


def run_tsne(models: dict[str, list[nn.Module]], ds: Transforming, s: Settings, seed: int = 0) -> dict:
    """Fig. 2: t-SNE of the DA model's penultimate features over whole orbits, plus ``orbit_spread``.

    Returns:
        ``{"embedding": (G*B, 2), "labels": (G*B,), "g": (G*B,), "n": B, "spread": {kind: float},
        "neighbours": {kind: orbit_neighbours(...)}}``.
    """
    from sklearn.manifold import TSNE
    x, y = (t[: s.n_tsne] for t in ds.test)
    G, B = ds.group.order, len(x)
    feats = {}
    for kind, ms in models.items():
        dev = next(ms[0].parameters()).device
        with torch.no_grad():
            orbit = ds.group.orbit(x.to(dev)).reshape(G * B, SIZE, SIZE)  # (G*B, H, W)
            feats[kind] = ms[0].features(orbit).view(G, B, -1).cpu()  # (G, B, D), member 0
    emb = TSNE(2, perplexity=30, init="pca", random_state=seed).fit_transform(feats["DA"].reshape(G * B, -1).numpy())
    return {"embedding": emb, "labels": y.repeat(G).numpy(), "g": np.repeat(np.arange(G), B), "n": B,
            "spread": {k: orbit_spread(f, y) for k, f in feats.items()},
            "neighbours": {k: orbit_neighbours(f, y) for k, f in feats.items()}}


def run_sensitivity(group_name: str, penalty: str, s: Settings, seed: int, device: torch.device) -> dict:
    """Part ``sensitivity-<g>-<penalty>``: Fig. 5's IR models with the KL or normalised-L2 regulariser, swept over
    ``s.nus_other[penalty]`` as one ensemble and measured with sigma_max(J); nu picked by the SI rule.

    Returns:
        ``{"penalty": penalty, "nu": chosen, "sweep": {nu: evaluate(..., sensitivity=True)}}``.
    """
    ds = transforming("mnist", group_name, s, seed)
    models = train_sweep(ds, s, s.nus_other[penalty], penalty, device)
    sweep = {nu: evaluate(ms, ds, s, sensitivity=True) for nu, ms in models.items()}
    return {"penalty": penalty, "nu": pick_nu(sweep, s.si_target), "sweep": sweep}


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


def all_parts(s: Settings) -> list[Part]:
    """The chapter's parts in profile settings ``s``: one ``group-<g>`` per group, one ``sensitivity-<g>-<penalty>``
    per group and regulariser of ``s.nus_other``, and ``proposition``."""
    parts = [Part(f"group-{g}", partial(run_group, g), Needs(gpu=True, memory_gb=3.0), uses=_USES_GROUP,
                  description=f"{g}: WT, DA and the IR nu sweep; Table 1, Figs. 2-4") for g in s.groups]
    parts += [Part(f"sensitivity-{g}-{p}", partial(run_sensitivity, g, p), Needs(gpu=True, memory_gb=2.0),
                   uses=_USES_SENSITIVITY, description=f"{g}: IR with the {p} regulariser; Fig. 5")
              for g in s.groups for p in s.nus_other]
    parts.append(Part("proposition", _proposition, Needs(memory_gb=1.0), uses=(),
                      description="Prop. 3.1: a linear model trained on LI alone"))
    return parts


def _proposition(s: Settings, seed: int, device: torch.device) -> dict:
    return run_proposition("rot4", seed=seed)


def groups_of(ev) -> dict[str, dict]:
    """``{group: result of part group-<group>}`` from a page's evidence (any mapping of part results)."""
    return {name.removeprefix("group-"): r for name, r in ev.items() if name.startswith("group-")}


def sensitivity_of(ev) -> dict[str, dict[str, dict]]:
    """``{group: {penalty: {"nu", "sweep"}}}`` for Fig. 5: the L2 sweep from ``group-<g>``, the others from
    ``sensitivity-<g>-<penalty>``."""
    out = {g: {"l2": {"nu": r["nu"], "sweep": r["sweep"]}} for g, r in groups_of(ev).items()}
    for name, r in ev.items():
        if name.startswith("sensitivity-"):
            g = name.removeprefix("sensitivity-").split("-", 1)[0]
            out[g][r["penalty"]] = {"nu": r["nu"], "sweep": r["sweep"]}
    return out
