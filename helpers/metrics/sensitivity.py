"""Input sensitivity of a network (ch1 Sec. 4.4, Fig. 5): the largest singular value of its input Jacobian.

    sigma_max(J_f(x)),   J_f(x) = d f(x) / d x  in R^{K x D}

averaged over samples. Invariance regularisation lowers it ("invariance-induced spectral decay",
Proposition 3.1 for linear models, where J = W).

sigma_max is computed as the square root of the largest eigenvalue of the small K x K Gram matrix
J J^T (in float64), not by an SVD of the K x D Jacobian: the same number, but a batched symmetric
eigensolver of 9 x 9 matrices instead of one SVD per sample, which on a GPU was the slowest part of
chapter 1 (cuSOLVER has no batched SVD for 9 x 1296 matrices).
"""
from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.func import jacrev, vmap

from .checks import check_batch

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
    if x.ndim < 2:
        raise ValueError(f"x must be a batch (B, ...), got shape {tuple(x.shape)}")
    check_batch("x", x)

    def single(xi: Tensor) -> Tensor:
        return model(xi[None])[0]  # (K,)

    sig = []
    for xc in torch.split(x, chunk_size):
        J = vmap(jacrev(single))(xc).flatten(2).double()  # (b, K, D)
        gram = J @ J.transpose(1, 2)  # (b, K, K), symmetric positive semi-definite
        sig.append(torch.linalg.eigvalsh(gram)[:, -1].clamp_min(0).sqrt())  # (b,) largest singular values
    return float(torch.cat(sig).mean().detach())
