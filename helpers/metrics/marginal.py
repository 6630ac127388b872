"""The rotation a marginal likelihood prefers for a trained network: chapter 2's objective read as a probe.

Chapter 2 (van der Ouderaa & van der Wilk 2022) makes a network invariant by averaging its class probabilities
over transformations drawn from ``p_eta`` (eq. 6) and chooses ``eta`` by the ELBO (eq. 9). Here the network ``f``
is trained already and kept fixed; it is averaged over rotations of the *input*, with the deterministic grid of
Sec. 3.4 (``theta_i = eta * e_i``, ``e = linspace(-1, 1, S)``):

    f_hat(x; eta) = 1/S sum_i softmax(f(R_{theta_i} x))                                   (eq. 6)
    L(eta)        = 1/N sum_n log f_hat(x_n; eta)[y_n]                                       (eq. 9, KL = 0)

With the weights a point estimate (the maximum-likelihood variant of Sec. 4.1) eq. 9's KL term is 0 and the
ELBO is this log-likelihood; on the network's training data it is the marginal likelihood's data fit. The
*preferred* eta is the grid value with the highest ``L``: 0 for a network that rotations hurt, large for one they
leave unchanged or help. A network exactly invariant to every rotation has a flat ``L``.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import torch
from torch import Tensor

from ..transforms import rotate

__all__ = ["orbit_log_likelihood", "preferred_rotation"]

Model = Callable[[Tensor], Tensor]


@torch.no_grad()
def orbit_log_likelihood(model: Model, x: Tensor, y: Tensor, etas: Sequence[float], points: int = 16,
                         batch_size: int = 1000) -> Tensor:
    """``L(eta)`` above for every ``eta`` of ``etas`` (radians).

    Args:
        model: ``(B, *image) -> (B, K)`` logits (or log-probabilities).
        x: ``(N, H, W)`` or ``(N, C, H, W)`` images; y: ``(N,)`` labels, on the model's device.
        etas: K half-widths of the rotation interval, radians, each >= 0.
        points: S, the grid points in ``[-eta, eta]`` (endpoints included).

    Returns:
        ``(K,)`` mean log-likelihood per point, float64.

    Raises:
        ValueError: a negative eta, ``points < 1``, or x and y of different lengths.
    """
    etas = [float(e) for e in etas]
    if not etas or min(etas) < 0:
        raise ValueError(f"etas must be a non-empty list of half-widths >= 0 (radians), got {etas}")
    if points < 1:
        raise ValueError(f"points must be >= 1, got {points}")
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must have one non-zero length, got {len(x)} and {len(y)}")
    grid = torch.linspace(-1.0, 1.0, points) if points > 1 else torch.zeros(1)  # (S,)
    out = torch.zeros(len(etas), dtype=torch.float64)
    for k, eta in enumerate(etas):
        total = 0.0
        for i in range(0, len(x), batch_size):
            xb, yb = x[i:i + batch_size], y[i:i + batch_size]  # (B, ...), (B,)
            logp = torch.stack([torch.log_softmax(model(rotate(xb, float(eta * e)) if eta * e else xb), -1)
                                for e in grid.tolist()])  # (S, B, K)
            logf = torch.logsumexp(logp.double(), 0) - math.log(points)  # (B, K): log f_hat
            total += float(logf.gather(-1, yb[:, None]).sum())
        out[k] = total / len(x)
    return out


def preferred_rotation(model: Model, x: Tensor, y: Tensor, etas: Sequence[float], points: int = 16) -> dict:
    """The grid ``eta`` with the highest ``orbit_log_likelihood`` (the first, if several tie).

    Returns:
        ``{"etas": (K,) radians, "log_lik": (K,), "eta": radians, "gain": L(eta) - L(0) (0 if 0 is not in
        etas)}``.
    """
    ll = orbit_log_likelihood(model, x, y, etas, points)  # (K,)
    k = int(torch.argmax(ll))
    etas = [float(e) for e in etas]
    gain = float(ll[k] - ll[etas.index(0.0)]) if 0.0 in etas else 0.0
    return {"etas": etas, "log_lik": ll.tolist(), "eta": etas[k], "gain": gain}
