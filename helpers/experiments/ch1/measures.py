"""What chapter 1 measures on trained models: Table 1's columns (accuracy, LI, DI, SI, sigma_max), the nu rule,
realigned orbit saliency (Fig. 3), where orbits lie in feature space (Fig. 2, C1.6) and the exact gradient flow
of LI for a linear model (eq. 6). The metrics themselves are ``helpers.metrics``'."""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from ...groups import CyclicGroup
from ...metrics import (distribution_invariance, jacobian_sigma_max, logit_invariance, saliency_invariance,
                        saliency_map)
from ...training import accuracy, predict
from .data import Transforming
from .settings import Settings

__all__ = ["evaluate", "pick_nu", "orbit_saliency", "orbit_spread", "orbit_neighbours", "linear_flow"]


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
