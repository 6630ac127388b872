"""Invariance of a classifier to a finite group (Moskalev et al. 2023, ch1): DI, LI and SI.

For a classifier ``f`` with logits, a finite group ``G`` acting on inputs and data ``D``:

    DI_f(D, G) = mean_{x ~ D} mean_{g != e} KL(u_x || q_gx)                         (eq. 1)
    LI_f(D, G) = mean_{x ~ D} mean_{g != e} 1/2 || f(x) - f(gx) ||_2^2                (eq. 2)
    SI_f(D, G) = mean_{x ~ D} mean_{g != e} cos(m_f(x), g^-1 m_f(gx))                 (eq. 3)

with ``u_x``, ``q_gx`` the softmax of ``f(x)`` and ``f(gx)`` and ``m_f`` a saliency map. The paper writes
sums over the whole group; we average, and leave the identity out: with it SI could not fall below
``1/|G|`` (0.25 for R4), yet the paper's Table 1 reports 0.17 (see docs/architecture.md, *Public names kept
stable*). Every metric makes one forward (or one attribution) pass over the stacked orbit ``(G*B, ...)``.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..groups import CyclicGroup

__all__ = ["PENALTIES", "orbit_logits", "invariance_penalty", "distribution_invariance", "logit_invariance",
           "saliency_map", "saliency_postprocess", "orbit_saliency", "saliency_invariance"]

from .checks import check_batch

PENALTIES = ("kl", "l2", "l2_normalized")

Model = Callable[[Tensor], Tensor]


def _check_group_input(x: Tensor, group: CyclicGroup) -> None:
    if not isinstance(group, CyclicGroup):
        raise TypeError(f"group must be a helpers.groups group (ROT4, TRANS3), got {type(group).__name__}")
    if x.ndim < 3:
        raise ValueError(f"x must be images (B, [C,] H, W), got shape {tuple(x.shape)}")
    check_batch("x", x)


@torch.no_grad()
def orbit_logits(model: Model, x: Tensor, group: CyclicGroup, batch_size: int = 8192) -> Tensor:
    """Logits of every transformed copy of every sample, in one pass over the stacked orbit.

    Args:
        model: ``(N, ...) -> (N, K)``.
        x: ``(B, ..., H, W)``.
        group: acts on the last two dims.
    Returns:
        ``(G, B, K)``; ``[0]`` is the identity.
    """
    _check_group_input(x, group)
    orbit = group.orbit(x)  # (G, B, ..., H, W)
    flat = orbit.reshape(-1, *x.shape[1:])  # (G*B, ..., H, W)
    out = torch.cat([model(c) for c in torch.split(flat, batch_size)])  # (G*B, K)
    return out.view(group.order, len(x), -1)  # (G, B, K)


def invariance_penalty(z: Tensor, kind: str = "l2") -> Tensor:
    """Invariance error of orbit logits, differentiable: the one definition behind DI, LI and the IR losses.

    With ``z[g] = f(g x)`` and ``z[0] = f(x)``, the mean over samples and g != e of

    - ``"kl"``: ``KL(softmax f(x) || softmax f(gx))``, eq. (1) (DI);
    - ``"l2"``: ``1/2 ||f(x) - f(gx)||_2^2``, eq. (2) (LI);
    - ``"l2_normalized"``: ``||f(x) - f(gx)||_2^2 / ||f(x)||_2^2`` (Sec. 4.4's third regulariser).

    Used as the regulariser ``I_f`` of eq. (4): ``min_theta L_f(D) + nu I_f(D, G)``.

    Args:
        z: ``(G, B, K)`` logits over the orbit, identity first.
        kind: one of ``PENALTIES``.
    Returns:
        A scalar tensor (vmap-safe: no Python control flow on values).
    """
    if kind not in PENALTIES:
        raise ValueError(f"unknown invariance penalty {kind!r}; valid: {list(PENALTIES)}")
    if z.ndim != 3 or z.shape[0] < 2:
        raise ValueError(f"z must be orbit logits (G >= 2, B, K), got shape {tuple(z.shape)}")
    if kind == "kl":
        logp = F.log_softmax(z, dim=-1)  # (G, B, K)
        return (logp[0].exp() * (logp[0] - logp[1:])).sum(-1).mean()  # mean of (G-1, B) KL(u_x || q_gx)
    sq = (z[1:] - z[0]).pow(2).sum(-1)  # (G-1, B)
    if kind == "l2":
        return 0.5 * sq.mean()
    return (sq / z[0].pow(2).sum(-1).clamp_min(1e-12)).mean()


def distribution_invariance(model: Model, x: Tensor, group: CyclicGroup) -> float:
    """DI, eq. (1): mean KL divergence between softmax(f(x)) and softmax(f(gx)), g != e.

    Args:
        model: ``(N, ..., H, W) -> (N, K)``.
        x: ``(B, ..., H, W)``.
        group: ``ROT4`` or ``TRANS3``.
    Returns:
        DI >= 0 (0 for an exactly invariant model).
    """
    return float(invariance_penalty(orbit_logits(model, x, group).double(), "kl"))


def logit_invariance(model: Model, x: Tensor, group: CyclicGroup) -> float:
    """LI, eq. (2): mean of ``1/2 ||f(x) - f(gx)||^2`` over samples and g != e.

    Args:
        model: ``(N, ..., H, W) -> (N, K)``.
        x: ``(B, ..., H, W)``.
        group: ``ROT4`` or ``TRANS3``.
    Returns:
        LI >= 0 (0 for an exactly invariant model).
    """
    return float(invariance_penalty(orbit_logits(model, x, group).double(), "l2"))


def saliency_map(model: nn.Module, x: Tensor, target: Tensor, n_steps: int = 32) -> Tensor:
    """The saliency map m_f of ch1 (Sec. 4.1): |integrated gradients|, top-10 % kept, Gaussian-smoothed.

    Integrated gradients (captum) of the ``target`` logit from an all-zeros baseline (the paper names
    none; zero is the mean of standardised inputs' padding and captum's default); absolute values; values
    below 0.9 of each map's maximum set to 0; a Gaussian filter, kernel 3, sigma 1, with circular padding
    (so that smoothing commutes with the cyclic shifts of T3 as well as with rot90: a genuinely invariant
    model then scores SI = 1 exactly; zero or reflect padding would not commute with T3).

    Args:
        model: ``(N, ..., H, W) -> (N, K)``.
        x: ``(N, ..., H, W)``.
        target: ``(N,)`` class indices.
    Returns:
        ``(N, ..., H, W)``.
    """
    from captum.attr import IntegratedGradients
    ig = IntegratedGradients(model)
    attr = ig.attribute(x, baselines=torch.zeros_like(x), target=target, n_steps=n_steps,
                        internal_batch_size=4096)  # (N, ..., H, W)
    return saliency_postprocess(attr)


def saliency_postprocess(attr: Tensor) -> Tensor:
    """The post-processing of m_f (Sec. 4.1): absolute values, values below 0.9 of each map's maximum set
    to 0, then a 3x3 Gaussian filter (sigma 1) with circular padding.

    Args:
        attr: ``(N, ..., H, W)`` attributions, one map per leading index.
    Returns:
        The same shape.
    """
    attr = attr.abs()
    peak = attr.flatten(1).max(1).values.view(-1, *[1] * (attr.ndim - 1))  # (N, 1, ..., 1)
    attr = torch.where(attr >= 0.9 * peak, attr, torch.zeros_like(attr))  # keep the top values
    flat = F.pad(attr.reshape(-1, 1, *attr.shape[-2:]), (1, 1, 1, 1), mode="circular")  # (N*C, 1, H+2, W+2)
    t = torch.tensor([-1.0, 0.0, 1.0], dtype=attr.dtype, device=attr.device)
    k1 = torch.exp(-t**2 / 2)
    k1 = k1 / k1.sum()  # (3,), Gaussian with sigma 1
    return F.conv2d(flat, (k1[:, None] * k1[None, :])[None, None]).view_as(attr)  # (N, ..., H, W)


def orbit_saliency(model: nn.Module, x: Tensor, group: CyclicGroup, y: Tensor, n_steps: int = 32) -> Tensor:
    """The saliency maps of every orbit member realigned with g^-1 (eq. 3; ch1's Fig. 3), one captum call over the
    stacked orbit: ``x (B, ..., H, W)``, ``y (B,)`` -> ``(G, B, ..., H, W)``, ``out[g, b] = g^-1 m_f(g x_b)``."""
    G, B = group.order, len(x)
    orbit = group.orbit(x).reshape(G * B, *x.shape[1:])  # (G*B, ..., H, W)
    maps = saliency_map(model, orbit, y.repeat(G), n_steps).view(G, B, *x.shape[1:])  # (G, B, ..., H, W)
    return torch.stack([group.act(maps[g], group.inverse(g)) for g in range(G)])  # (G, B, ..., H, W)


def saliency_invariance(model: nn.Module, x: Tensor, group: CyclicGroup, y: Tensor | None = None,
                        n_steps: int = 32) -> float:
    """SI, eq. (3): mean cosine between m_f(x) and g^-1 m_f(gx) over samples and g != e.

    One captum call over the stacked orbit. Attributions are for the true class ``y`` when given,
    otherwise for the class the model predicts for the untransformed ``x`` (the same class for every
    member of the orbit, so that the maps explain the same decision).

    Args:
        model: ``(N, ..., H, W) -> (N, K)``.
        x: ``(B, ..., H, W)``.
        group: ``ROT4`` or ``TRANS3``.
        y: ``(B,)`` true classes, or None for the predicted class of ``x``.
        n_steps: integration steps of integrated gradients.
    Returns:
        SI in [0, 1] (1 for an exactly invariant model).
    """
    _check_group_input(x, group)
    if y is None:
        y = orbit_logits(model, x, group)[0].argmax(-1)  # (B,)
    aligned = orbit_saliency(model, x, group, y, n_steps)  # (G, B, ..., H, W)
    cos = F.cosine_similarity(aligned[1:].flatten(2), aligned[0].flatten(1)[None], dim=-1, eps=1e-12)  # (G-1, B)
    return float(cos.mean())
