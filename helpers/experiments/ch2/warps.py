"""The first layer's warps (ch2, Sec. 3.2): a sampled transformation ``T`` acts on the weights, each row of ``W1``
viewed as an image (``transform_weights``: ``A_T w``, bilinear resampling with zeros outside and a small blur).

The warp ``A_T`` is linear, so

    <A_T w, x> = <w, A_T^T x>                                                         (adjoint)

and ``InvariantNet`` computes the same pre-activations with the adjoint warp of its *inputs* (``warp_inputs``):
B images are resampled instead of D weight images, and the gradient into learned weights is a matrix product
instead of a scatter through every warp (1.7-3.0x a step on a CPU at the standard profile's sizes,
``benchmarks.ch2_step --compare``). ``adjoint_warp`` is ``A^T`` with gradients in its input and its grid.

Warp convention: ``helpers.transforms.affine_warp`` (``out(p) = w(T p)`` in normalized coordinates).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from ...transforms import blur

__all__ = ["blur_is_identity", "blur_weights", "transform_weights", "filter_gain", "adjoint_warp", "warp_inputs"]


def _check_matrices(matrices: Tensor) -> tuple[int, int]:
    """``(M, S)`` of ``(M, S, 3, 3)`` transformation matrices; a ValueError naming the shape otherwise."""
    if matrices.ndim != 4 or matrices.shape[-2:] != (3, 3):
        raise ValueError(f"matrices must be (M, S, 3, 3), got shape {tuple(matrices.shape)}")
    return matrices.shape[0], matrices.shape[1]


def blur_is_identity(sigma: float, dtype: torch.dtype = torch.float32) -> bool:
    """Whether a blur of ``sigma`` pixels is the identity to ``dtype``'s precision: the nearest tap's relative weight
    ``exp(-1 / (2 sigma^2))`` is below ``1e-3 * eps`` (for the paper's sigma 0.1 the outer taps weigh ``e^-50``)."""
    return sigma == 0 or math.exp(-0.5 / sigma**2) < 1e-3 * torch.finfo(dtype).eps


def blur_weights(weights: Tensor, sigma: float) -> Tensor:
    """Gaussian blur of weight images to band-limit them before resampling (Sec. 4: sigma 0.1).

    Args:
        weights: ``(..., C, H, W)``.
        sigma: standard deviation in pixels (``helpers.transforms.blur``, ``2 * ceil(3 sigma) + 1`` taps); skipped
            where ``blur_is_identity`` (the same numbers at half the cost of a training step; a test checks it).

    Returns:
        The same shape.
    """
    if sigma < 0:
        raise ValueError(f"blur sigma must be >= 0, got {sigma}")
    if blur_is_identity(sigma, weights.dtype):
        return weights
    shape = weights.shape
    return blur(weights.reshape(-1, *shape[-3:]), sigma).reshape(shape)  # (N, C, H, W) -> (..., C, H, W)


def transform_weights(weights: Tensor, matrices: Tensor, blur_sigma: float = 0.1) -> Tensor:
    """Warp every first-layer weight row, viewed as an image, by every sampled transformation.

    ``out[m, s, d] = blur(weights[m, d]) o T[m, s]`` (bilinear ``grid_sample``, zeros outside,
    the ``helpers.transforms.affine_warp`` convention), the weight-space form of transforming the
    input (Sec. 3.2).

    Args:
        weights: ``(M, D, C, H, W)``, or ``(1, D, C, H, W)`` shared by the members.
        matrices: ``(M, S, 3, 3)``.
        blur_sigma: Gaussian blur in pixels applied before the warp.

    Returns:
        ``(M, S, D, C, H, W)``.
    """
    if weights.ndim != 5:
        raise ValueError(f"weights must be (M, D, C, H, W), got shape {tuple(weights.shape)}")
    M, S = _check_matrices(matrices)
    if weights.shape[0] not in (1, M):
        raise ValueError(f"weights have {weights.shape[0]} members, matrices {M}")
    Mw, D, C, H, W = weights.shape
    # One grid_sample call without copying the weights per sample: the S sampling grids of a member
    # are stacked along the height axis, so member m's D*C weight channels are read once.
    grid = F.affine_grid(matrices.reshape(M * S, 3, 3)[:, :2].to(weights), [M * S, 1, H, W],
                         align_corners=False)  # (M*S, H, W, 2)
    grid = grid.reshape(Mw, (M // Mw) * S * H, W, 2)  # (M', M/M' * S * H, W, 2)
    w = blur_weights(weights, blur_sigma).reshape(Mw, D * C, H, W)  # (M', D*C, H, W)
    out = F.grid_sample(w, grid, mode="bilinear", padding_mode="zeros", align_corners=False)  # (M', D*C, S'*H, W)
    out = out.reshape(Mw, D, C, (M // Mw) * S, H, W).permute(0, 3, 1, 2, 4, 5)  # (M', S', D, C, H, W) view
    return out.reshape(M, S, D, C, H, W)  # (M, S, D, C, H, W), a strided view for C = 1


def filter_gain(weights: Tensor, matrices: Tensor, blur_sigma: float = 0.1, metric: Tensor | None = None) -> Tensor:
    """``|w_d| / |A_T w_d|``: the factor that gives every warped weight image its size back, in the Euclidean norm or,
    with ``metric`` ``C``, in ``|v|_C = sqrt(v^T C v)``.

    Bilinear resampling averages neighbouring pixels, so a warp off the pixel grid shrinks a weight image (white-noise
    RFF rows keep ~0.37 of their norm^2 at 45 degrees, all of it at 0 and 90): a fixed eta > 0 then also widens the
    RBF kernel, not only makes it invariant (issue 39, item 5, the base-kernel confound). The averaging removes
    mostly high spatial frequencies, where digits have little energy; with ``C`` the training images' covariance,
    ``|w|_C`` is the spread of the pre-activation ``w . x`` over the data, which sets the kernel's width there.
    Differentiable in ``matrices``.

    Args:
        weights: ``(M, D, C, H, W)``, or ``(1, D, C, H, W)`` shared by the members.
        matrices: ``(M, S, 3, 3)``.
        blur_sigma: the Gaussian blur of ``transform_weights``, in pixels.
        metric: ``(P, P)`` symmetric positive semi-definite, ``P = C * H * W``; None: the Euclidean norm.

    Returns:
        ``(M, S, D)``.
    """
    M, _ = _check_matrices(matrices)

    def size(v: Tensor) -> Tensor:  # (..., P) -> (...)
        return v.norm(dim=-1) if metric is None else ((v @ metric) * v).sum(-1).clamp_min(0).sqrt()

    ref = size(weights.flatten(2))  # (M or 1, D)
    out = []
    for m in range(M):  # one member at a time: S * D warped images, not M * S * D
        k = 0 if weights.shape[0] == 1 else m
        warped = transform_weights(weights[k:k + 1], matrices[m:m + 1], blur_sigma)  # (1, S, D, C, H, W)
        out.append(ref[k] / size(warped.flatten(3)).clamp_min(torch.finfo(weights.dtype).tiny))  # (1, S, D)
    return torch.cat(out)  # (M, S, D)


class _AdjointWarp(torch.autograd.Function):
    """``A^T x`` for the bilinear warp ``A`` of ``grid`` (``F.grid_sample``, zeros outside, ``align_corners=False``):
    the input gradient of ``grid_sample`` taken as a function of its output-side values, with gradients into both
    ``x`` (``A g``) and ``grid`` (that of ``<A g, x>``)."""

    @staticmethod
    def forward(ctx, x: Tensor, grid: Tensor) -> Tensor:
        ctx.save_for_backward(x, grid)
        out, _ = torch.ops.aten.grid_sampler_2d_backward(x, x, grid, 0, 0, False, [True, False])
        return out

    @staticmethod
    def backward(ctx, g: Tensor):
        x, grid = ctx.saved_tensors
        gx = gg = None
        if ctx.needs_input_grad[0]:
            gx = F.grid_sample(g, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        if ctx.needs_input_grad[1]:  # d<A(grid)^T x, g>/dgrid = d<A(grid) g, x>/dgrid
            _, gg = torch.ops.aten.grid_sampler_2d_backward(x, g.contiguous(), grid, 0, 0, False, [False, True])
        return gx, gg


def adjoint_warp(x: Tensor, grid: Tensor) -> Tensor:
    """The adjoint of the bilinear warp: ``<F.grid_sample(w, grid), x> = <w, adjoint_warp(x, grid)>`` for every
    ``w`` (zeros outside the image, ``align_corners=False``), differentiable in ``x`` and ``grid``.

    Args:
        x: ``(N, C, H, W)``, on the sampling grid's positions.
        grid: ``(N, H, W, 2)``, as for ``F.grid_sample`` (here the output has the input's size).

    Returns:
        ``(N, C, H, W)``.
    """
    if x.ndim != 4 or grid.ndim != 4 or grid.shape[:3] != (x.shape[0], *x.shape[2:]) or grid.shape[-1] != 2:
        raise ValueError(f"x must be (N, C, H, W) and grid (N, H, W, 2) of the same N, H, W; got "
                         f"{tuple(x.shape)} and {tuple(grid.shape)}")
    return _AdjointWarp.apply(x.contiguous(), grid)


def warp_inputs(x: Tensor, matrices: Tensor, blur_sigma: float = 0.1) -> Tensor:
    """The inputs moved through the adjoint of ``transform_weights``: for every weight image ``w``,
    ``<transform_weights(w, T)[m, s], x[b]> = <w, warp_inputs(x, T)[m, s, b]>`` (the blur is symmetric).

    Args:
        x: ``(B, C, H, W)``.
        matrices: ``(M, S, 3, 3)``.
        blur_sigma: the Gaussian blur of ``transform_weights``, in pixels.

    Returns:
        ``(M, S, B, C, H, W)``.
    """
    M, S = _check_matrices(matrices)
    B, C, H, W = x.shape
    grid = F.affine_grid(matrices.reshape(M * S, 3, 3)[:, :2].to(x), [M * S, 1, H, W], align_corners=False)
    xs = x.reshape(1, B * C, H, W).expand(M * S, B * C, H, W)  # (M*S, B*C, H, W): every image under every grid
    out = adjoint_warp(xs, grid).reshape(M, S, B, C, H, W)  # (M, S, B, C, H, W)
    return blur_weights(out, blur_sigma)
