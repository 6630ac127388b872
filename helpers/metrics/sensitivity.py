"""Input sensitivity of a network (ch1 Sec. 4.4, Fig. 5): the largest singular value of its input Jacobian.

    sigma_max(J_f(x)),   J_f(x) = d f(x) / d x  in R^{K x D}

averaged over samples. Invariance regularisation lowers it ("invariance-induced spectral decay",
Proposition 3.1 for linear models, where J = W).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.func import jacrev, vmap

__all__ = ["jacobian_sigma_max"]


def jacobian_sigma_max(model: nn.Module, x: Tensor, chunk_size: int = 256) -> float:
    """Mean over samples of sigma_max of d logits / d input (torch.func ``vmap(jacrev)``).

    Args:
        model: ``(N, ...) -> (N, K)`` without interaction between samples (no BatchNorm in train mode).
        x: ``(B, ...)``.
        chunk_size: samples per vmapped Jacobian call (memory bound ``chunk * K * D``).
    Returns:
        The mean of ``||J_f(x_b)||_2`` over the B samples.
    """
    if x.ndim < 2 or len(x) == 0:
        raise ValueError(f"x must be a non-empty batch (B, ...), got shape {tuple(x.shape)}")

    def single(xi: Tensor) -> Tensor:
        return model(xi[None])[0]  # (K,)

    sig = []
    for xc in torch.split(x, chunk_size):
        J = vmap(jacrev(single))(xc).flatten(2)  # (b, K, D)
        sig.append(torch.linalg.matrix_norm(J, ord=2))  # (b,)
    return float(torch.cat(sig).mean().detach())
