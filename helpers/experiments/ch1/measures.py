"""What chapter 1 measures on trained models: Table 1's columns (accuracy, LI, DI, SI, sigma_max), where orbits
lie in feature space (Fig. 2, C1.6) and the exact gradient flow of LI for a linear model (eq. 6). The metrics
themselves (and Fig. 3's realigned orbit saliency, ``metrics.orbit_saliency``) are ``helpers.metrics``'."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from ...groups import CyclicGroup
from ...metrics import output_lens
from .data import Transforming
from .settings import Settings

__all__ = ["evaluate", "orbit_spread", "orbit_neighbours", "linear_flow"]


def evaluate(models: list[nn.Module], ds: Transforming, s: Settings, sensitivity: bool = False) -> dict:
    """Table 1's columns for each member on ``ds``'s test split (``metrics.output_lens`` with the profile's
    ``n_eval``, ``n_si`` and ``ig_steps``): test accuracy (%), LI, DI, SI (and sigma_max if asked).

    Returns:
        ``{"acc": [M], "LI": [M], "DI": [M], "SI": [M], ("sigma_max": [M])}``.
    """
    return output_lens(models, ds.test, ds.group, s.n_eval, s.n_si, s.ig_steps, sensitivity)


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
