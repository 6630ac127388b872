"""Property checks of invariance and equivariance over a group's elements, in the spirit of escnn's per-layer
checks: the error of a model (or one layer) under every element of a discrete group, or under sampled elements
of a continuous one, and an ``AssertionError`` naming the worst element when it exceeds a tolerance.

    invariance error    max_g ||f(g x) - f(x)|| / max ||f(x)||
    equivariance error  max_g ||f(g x) - g' f(x)|| / max ||f(x)||     (g' the action on the output)

Group actions are callables ``act(x, g)``: ``group_action(ROT4)`` / ``group_action(TRANS3)`` with the elements
``group.elements()``; ``matrix_action()`` for matrices acting on vectors (e.g. SO(n) from ``random_rotations``);
``affine_action()`` for affine matrices warping images (``helpers.transforms.affine_warp``; on a pixel grid only
approximately, so its tolerance must allow for interpolation).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import torch
from torch import Tensor

from ..groups import CyclicGroup, so_basis
from ..transforms import affine_warp

__all__ = ["group_action", "matrix_action", "affine_action", "random_rotations", "invariance_error",
           "equivariance_error", "check_invariance", "check_equivariance"]

Action = Callable[[Tensor, Any], Tensor]


def group_action(group: CyclicGroup) -> Action:
    """A discrete group's action on images ``(..., H, W)``: ``act(x, g) = group.act(x, g)``."""
    return lambda x, g: group.act(x, int(g))


def matrix_action(blocks: int = 1) -> Action:
    """Matrices ``g (d, d)`` acting on vectors ``(B, blocks * d)`` blockwise (ch4's O(5) task: ``blocks = 2``)."""
    def act(x: Tensor, g: Tensor) -> Tensor:
        B, d = x.shape[0], g.shape[-1]
        return (x.view(B, blocks, d) @ g.T.to(x)).reshape(B, blocks * d)  # (B, blocks*d)
    return act


def affine_action() -> Action:
    """Affine matrices ``g (3, 3)`` warping images ``(B, [C,] H, W)`` (bilinear, zeros outside)."""
    return lambda x, g: affine_warp(x, g.to(x))


def random_rotations(n: int, count: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> Tensor:
    """``count`` random elements of SO(n): ``exp`` of random so(n) elements. Returns ``(count, n, n)``."""
    basis = so_basis(n, dtype)  # (n(n-1)/2, n, n)
    coef = torch.randn(count, len(basis), generator=torch.Generator().manual_seed(seed), dtype=dtype)
    return torch.linalg.matrix_exp(torch.einsum("ck,kij->cij", coef, basis))  # (count, n, n)


@torch.no_grad()
def _errors(model: Callable[[Tensor], Tensor], x: Tensor, act: Action, elements: Sequence,
            act_out: Action | None) -> tuple[list[float], float]:
    fx = model(x)
    scale = float(fx.abs().max().clamp_min(1e-12))
    errs = []
    for g in elements:
        target = fx if act_out is None else act_out(fx, g)
        errs.append(float((model(act(x, g)) - target).abs().max()) / scale)
    return errs, scale


def invariance_error(model: Callable[[Tensor], Tensor], x: Tensor, act: Action, elements: Sequence) -> float:
    """``max_g max |f(g x) - f(x)| / max |f(x)|`` over ``elements`` (the identity may be among them)."""
    return max(_errors(model, x, act, elements, None)[0])


def equivariance_error(model: Callable[[Tensor], Tensor], x: Tensor, act: Action, elements: Sequence,
                       act_out: Action | None = None) -> float:
    """``max_g max |f(g x) - g' f(x)| / max |f(x)|``; ``act_out`` (default ``act``) is the action on outputs."""
    return max(_errors(model, x, act, elements, act_out or act)[0])


def _check(kind: str, errs: list[float], elements: Sequence, atol: float) -> float:
    worst = max(range(len(errs)), key=errs.__getitem__)
    if errs[worst] > atol:
        g = elements[worst]
        label = g if isinstance(g, int) else f"#{worst}"
        raise AssertionError(f"not {kind}: relative error {errs[worst]:.3g} > {atol:g} under element {label}")
    return errs[worst]


def check_invariance(model: Callable[[Tensor], Tensor], x: Tensor, act: Action, elements: Sequence,
                     atol: float = 1e-5) -> float:
    """The invariance error, after asserting it is at most ``atol``.

    Raises:
        AssertionError: naming the element with the largest error and its size.
    """
    return _check("invariant", _errors(model, x, act, elements, None)[0], elements, atol)


def check_equivariance(model: Callable[[Tensor], Tensor], x: Tensor, act: Action, elements: Sequence,
                       act_out: Action | None = None, atol: float = 1e-5) -> float:
    """The equivariance error, after asserting it is at most ``atol``.

    Raises:
        AssertionError: naming the element with the largest error and its size.
    """
    return _check("equivariant", _errors(model, x, act, elements, act_out or act)[0], elements, atol)
