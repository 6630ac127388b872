"""Filter banks (Figs. 3, 4, 6): stored first-layer weights, viewed as images, under sampled transformations.

A bank shows each weight row ``w`` warped by ``T(eps) = exp(sum_i eps_i eta_i G_i)`` (eq. 3) for a few
deterministic ``eps`` (Sec. 3.4), the copies the network averages over. These functions draw from stored
arrays (numpy arrays or tensors) and train nothing.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .invariant_weights import transformation_matrices
from .warps import transform_weights

__all__ = ["filter_bank", "bank_image", "bank_over_training"]


@torch.no_grad()
def filter_bank(weights: Tensor, eta: Tensor, eps: Tensor, blur_sigma: float = 0.1) -> Tensor:
    """Transformed copies of weight images: one row per weight, one column per sample.

    Args:
        weights: ``(R, C, H, W)`` weight rows viewed as images.
        eta: ``(6,)`` invariance parameters.
        eps: ``(S, 6)`` noise (``linspace_eps`` for deterministic, ``uniform_eps`` for stochastic samples).

    Returns:
        ``(R, S, C, H, W)``.
    """
    weights, eta = torch.as_tensor(weights, dtype=torch.float32), torch.as_tensor(eta, dtype=torch.float32)
    T = transformation_matrices(eta.reshape(1, 6), eps)  # (1, S, 3, 3)
    return transform_weights(weights.unsqueeze(0), T, blur_sigma)[0].transpose(0, 1)  # (R, S, C, H, W)


def bank_image(weights: Tensor, eta: Tensor, samples: int = 7, blur_sigma: float = 0.1,
               dims: tuple[int, ...] = (0, 1, 2, 3, 4, 5)) -> Tensor:
    """Figs. 3/4: a filter bank as one image: rows are weights, columns the deterministic samples
    ``T(eps)`` with eps on a linspace grid, the same value for every generator in ``dims`` at once
    (eta sets the ranges; the other generators stay 0).

    Args:
        weights: ``(R, 1, H, W)``; eta: ``(6,)``.
    Returns:
        ``(R * H, samples * W)``, each weight scaled to [-1, 1].
    """
    eps = torch.zeros(samples, 6)  # (S, 6) one path through the group
    eps[:, list(dims)] = torch.linspace(-1, 1, samples)[:, None]
    bank = filter_bank(weights, eta, eps.contiguous(), blur_sigma)[:, :, 0]  # (R, S, H, W)
    bank = bank / bank.flatten(1).abs().max(1).values.clamp_min(1e-12)[:, None, None, None]
    R, S, H, W = bank.shape
    return bank.permute(0, 2, 1, 3).reshape(R * H, S * W)  # (R*H, S*W)


def bank_over_training(eta: Tensor | np.ndarray, weights: Tensor | np.ndarray, shape: tuple[int, ...] = (1, 28, 28), samples: int = 7,
                       blur_sigma: float = 0.1) -> Tensor:
    """Fig. 3: one weight's deterministically sampled filter bank at each snapshot of training.

    Row t shows the weight at snapshot t under ``samples`` rotations equally spaced between -eta_rot and
    +eta_rot (its member's eta_rot at that time; eps on a linspace grid).

    Args:
        eta: ``(T, 6)``: the member's eta at each snapshot (only eta_rot is used).
        weights: ``(T, P)``: the weight at each snapshot; shape: ``(C, H, W)`` of a weight image (C = 1 shown).

    Returns:
        ``(T * H, samples * W)``.
    """
    eta, weights = torch.as_tensor(eta, dtype=torch.float32), torch.as_tensor(weights, dtype=torch.float32)
    rot = torch.zeros(len(eta), 6)  # (T, 6): eta_rot only
    rot[:, 2] = eta[:, 2]
    return torch.cat([bank_image(w.reshape(1, *shape)[:1], r, samples, blur_sigma, dims=(2,))  # (H, samples * W)
                      for r, w in zip(rot, weights)])  # (T*H, samples*W)
