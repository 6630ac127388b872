"""Chapter 2's fast training step (issue 39): the reference step's numbers (float32, the same noise) with less work.

``InvariantNet``'s reference step (``forward`` / ``neg_elbo`` with ``fast=False``) is written for clarity; on a
CPU most of its time went to memory traffic rather than arithmetic (``benchmarks.ch2_step``'s profile of the
standard sweep: 22 % in the first layer's matrix product). This module computes the same quantities with fewer
passes over memory: the packed Cholesky product one contiguous row segment at a time (``packed_lower_matvec``),
``||off||^2`` and the features with one-pass gradients (``squared_norm``, ``cos_features``, ``relu_features``), the
adjoint warp fused with the first layer, its grid gradient only for the members whose eta is learned
(``warped_linear``), and the output layer as one batched product with the bias added (``output_log_probs``).
``fit_sweep`` also uses Adam's fused implementation. A test checks that the two steps give the same ELBO and
gradient to float32 round-off.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd import Function

__all__ = ["packed_lower_matvec", "squared_norm", "warped_linear", "cos_features", "relu_features", "learned_runs"]


class _PackedLowerMatvec(Function):
    @staticmethod
    def forward(ctx, off: Tensor, eps: Tensor) -> Tensor:
        R, D = eps.shape
        out = off.new_zeros(D, R)  # row i of the transpose is contiguous
        for i in range(1, D):
            s = i * (i - 1) // 2
            torch.linalg.vecdot(off[:, s:s + i], eps[:, :i], out=out[i])
        ctx.save_for_backward(eps)
        ctx.P = off.shape[1]
        return out.t()  # (R, D)

    @staticmethod
    def backward(ctx, g: Tensor):
        (eps,) = ctx.saved_tensors
        R, D = eps.shape
        goff = None
        if ctx.needs_input_grad[0]:
            goff = g.new_empty(R, ctx.P)
            for i in range(1, D):
                s = i * (i - 1) // 2
                torch.mul(g[:, i:i + 1], eps[:, :i], out=goff[:, s:s + i])
        return goff, None


def packed_lower_matvec(off: Tensor, eps: Tensor) -> Tensor:
    """``(L eps)_i = sum_{j < i} off_ij eps_j`` for the strictly lower part of ``L`` stored row by row (the order
    of ``torch.tril_indices(D, D, -1)``), differentiable in ``off``.

    Args:
        off: ``(R, D (D - 1) / 2)`` packed entries; eps: ``(R, D)``.

    Returns:
        ``(R, D)``.
    """
    R, D = eps.shape
    if off.ndim != 2 or off.shape != (R, D * (D - 1) // 2):
        raise ValueError(f"off must be (R={R}, {D * (D - 1) // 2}) for eps {tuple(eps.shape)}, got {tuple(off.shape)}")
    return _PackedLowerMatvec.apply(off, eps.detach().contiguous())


class _SquaredNorm(Function):
    @staticmethod
    def forward(ctx, v: Tensor) -> Tensor:
        ctx.save_for_backward(v)
        return torch.linalg.vector_norm(v, dim=-1).square()

    @staticmethod
    def backward(ctx, g: Tensor):
        (v,) = ctx.saved_tensors
        return v * (2 * g).unsqueeze(-1)


def squared_norm(v: Tensor) -> Tensor:
    """``(...)``: ``sum_i v_i^2`` over the last axis of ``v`` ``(..., n)``, gradient ``2 v`` in one pass."""
    return _SquaredNorm.apply(v)


def learned_runs(need: Tensor) -> tuple[tuple[int, int], ...]:
    """The contiguous runs ``(m0, m1)`` of members with ``need[m]`` true (``need``: ``(M,)`` bool)."""
    edges = torch.diff(F.pad(need.long(), (1, 1))).nonzero().flatten().tolist()  # where a run starts or ends
    return tuple(zip(edges[::2], edges[1::2]))


def _expand(x: Tensor, n: int) -> Tensor:
    """``(B, C, H, W)`` images as ``(n, B*C, H, W)`` channels of every one of ``n`` grids, contiguous (the grid
    sampler's kernels copy a strided input; one chunk's worth is made once and sliced for every chunk)."""
    B, C, H, W = x.shape
    return x.reshape(1, B * C, H, W).expand(n, B * C, H, W).contiguous()


#: Grids per chunk of the adjoint warp: a chunk of warped batches (``chunk * B * P`` floats, 3.2 MB for B = 128
#: MNIST images) is multiplied into the pre-activations while it is in cache, instead of writing and reading all
#: ``M * S * B * P`` warped pixels (77 MB at the standard sweep's sizes) through memory.
CHUNK_GRIDS = 8


def _chunks(M: int, S: int, runs: tuple[tuple[int, int], ...] | None = None):
    """``(m, s0, s1)``: member ``m``'s samples ``s0 .. s1 - 1``, at most ``CHUNK_GRIDS`` at a time (over the members
    of ``runs``, or all)."""
    members = range(M) if runs is None else [m for m0, m1 in runs for m in range(m0, m1)]
    for m in members:
        for s0 in range(0, S, CHUNK_GRIDS):
            yield m, s0, min(S, s0 + CHUNK_GRIDS)


class _WarpedLinear(Function):
    @staticmethod
    def forward(ctx, x: Tensor, grid: Tensor, W1: Tensor, b1: Tensor, samples: int,
                runs: tuple[tuple[int, int], ...]) -> Tensor:
        N = grid.shape[0]
        M, S = N // samples, samples
        B, C, H, W = x.shape
        P, D = C * H * W, W1.shape[1]
        xe = _expand(x, min(S, CHUNK_GRIDS))  # (g, B*C, H, W): the images of one chunk, the same for every chunk
        pre = x.new_empty(M, S * B, D)
        keep = x.new_empty(M, S * B, P) if ctx.needs_input_grad[2] else None  # the warped inputs, for W1's gradient
        for m, s0, s1 in _chunks(M, S):
            n0, n1 = m * S + s0, m * S + s1
            xc = xe[:n1 - n0]
            xw = torch.ops.aten.grid_sampler_2d_backward(xc, xc, grid[n0:n1], 0, 0, False,
                                                          [True, False])[0].view((s1 - s0) * B, P)  # (g*B, P)
            w = 0 if W1.shape[0] == 1 else m
            torch.addmm(b1[w], xw, W1[w].t(), out=pre[m, s0 * B:s1 * B])  # (g*B, D)
            if keep is not None:
                keep[m, s0 * B:s1 * B].copy_(xw)
        ctx.save_for_backward(x, grid, W1, keep)
        ctx.S, ctx.runs = S, runs
        return pre  # (M, S*B, D)

    @staticmethod
    def backward(ctx, g: Tensor):
        x, grid, W1, keep = ctx.saved_tensors
        S, runs = ctx.S, ctx.runs
        B, C, H, W = x.shape
        M = g.shape[0]
        ggrid = gW1 = gb1 = None
        if ctx.needs_input_grad[2]:
            gW1 = torch.bmm(g.transpose(1, 2), keep)  # (M, D, P)
            gW1 = gW1.sum(0, keepdim=True) if W1.shape[0] == 1 else gW1
        if ctx.needs_input_grad[3]:
            gb1 = g.sum(1)  # (M, D)
            gb1 = gb1.sum(0, keepdim=True) if W1.shape[0] == 1 else gb1
        if ctx.needs_input_grad[1]:
            ggrid = torch.zeros_like(grid)  # fixed members: no gradient (their eta is detached in both steps)
            xe = _expand(x, min(S, CHUNK_GRIDS))
            for m, s0, s1 in _chunks(M, S, runs):
                n0, n1 = m * S + s0, m * S + s1
                w = 0 if W1.shape[0] == 1 else m
                gxw = (g[m, s0 * B:s1 * B] @ W1[w]).view(s1 - s0, B * C, H, W)  # (g, B*C, H, W)
                ggrid[n0:n1] = torch.ops.aten.grid_sampler_2d_backward(
                    xe[:n1 - n0], gxw, grid[n0:n1], 0, 0, False, [False, True])[1]
        return None, ggrid, gW1, gb1, None, None


def warped_linear(x: Tensor, matrices: Tensor, W1: Tensor, b1: Tensor,
                  runs: tuple[tuple[int, int], ...]) -> Tensor:
    """``W1 (A_T^T x) + b1`` for every member and sample: ``warps.warp_inputs`` (without blur) and the first layer.

    Args:
        x: ``(B, C, H, W)`` images (no gradient).
        matrices: ``(M, S, 3, 3)``.
        W1: ``(M, D, P)`` or ``(1, D, P)`` shared; b1: ``(M, D)`` or ``(1, D)``.
        runs: the member ranges whose ``matrices`` get a gradient (``learned_runs``); others get zeros.

    Returns:
        ``(M, S * B, D)`` pre-activations, sample-major (``(M, S, B, D)`` flattened).
    """
    M, S = matrices.shape[:2]
    B, C, H, W = x.shape
    grid = F.affine_grid(matrices.reshape(M * S, 3, 3)[:, :2].to(x), [M * S, 1, H, W], align_corners=False)
    return _WarpedLinear.apply(x.detach().contiguous(), grid, W1, b1, S, runs)


class _CosFeatures(Function):
    @staticmethod
    def forward(ctx, pre: Tensor, c: float) -> Tensor:
        ctx.save_for_backward(pre)
        ctx.c = c
        return torch.cos(pre).mul_(c)

    @staticmethod
    def backward(ctx, g: Tensor):
        (pre,) = ctx.saved_tensors
        return torch.sin(pre).mul_(g).mul_(-ctx.c), None


def cos_features(pre: Tensor, c: float) -> Tensor:
    """``c cos(pre)`` (the RFF features), gradient ``-c sin(pre)``."""
    return _CosFeatures.apply(pre, float(c))


class _ReluFeatures(Function):
    @staticmethod
    def forward(ctx, pre: Tensor, c: float) -> Tensor:
        out = pre.clamp_min(0).mul_(c)
        ctx.save_for_backward(out)
        ctx.c = c
        return out

    @staticmethod
    def backward(ctx, g: Tensor):
        (out,) = ctx.saved_tensors
        return torch.ops.aten.threshold_backward(g, out, 0.0).mul_(ctx.c), None


def relu_features(pre: Tensor, c: float) -> Tensor:
    """``c relu(pre)``, gradient ``c [pre > 0]`` (``c > 0``: ``InvariantNet`` takes this step only then)."""
    return _ReluFeatures.apply(pre, float(c))


def output_log_probs(h: Tensor, W2: Tensor, samples: int) -> Tensor:
    """``log f_hat`` of eq. (6) from the hidden features: the log of the sample-averaged softmax.

    Args:
        h: ``(M, S * B, D)``; W2: ``(M, K, D + 1)`` (the last column the bias); samples: S.

    Returns:
        ``(M, B, K)``.
    """
    M, SB, D = h.shape
    K = W2.shape[1]
    logits = torch.baddbmm(W2[..., D:].transpose(1, 2), h, W2[..., :D].transpose(1, 2))  # (M, S*B, K)
    logp = torch.log_softmax(logits.view(M, samples, SB // samples, K), -1)  # (M, S, B, K)
    return torch.logsumexp(logp, 1) - math.log(samples)  # (M, B, K)
