"""Chapter 1 (Moskalev et al. 2023): learned vs genuine invariance: WT, DA and IR models on
Transforming-MNIST, the nu sweep, drift to Transforming-FMNIST, spectral decay and Proposition 3.1.

Every runner returns plain numbers (and small arrays for figures); the notebook only orchestrates.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import data
from ..groups import CyclicGroup, get_group
from ..metrics import (distribution_invariance, invariance_penalty, jacobian_sigma_max, logit_invariance,
                       orbit_logits, saliency_invariance, saliency_map)
from ..models import MLP, GroupPooledMLP, count_parameters
from ..training import FitConfig, accuracy, build_models, fit_ensemble, predict

__all__ = ["Settings", "SETTINGS", "MODELS", "N_CLASSES", "SIZE", "Transforming", "transforming",
           "random_action", "drifted", "make_model", "invariance_loss", "train", "train_sweep", "evaluate", "run_group",
           "pick_nu", "saliency_sweep", "run_drift", "run_sensitivity", "orbit_saliency", "orbit_spread", "run_tsne",
           "linear_flow", "run_proposition", "orbit_neighbours", "table1", "plot_nu_sweep",
           "plot_tsne", "plot_saliency", "plot_drift", "plot_sensitivity", "plot_proposition", "draw_nu", "draw_beta",
           "claim_values", "record_frame"]

MODELS = ("WT", "DA", "IR")
N_CLASSES = 9   # MNIST without the digit 9, Fashion-MNIST without its last class (ankle boot)
SIZE = 36       # 28 x 28 zero-padded to 36 x 36 (Sec. 4.1)


@dataclass(frozen=True)
class Settings:
    """One profile of the chapter.

    Attributes:
        n_train, n_test, n_val: split sizes (paper: 10k / 50k / 2k).
        seeds: ensemble members (paper: 4 seeds).
        hidden: hidden widths of the 5-layer ReLU MLP (paper: 128 each, ~230k parameters).
        fit: optimiser settings (paper: Adam, batch 512, lr 8e-4, 300 epochs, best validation accuracy).
        groups: group names (``"rot4"``, ``"trans3"``).
        nus: the nu grid of the LI regulariser (eq. 4); the smallest with SI >= ``si_target`` is used.
        nus_other: nu grids of the KL and normalised-L2 regularisers (Fig. 5).
        si_target: the paper's selection rule SI >= 0.95.
        n_eval: test samples for LI, DI and sigma_max; n_si: test samples for SI (captum).
        ig_steps: integrated-gradient steps.
        betas: drift degrees of Fig. 4.
        n_tsne: test samples in the t-SNE (each with its whole orbit).
    """

    n_train: int
    n_test: int
    n_val: int
    seeds: tuple[int, ...]
    hidden: tuple[int, ...]
    fit: FitConfig
    groups: tuple[str, ...] = ("rot4", "trans3")
    nus: tuple[float, ...] = (0.1, 1.0, 10.0)
    nus_other: dict = field(default_factory=lambda: {"kl": (10.0, 100.0), "l2_normalized": (1.0, 10.0)})
    si_target: float = 0.95
    n_eval: int = 2000
    n_si: int = 200
    ig_steps: int = 32
    betas: tuple[float, ...] = tuple(np.round(np.linspace(0, 1, 11), 2))
    n_tsne: int = 300


SETTINGS = {
    "quick": Settings(3000, 2000, 1000, (0, 1), (128,) * 5, FitConfig(epochs=12, batch_size=128, lr=8e-4),
                      nus=(1.0, 10.0, 30.0), nus_other={"kl": (100.0,), "l2_normalized": (30.0,)},
                      n_eval=1000, n_si=48, ig_steps=16, betas=(0.0, 0.25, 0.5, 0.75, 1.0), n_tsne=150),
    "standard": Settings(10_000, 50_000, 2_000, (0, 1, 2, 3), (128,) * 5,
                         FitConfig(epochs=100, batch_size=512, lr=8e-4),
                         nus=(1.0, 3.0, 10.0, 30.0, 100.0),
                         # normalised L2 up to 1000: a CPU run of R4 gave SI 0.81 at 300 and a collapsed,
                         # constant network (accuracy 14 %) at 1000 -- the grid shows both sides of that cliff
                         nus_other={"kl": (10.0, 30.0, 100.0, 300.0),
                                    "l2_normalized": (3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)},
                         n_eval=5000, n_si=500),
    "paper": Settings(10_000, 50_000, 2_000, (0, 1, 2, 3), (128,) * 5,
                      FitConfig(epochs=300, batch_size=512, lr=8e-4),
                      nus=(0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0),
                      nus_other={"kl": (3.0, 10.0, 30.0, 100.0, 300.0, 1000.0),
                                 "l2_normalized": (1.0, 3.0, 10.0, 30.0, 100.0, 300.0)},
                      n_eval=50_000, n_si=2000, ig_steps=50),
}


# --------------------------------------------------------------------------- data
@dataclass
class Transforming:
    """Transforming-MNIST or -FMNIST for one group: standardised splits plus what drift needs.

    Attributes:
        train, val, test: ``(x, y)`` with x ``(B, 36, 36)`` float32 standardised, y ``(B,)`` in 0..8.
        raw_test: the test images before the group action, ``(B, 36, 36)`` in [0, 1].
        g_test: ``(B,)`` the group element applied to each test image.
        mean, std: the training split's statistics (applied to every split).
    """

    name: str
    group: CyclicGroup
    train: tuple[Tensor, Tensor]
    val: tuple[Tensor, Tensor]
    test: tuple[Tensor, Tensor]
    raw_test: Tensor
    g_test: Tensor
    mean: float
    std: float

    def standardize(self, x: Tensor) -> Tensor:
        """``(x - mean) / std`` with the training statistics."""
        return (x - self.mean) / self.std


def _act_each(x: Tensor, g: Tensor, group: CyclicGroup) -> Tensor:
    """Apply element ``g[b]`` to ``x[b]``: ``(B, H, W), (B,) -> (B, H, W)``, via the orbit (no loop over B)."""
    orbit = group.orbit(x)  # (G, B, H, W)
    return orbit[g.to(x.device), torch.arange(len(x), device=x.device)]  # (B, H, W)


def transforming(name: str, group: CyclicGroup | str, s: Settings, seed: int = 0) -> Transforming:
    """Build Transforming-MNIST (``name="mnist"``) or Transforming-FMNIST (``"fashion_mnist"``).

    The official training and test files are pooled, the last class dropped (MNIST's digit 9,
    Fashion-MNIST's ankle boot), and disjoint train/test/val splits of ``s.n_train``/``s.n_test``/``s.n_val``
    drawn with ``seed``. Images are zero-padded 28 -> 36 and each gets one random group element
    (a fixed draw from ``seed``); all splits are standardised with the training mean and std.
    The same ``seed`` gives the same split indices and group elements for both datasets, which pairs
    MNIST and FMNIST test images for the drift of Fig. 4.

    Returns:
        ``Transforming`` with ``(B, 36, 36)`` images.
    """
    group = get_group(group) if isinstance(group, str) else group
    if name not in ("mnist", "fashion_mnist"):
        raise ValueError(f"transforming: name must be 'mnist' or 'fashion_mnist', got {name!r}")
    xs, ys = zip(data.load(name, train=True), data.load(name, train=False))
    x, y = data.select_classes(torch.cat(xs), torch.cat(ys), range(N_CLASSES))
    tr, te, va = data.split_indices(len(x), (s.n_train, s.n_test, s.n_val), seed)
    gen = torch.Generator().manual_seed(seed + 1)
    out = {}
    for key, idx in (("train", tr), ("test", te), ("val", va)):
        raw = data.pad_to(data.to_unit(x[idx]), SIZE)  # (B, 36, 36)
        g = torch.randint(group.order, (len(idx),), generator=gen)  # (B,)
        out[key] = (raw, _act_each(raw, g, group), y[idx], g)
    mean, std = out["train"][1].mean().item(), out["train"][1].std().item()
    z = lambda k: ((out[k][1] - mean) / std, out[k][2])  # noqa: E731
    return Transforming(name, group, z("train"), z("val"), z("test"), out["test"][0], out["test"][3], mean, std)


def drifted(mnist: Transforming, fmnist: Transforming, beta: float) -> tuple[Tensor, Tensor]:
    """The drifted test set D(beta) = (1 - beta) MNIST + beta FMNIST (Sec. 4.3).

    We read the paper's linear interpolation of datasets pixel-wise: each MNIST test image is blended
    with the paired FMNIST image, then both get the MNIST image's group element and the MNIST
    standardisation. Labels stay MNIST's (the task the model was trained for).

    Returns:
        ``(x, y)``: ``(B, 36, 36)`` and ``(B,)``, B the smaller test set.
    """
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"drift beta must be in [0, 1], got {beta}")
    n = min(len(mnist.raw_test), len(fmnist.raw_test))
    mix = (1 - beta) * mnist.raw_test[:n] + beta * fmnist.raw_test[:n]  # (B, 36, 36)
    return mnist.standardize(_act_each(mix, mnist.g_test[:n], mnist.group)), mnist.test[1][:n]


def random_action(group: CyclicGroup):
    """Data augmentation (DA): ``augment(x, generator)`` applies a random group element per sample.

    Returns:
        A function ``(B, H, W), torch.Generator -> (B, H, W)`` for ``fit_ensemble``.
    """
    def augment(x: Tensor, gen: torch.Generator) -> Tensor:
        g = torch.randint(group.order, (len(x),), generator=gen)  # (B,)
        return _act_each(x, g, group)
    return augment


# --------------------------------------------------------------------------- models and training
def make_model(kind: str, group: CyclicGroup, hidden: tuple[int, ...]) -> nn.Module:
    """WT: ``GroupPooledMLP`` (first layer tied over the group and pooled); DA and IR: a plain ReLU MLP.

    Shapes: ``(B, 36, 36) -> (B, 9)``.
    """
    if kind not in MODELS:
        raise ValueError(f"unknown model {kind!r}; valid: {list(MODELS)}")
    if kind == "WT":
        return GroupPooledMLP(group, SIZE * SIZE, list(hidden), N_CLASSES)
    return MLP(SIZE * SIZE, list(hidden), N_CLASSES)


def invariance_loss(group: CyclicGroup, nu: float | None, kind: str = "l2"):
    """The IR objective, eq. (4): ``CE(f(x), y) + nu * I_f(x, G)`` on each (augmented) batch.

    ``I_f`` is ``invariance_penalty`` over the batch's whole orbit, computed in one forward pass.
    With ``nu=None`` the weight comes per member, as ``fit_ensemble``'s ``member_args`` (a nu sweep).

    Returns:
        ``loss_fn(forward, x, y) -> scalar`` (or ``loss_fn(forward, x, y, nu)``) for ``fit_ensemble`` (vmap-safe).
    """
    if nu is not None and nu < 0:
        raise ValueError(f"nu must be >= 0, got {nu}")

    def swept(forward, x: Tensor, y: Tensor, nu_m) -> Tensor:
        G, B = group.order, len(x)
        z = forward(group.orbit(x).reshape(G * B, *x.shape[1:])).view(G, B, -1)  # (G, B, K)
        return F.cross_entropy(z[0], y) + nu_m * invariance_penalty(z, kind)

    if nu is None:
        return swept
    return lambda forward, x, y: swept(forward, x, y, nu)


def train(kind: str, ds: Transforming, s: Settings, nu: float = 0.0, penalty: str = "l2",
          device: torch.device | str = "cpu") -> list[nn.Module]:
    """Train ``len(s.seeds)`` models of one kind as one ensemble (every kind with DA, as in Sec. 4.1).

    Returns:
        The trained models (best validation accuracy), on ``device``.
    """
    if kind == "IR":
        return train_sweep(ds, s, (nu,), penalty, device)[nu]
    models = [m.to(device) for m in build_models(lambda: make_model(kind, ds.group, s.hidden), s.seeds)]
    fit_ensemble(models, ds.train, ds.val, s.fit, seeds=s.seeds, augment=random_action(ds.group),
                 desc=f"{kind} {ds.group.name}")
    return models


def train_sweep(ds: Transforming, s: Settings, nus, penalty: str = "l2",
                device: torch.device | str = "cpu") -> dict[float, list[nn.Module]]:
    """IR models for every nu in ``nus`` and every seed, trained as one ensemble of ``len(nus) x len(s.seeds)``.

    Member (nu, seed) follows exactly the run ``train("IR", ds, s, nu)`` would give that seed (same
    initial weights, batches and augmentations; ``fit_ensemble``'s ``member_args`` carry the nu), so the
    sweep costs one ensemble instead of ``len(nus)``.

    Returns:
        ``{nu: [len(s.seeds) models]}`` on ``device``.
    """
    nus = [float(nu) for nu in nus]
    if not nus or min(nus) < 0:
        raise ValueError(f"train_sweep needs one or more nu >= 0, got {nus}")
    seeds = list(s.seeds) * len(nus)
    models = [m.to(device) for m in build_models(lambda: make_model("IR", ds.group, s.hidden), seeds)]
    nu_m = torch.tensor([nu for nu in nus for _ in s.seeds])  # (len(nus) * len(seeds),)
    fit_ensemble(models, ds.train, ds.val, s.fit, seeds=seeds, loss_fn=invariance_loss(ds.group, None, penalty),
                 augment=random_action(ds.group), member_args=nu_m,
                 desc=f"IR-{penalty} {ds.group.name} nu={','.join(f'{nu:g}' for nu in nus)}")
    k = len(s.seeds)
    return {nu: models[i * k:(i + 1) * k] for i, nu in enumerate(nus)}


def evaluate(models: list[nn.Module], ds: Transforming, s: Settings, sensitivity: bool = False) -> dict:
    """Table 1's columns for each member: test accuracy (%), LI, DI, SI (and sigma_max if asked).

    Returns:
        ``{"acc": [M], "LI": [M], "DI": [M], "SI": [M], ("sigma_max": [M])}``.
    """
    x, y = ds.test
    dev = next(models[0].parameters()).device
    xe, xs, ys = x[: s.n_eval].to(dev), x[: s.n_si].to(dev), y[: s.n_si].to(dev)
    out = {"acc": [100 * accuracy(predict(m, x.to(dev)), y.to(dev)) for m in models],
           "LI": [logit_invariance(m, xe, ds.group) for m in models],
           "DI": [distribution_invariance(m, xe, ds.group) for m in models],
           "SI": [saliency_invariance(m, xs, ds.group, ys, n_steps=s.ig_steps) for m in models]}
    if sensitivity:
        out["sigma_max"] = [jacobian_sigma_max(m, xe) for m in models]
    return out


def pick_nu(sweep: dict[float, dict], target: float) -> float:
    """The smallest nu whose mean SI reaches ``target`` (the paper's rule); else the nu of the highest SI."""
    ok = [nu for nu, r in sorted(sweep.items()) if np.mean(r["SI"]) >= target]
    return ok[0] if ok else max(sweep, key=lambda nu: np.mean(sweep[nu]["SI"]))


def run_group(group_name: str, s: Settings, device: torch.device | str = "cpu", seed: int = 0) -> dict:
    """Table 1 for one group plus the nu sweep that picks IR's nu and the DA models' sigma_max.

    Returns:
        ``{"data": Transforming, "models": {kind: [M modules]}, "table": {kind: metrics},
        "sweep": {nu: metrics}, "nu": chosen nu, "n_params": {kind: int}}``.
    """
    ds = transforming("mnist", group_name, s, seed)
    models = {k: train(k, ds, s, device=device) for k in ("WT", "DA")}
    table = {k: evaluate(models[k], ds, s, sensitivity=k == "DA") for k in models}
    ir_models = train_sweep(ds, s, s.nus, "l2", device)
    sweep = {nu: evaluate(ms, ds, s, sensitivity=True) for nu, ms in ir_models.items()}
    nu = pick_nu(sweep, s.si_target)
    models["IR"], table["IR"] = ir_models[nu], sweep[nu]
    return {"data": ds, "models": models, "table": table, "sweep": sweep, "sweep_models": ir_models, "nu": nu,
            "n_params": {k: count_parameters(v[0]) for k, v in models.items()}}


# --------------------------------------------------------------------------- Fig. 4, 5
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


def run_sensitivity(ds: Transforming, s: Settings, l2_sweep: dict[float, dict],
                    device: torch.device | str = "cpu") -> dict:
    """Fig. 5: sigma_max(J) of IR models with the KL, L2 and normalised-L2 regularisers.

    The L2 sweep is ``run_group``'s; the other two are swept over ``s.nus_other`` here. Each
    regulariser's nu is picked by the same SI >= target rule.

    Returns:
        ``{penalty: {"nu": chosen, "sweep": {nu: metrics}}}``.
    """
    out = {"l2": {"nu": pick_nu(l2_sweep, s.si_target), "sweep": l2_sweep}}
    for kind, nus in s.nus_other.items():
        sweep = {nu: evaluate(ms, ds, s, sensitivity=True) for nu, ms in train_sweep(ds, s, nus, kind, device).items()}
        out[kind] = {"nu": pick_nu(sweep, s.si_target), "sweep": sweep}
    return out


# --------------------------------------------------------------------------- Fig. 2, 3
def orbit_saliency(model: nn.Module, x: Tensor, y: Tensor, group: CyclicGroup, n_steps: int = 32) -> Tensor:
    """Fig. 3: the saliency maps of each orbit member of each sample, realigned with g^-1.

    Args:
        x: ``(B, H, W)``; y: ``(B,)``.
    Returns:
        ``(B, G, H, W)``: ``out[b, g] = g^-1 m_f(g x_b)``.
    """
    G, B = group.order, len(x)
    maps = saliency_map(model, group.orbit(x).reshape(G * B, *x.shape[1:]), y.repeat(G), n_steps)  # (G*B, H, W)
    maps = maps.view(G, B, *x.shape[1:])  # (G, B, H, W)
    return torch.stack([group.act(maps[g], group.inverse(g)) for g in range(G)], 1).detach()  # (B, G, H, W)


def saliency_sweep(r: dict, n: int = 3, n_steps: int = 32) -> dict:
    """Realigned orbit saliency maps of ``n`` test samples for DA, WT and every IR model of the nu sweep.

    Feeds Fig. 3 and the nu widget (member 0 of each ensemble; target: the true class).

    Args:
        r: a ``run_group`` result.
    Returns:
        ``{"images": (n, H, W) untransformed inputs (standardised), "DA"/"WT": (n, G, H, W),
        nu: (n, G, H, W) for each nu of the sweep}``.
    """
    ds = r["data"]
    x, y = ds.test[0][:n], ds.test[1][:n]
    dev = next(r["models"]["DA"][0].parameters()).device
    x, y = x.to(dev), y.to(dev)
    out: dict = {"images": x.cpu()}
    for kind in ("DA", "WT"):
        out[kind] = orbit_saliency(r["models"][kind][0], x, y, ds.group, n_steps).cpu()
    for nu, ms in r["sweep_models"].items():
        out[nu] = orbit_saliency(ms[0], x, y, ds.group, n_steps).cpu()
    return out


def orbit_spread(features: Tensor, labels: Tensor) -> float:
    """C1.6: how far apart one sample's orbit members lie in feature space.

    The mean distance between members of the same orbit divided by the mean distance between
    untransformed samples of the same class: 0 for an invariant representation, about 1 when the
    orbit of one sample is as spread as its whole class.

    Args:
        features: ``(G, B, D)`` features of each orbit member; labels: ``(B,)``.
    """
    G = features.shape[0]
    within = torch.cdist(features.transpose(0, 1), features.transpose(0, 1))  # (B, G, G)
    within = within.sum((1, 2)) / (G * (G - 1))  # (B,)
    d = torch.cdist(features[0], features[0])  # (B, B)
    same = (labels[:, None] == labels[None]) & ~torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    return float(within.mean() / d[same].mean())


def orbit_neighbours(features: Tensor, labels: Tensor) -> dict[str, float]:
    """C1.6: where the nearest neighbour of each transformed sample lies in feature space.

    For every orbit member ``g x_b`` its nearest other point among all ``G * B`` points is found; an
    invariant representation puts it in its own orbit (distance 0), while a representation that
    spreads orbits puts it at another sample of the same class.

    Args:
        features: ``(G, B, D)``; labels: ``(B,)``.
    Returns:
        ``{"same_orbit": fraction whose neighbour is in the same orbit, "same_class": fraction whose
        neighbour has the same label}``.
    """
    G, B, _ = features.shape
    f = features.reshape(G * B, -1).double()  # (G*B, D)
    d = torch.cdist(f, f)  # (G*B, G*B)
    d.fill_diagonal_(float("inf"))
    orbit = torch.arange(B).repeat(G)  # (G*B,) the sample each row belongs to
    lab = labels.cpu().repeat(G)  # (G*B,)
    # ties (identical features: an exactly invariant model) count as the own orbit
    same_orbit = orbit[:, None] == orbit[None]  # (G*B, G*B)
    dmin = d.min(1, keepdim=True).values  # (G*B, 1)
    hit_orbit = ((d <= dmin) & same_orbit).any(1)  # (G*B,)
    nn_idx = d.argmin(1)  # (G*B,)
    return {"same_orbit": float(hit_orbit.double().mean()), "same_class": float((lab[nn_idx] == lab).double().mean())}


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


# --------------------------------------------------------------------------- Proposition 3.1
def linear_flow(W0: Tensor, x: Tensor, group: CyclicGroup, times: Tensor) -> Tensor:
    """Eq. (6): the gradient flow of LI for a linear model h(x) = W x, solved exactly.

    With ``eps = x - g x`` over all samples and g != e, ``Sigma = sum eps eps^T`` and
    ``dW/dt = -W Sigma`` (eq. 5), so ``W(t) = W(0) exp(-Sigma t)``.

    Args:
        W0: ``(K, D)``; x: ``(B, H, W)`` with ``H * W = D``; times: ``(T,)``.
    Returns:
        ``(T,)`` the spectral norms ``||W(t)||_2``.
    """
    eps = (group.orbit(x)[:1] - group.orbit(x)[1:]).flatten(2).flatten(0, 1)  # ((G-1)*B, D)
    sigma = eps.T @ eps  # (D, D)
    lam, U = torch.linalg.eigh(sigma)  # (D,), (D, D)
    decay = torch.exp(-lam.clamp_min(0)[None] * times[:, None])  # (T, D)
    Wt = torch.einsum("kd,de,te,fe->tkf", W0, U, decay, U)  # (T, K, D): W0 U diag(decay) U^T
    return torch.linalg.matrix_norm(Wt, ord=2)  # (T,)


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


# --------------------------------------------------------------------------- tables and figures
def table1(results: dict[str, dict]) -> "pd.DataFrame":
    """Table 1: accuracy (%), LI, DI, SI as mean ± std over seeds, one row per (group, model).

    Args:
        results: ``{group name: run_group(...)}``.
    """
    import pandas as pd
    rows = []
    for g, r in results.items():
        for kind in MODELS:
            m = r["table"][kind]
            row = {"group": r["data"].group.name, "model": kind + (f" (ν={r['nu']:g})" if kind == "IR" else "")}
            for key, fmt in (("acc", "{:.1f}"), ("LI", "{:.2f}"), ("DI", "{:.3f}"), ("SI", "{:.2f}")):
                row[key] = f"{fmt.format(np.mean(m[key]))} ± {fmt.format(np.std(m[key]))}"
            rows.append(row)
    return pd.DataFrame(rows).set_index(["group", "model"])


def plot_nu_sweep(axes, r: dict, target: float) -> None:
    """The nu sweep that chose IR's nu: accuracy, LI and SI (mean ± std over seeds) against nu."""
    nus = sorted(r["sweep"])
    for ax, key, label in zip(axes, ("acc", "LI", "SI"), ("test accuracy (%)", "LI", "SI")):
        m = np.array([np.mean(r["sweep"][nu][key]) for nu in nus])
        sd = np.array([np.std(r["sweep"][nu][key]) for nu in nus])
        ax.errorbar(nus, m, yerr=sd, marker="o", capsize=2, label="IR")
        ax.axhline(np.mean(r["table"]["DA"][key]), color="C1", ls="--", label="DA")
        ax.axvline(r["nu"], color="gray", lw=0.8)
        ax.set(xscale="log", xlabel="ν", ylabel=label, title=r["data"].group.name)
        if key == "SI":
            ax.axhline(target, color="red", lw=0.8, label=f"SI = {target}")
        if key == "LI":
            ax.set_yscale("log")
    axes[0].legend(fontsize=8)


def plot_tsne(ax, ts: dict, n_traced: int = 3) -> None:
    """Fig. 2: t-SNE of the DA model's penultimate features, coloured by class; a few orbits traced."""
    emb, lab, B = ts["embedding"], ts["labels"], ts["n"]
    G = len(emb) // B
    ax.scatter(emb[:, 0], emb[:, 1], c=lab, cmap="tab10", s=6, alpha=0.6, vmin=0, vmax=9)
    for b in range(n_traced):
        pts = emb[np.arange(G) * B + b]  # (G, 2): the orbit of sample b
        ax.plot(*np.vstack([pts, pts[:1]]).T, "k-", lw=1)
        for g, p in enumerate(pts):
            ax.annotate(f"g{g}", p, fontsize=7)
    ax.set(xticks=[], yticks=[], title="DA model: penultimate features (t-SNE); black: one sample's orbit")


def plot_saliency(axes, images: Tensor, maps: dict[str, Tensor]) -> None:
    """Fig. 3: input and realigned saliency maps over the orbit, one row per model.

    Args:
        axes: ``(len(maps), 1 + G)`` array of axes.
        images: ``(G, H, W)`` the orbit of one sample (realigned to g = e for display).
        maps: ``{kind: (G, H, W)}`` realigned saliency maps ``g^-1 m(g x)``.
    """
    for row, (kind, m) in enumerate(maps.items()):
        axes[row, 0].imshow(images[0], cmap="gray")
        axes[row, 0].set_ylabel(kind)
        for g in range(m.shape[0]):
            axes[row, g + 1].imshow(m[g], cmap="Reds")
            if row == 0:
                axes[row, g + 1].set_title(f"g{g}, realigned")
    for ax in axes.flat:
        ax.set(xticks=[], yticks=[])


def plot_drift(axes, drift: dict) -> None:
    """Fig. 4: DI (left) and the accuracy ratio (right) against the drift degree beta, per model."""
    b = drift["betas"]
    for kind in MODELS:
        for ax, key in zip(axes, ("DI", "acc_ratio")):
            v = np.asarray(drift[kind][key])  # (n_beta, M)
            ax.errorbar(b, v.mean(1), yerr=v.std(1), marker="o", ms=3, capsize=2, label=kind)
    axes[0].set(xlabel="drift β (MNIST → FMNIST)", ylabel="DI", title="predictive distribution invariance error")
    axes[1].set(xlabel="drift β (MNIST → FMNIST)", ylabel="Acc(D(β)) / Acc(D(0))", title="accuracy drop ratio")
    axes[0].legend()


def plot_sensitivity(ax, sens: dict[str, dict], da: dict[str, list]) -> None:
    """Fig. 5: sigma_max(J) of DA and of IR with each regulariser (at its chosen nu), per group.

    Args:
        sens: ``{group: run_sensitivity(...)}``; da: ``{group: DA sigma_max per seed}``.
    """
    labels = ["DA", "IR-KL", "IR-L2", "IR-L2/‖f‖²"]
    keys = [None, "kl", "l2", "l2_normalized"]
    width = 0.8 / len(sens)
    for i, (g, sv) in enumerate(sens.items()):
        vals = [da[g]] + [sv[k]["sweep"][sv[k]["nu"]]["sigma_max"] for k in keys[1:]]
        x = np.arange(len(labels)) + i * width
        ax.bar(x, [np.mean(v) for v in vals], width, yerr=[np.std(v) for v in vals], capsize=2, label=g)
    ax.set_xticks(np.arange(len(labels)) + width * (len(sens) - 1) / 2, labels)
    ax.set(ylabel="σ_max(J)", title="input sensitivity")
    ax.legend()


def plot_proposition(ax, prop: dict) -> None:
    """Proposition 3.1: ||W(t)||_2 under the exact gradient flow of LI and under gradient descent."""
    ax.plot(prop["t"], prop["flow"], label="gradient flow, eq. (6)")
    ax.plot(prop["t"], prop["gd"], "--", label=f"gradient descent, step {prop['lr']:.1e}")
    ax.set(xlabel="t", ylabel=r"$\|W(t)\|_2$", title="linear model trained on LI only")
    ax.legend()


def draw_nu(ax, sal: dict, r: dict, nu: float, sample: int = 0) -> None:
    """The nu widget's panel: one sample's realigned orbit saliency for the IR model trained with ``nu``.

    Args:
        sal: ``saliency_sweep`` output; r: the ``run_group`` result it came from.
    """
    maps = sal[nu][sample]  # (G, H, W)
    ax.imshow(torch.cat(list(maps), dim=1), cmap="Reds")  # (H, G*W)
    m = r["sweep"][nu]
    ax.set(xticks=[], yticks=[], xlabel=f"acc {np.mean(m['acc']):.1f}%  LI {np.mean(m['LI']):.3f}  "
                                         f"SI {np.mean(m['SI']):.2f}")


def draw_beta(ax, drift: dict, beta: float, sample: int = 0) -> None:
    """The beta widget's panel: one drifted test image with each model's prediction and its orbit DI."""
    i = drift["betas"].index(beta)
    ax.imshow(drift["examples"]["images"][i][sample], cmap="gray")
    ex = drift["examples"]
    label = ", ".join(f"{k}: {ex[k]['pred'][i][sample]} (DI {ex[k]['DI'][i][sample]:.2f})" for k in MODELS)
    ax.set(xticks=[], yticks=[], xlabel=f"digit {ex['labels'][sample]} → {label}")


def claim_values(results: dict, drift: dict, sens: dict, ts: dict, prop: dict) -> dict[str, float]:
    """The measured value behind each claim of the chapter (C1.1-C1.7), from the runners' outputs.

    Args:
        results: ``{group: run_group(...)}``; drift: ``{group: run_drift(...)}``; sens: ``{group:
            run_sensitivity(...)}``; ts: ``run_tsne(...)`` (R4); prop: ``run_proposition(...)``.
    Returns:
        ``{claim id: value}``: numbers for the threshold claims, fractions of sub-checks for the others.
    """
    from ..claims import fraction_true
    T = {g: r["table"] for g, r in results.items()}
    m = lambda v: float(np.mean(v))  # noqa: E731
    d_checks = []
    for d in drift.values():
        di = {k: np.asarray(d[k]["DI"]).mean(1) for k in MODELS}  # (n_beta,) per model
        d_checks += [di["DA"][-1] > 10 * max(di["WT"][-1], di["IR"][-1]), di["DA"][-1] > di["DA"][0]]
    chosen = lambda sv, k: sv[k]["sweep"][sv[k]["nu"]]  # noqa: E731  the metrics at the chosen nu
    return {
        "C1.1": max(max(m(t["WT"]["LI"]), m(t["WT"]["DI"]), 1 - m(t["WT"]["SI"])) for t in T.values()),
        "C1.2a": max(m(t["WT"]["acc"]) - m(t["DA"]["acc"]) for t in T.values()),
        "C1.2b": fraction_true([c for t in T.values() for c in (m(t["DA"]["LI"]) >= 100 * m(t["IR"]["LI"]),
                                                                 m(t["DA"]["SI"]) <= 0.6)]),
        "C1.3a": min(m(t["IR"]["SI"]) for t in T.values()),
        "C1.3b": fraction_true([m(t["IR"]["acc"]) < m(t["DA"]["acc"]) for t in T.values()]),
        "C1.4": fraction_true(d_checks),
        "C1.5": fraction_true([m(chosen(sv, k)["sigma_max"]) < m(T[g]["DA"]["sigma_max"])
                               for g, sv in sens.items() for k in ("kl", "l2", "l2_normalized")]),
        "C1.6": ts["neighbours"]["DA"]["same_orbit"],
        "C1.7": max(prop["max_increase_flow"], prop["max_increase_gd"]),
    }


def record_frame(rec: dict, extension: dict | None = None):
    """A committed run's models in one table: WT and DA, then every IR model of every regulariser's sweep.

    Feeds the chapter's discussion of a recorded run (e.g. the standard profile's) on a page built in
    another profile.

    Args:
        rec: a chapter-1 ``results.json`` (``records.recorded(...)[profile]``).
        extension: optional ``l2_normalized_extension.json`` (normalised L2 on R4 beyond the grid).
    Returns:
        A DataFrame indexed by (group, model, penalty, nu) with seed means of acc (%), LI, SI,
        sigma_max and a ``chosen`` flag (the nu the SI rule picked).
    """
    import pandas as pd

    n, rows = rec["numbers"], []

    def row(g, model, penalty, nu, r, chosen=False):
        rows.append({"group": g, "model": model, "penalty": penalty, "nu": nu, "chosen": chosen,
                     **{k: float(np.mean(r[k])) for k in ("acc", "LI", "SI", "sigma_max") if k in r}})

    for g, t in n["table1"].items():
        for kind in ("WT", "DA"):
            row(g, kind, "", 0.0, t[kind])
        for pen, sv in n["sensitivity"][g].items():
            for nu, r in sv["sweep"].items():
                row(g, "IR", pen, float(nu), r, chosen=float(nu) == float(sv["nu"]))
    if extension is not None:
        for nu, r in extension["by_nu"].items():
            row("rot4", "IR", "l2_normalized", float(nu), r)
    return pd.DataFrame(rows).set_index(["group", "model", "penalty", "nu"]).sort_index()
