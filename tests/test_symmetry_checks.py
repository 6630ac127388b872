"""Invariance and equivariance as properties, in the spirit of escnn's per-layer checks, across ROT4, TRANS3, SO(5)
and continuous rotations of images: each exactly (or, on a pixel grid, nearly) symmetric model passes, and a
deliberately non-symmetric one fails with an error naming the element.

    invariance error    max_g ||f(g x) - f(x)|| / max ||f(x)||
    equivariance error  max_g ||f(g x) - g f(x)|| / max ||f(x)||

Group actions are callables ``act(x, g)`` over the elements of a discrete group, or over sampled elements of a
continuous one (SO(n) acting on vectors, affine matrices warping images: on a pixel grid only approximately, so
the tolerance allows for interpolation).
"""
import math
from typing import Any, Callable, Sequence

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from helpers.groups import ROT4, TRANS3, CyclicGroup, so_basis
from helpers.metrics import image_coordinates
from helpers.models import MLP, GroupPooledMLP
from helpers.transforms import affine_warp, rotation_matrices

Action = Callable[[Tensor, Any], Tensor]


def group_action(group: CyclicGroup) -> Action:
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


def random_rotations(n: int, count: int, seed: int = 0) -> Tensor:
    """``count`` random elements of SO(n): ``exp`` of random so(n) elements. Returns ``(count, n, n)``."""
    basis = so_basis(n)  # (n(n-1)/2, n, n)
    coef = torch.randn(count, len(basis), generator=torch.Generator().manual_seed(seed), dtype=basis.dtype)
    return torch.linalg.matrix_exp(torch.einsum("ck,kij->cij", coef, basis))  # (count, n, n)


@torch.no_grad()
def _errors(model: Callable[[Tensor], Tensor], x: Tensor, act: Action, elements: Sequence,
            act_out: Action | None) -> list[float]:
    fx = model(x)
    scale = float(fx.abs().max().clamp_min(1e-12))
    return [float((model(act(x, g)) - (fx if act_out is None else act_out(fx, g))).abs().max()) / scale
            for g in elements]


def invariance_error(model, x: Tensor, act: Action, elements: Sequence) -> float:
    return max(_errors(model, x, act, elements, None))


def _check(kind: str, errs: list[float], elements: Sequence, atol: float) -> float:
    worst = max(range(len(errs)), key=errs.__getitem__)
    if errs[worst] > atol:
        g = elements[worst]
        raise AssertionError(f"not {kind}: relative error {errs[worst]:.3g} > {atol:g} under element "
                             f"{g if isinstance(g, int) else f'#{worst}'}")
    return errs[worst]


def check_invariance(model, x: Tensor, act: Action, elements: Sequence, atol: float = 1e-5) -> float:
    """The invariance error, after asserting it is at most ``atol`` (else naming the worst element)."""
    return _check("invariant", _errors(model, x, act, elements, None), elements, atol)


def check_equivariance(model, x: Tensor, act: Action, elements: Sequence, atol: float = 1e-5) -> float:
    """The equivariance error (the same action on inputs and outputs), after asserting it is at most ``atol``."""
    return _check("equivariant", _errors(model, x, act, elements, act), elements, atol)


@pytest.mark.parametrize("group", [ROT4, TRANS3], ids=lambda g: g.name)
def test_weight_tied_model_is_invariant_and_a_plain_mlp_is_not(group):
    torch.manual_seed(0)
    x = torch.randn(8, 12, 12)
    wt, plain = GroupPooledMLP(group, 144, [16], 5), MLP(144, [16], 5)
    assert check_invariance(wt, x, group_action(group), range(group.order)) < 1e-5
    with pytest.raises(AssertionError, match=r"not invariant: relative error .* under element [1-3]"):
        check_invariance(plain, x, group_action(group), range(group.order))


def _conv(kernel: torch.Tensor, padding_mode: str):
    return lambda x: F.conv2d(F.pad(x[:, None], (2, 2, 2, 2), mode=padding_mode), kernel[None, None])[:, 0]


def test_gaussian_filter_is_rotation_equivariant_and_a_random_filter_is_not():
    """A Gaussian (rotation-symmetric) 5x5 filter commutes with rot90; a random filter does not."""
    torch.manual_seed(0)
    ax = torch.arange(5.0) - 2
    gauss = torch.exp(-(ax[:, None] ** 2 + ax[None] ** 2) / 2)
    x, act = torch.rand(6, 16, 16), group_action(ROT4)
    assert check_equivariance(_conv(gauss, "constant"), x, act, range(ROT4.order)) < 1e-5
    with pytest.raises(AssertionError, match="not equivariant"):
        check_equivariance(_conv(torch.randn(5, 5), "constant"), x, act, range(ROT4.order))


def test_circular_convolution_is_shift_equivariant_and_zero_padding_is_not():
    torch.manual_seed(0)
    k, x, act = torch.randn(5, 5), torch.rand(6, 15, 15), group_action(TRANS3)
    assert check_equivariance(_conv(k, "circular"), x, act, range(TRANS3.order)) < 1e-5
    with pytest.raises(AssertionError, match="not equivariant"):
        check_equivariance(_conv(k, "constant"), x, act, range(TRANS3.order))


def test_o5_invariant_model_under_random_so5_rotations():
    from helpers.experiments.ch4.models import O5Invariant

    torch.manual_seed(0)
    x, els = torch.randn(32, 10, dtype=torch.float64), list(random_rotations(5, 8))
    assert all(torch.allclose(g @ g.T, torch.eye(5, dtype=g.dtype)) and torch.det(g) > 0 for g in els)
    assert check_invariance(O5Invariant().double(), x, matrix_action(blocks=2), els, atol=1e-10) < 1e-10
    with pytest.raises(AssertionError, match=r"not invariant: .* under element #"):
        check_invariance(MLP(10, [16], 1).double(), x, matrix_action(blocks=2), els)


def test_continuous_rotations_of_images_within_interpolation_error():
    """A radially weighted functional is invariant to rotations by any angle up to bilinear interpolation
    on smooth images (Gaussian blobs); an off-centre anisotropic one is not."""
    g = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 28), torch.linspace(-1, 1, 28), indexing="ij")
    blobs = torch.exp(-((xx - 0.4 * torch.rand(16, 1, 1, generator=g)) ** 2 + yy ** 2) / 0.05).double()  # (16, 28, 28)
    xy = image_coordinates(28, 28, torch.float64)
    functional = lambda w: (lambda im: torch.tanh(torch.einsum("hw,bhw->b", w, im)[:, None] / 20))  # noqa: E731
    radial = functional(torch.exp(-3 * xy.pow(2).sum(-1)))
    skewed = functional(torch.exp(-3 * ((xy[..., 0] - 0.3) ** 2 + 4 * xy[..., 1] ** 2)))
    els = list(rotation_matrices(torch.linspace(0.3, 2 * math.pi - 0.3, 7, dtype=torch.float64)))
    assert check_invariance(radial, blobs, affine_action(), els, atol=0.01) < 0.01
    assert invariance_error(skewed, blobs, affine_action(), els) > 0.1
