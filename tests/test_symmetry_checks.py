"""check_invariance / check_equivariance across ROT4, TRANS3, SO(5) and continuous rotations of images: each
exactly (or, on a pixel grid, nearly) symmetric model passes, and a deliberately non-symmetric one fails with an
error naming the element."""
import math

import pytest
import torch
import torch.nn.functional as F

from helpers.groups import ROT4, TRANS3
from helpers.metrics import image_coordinates
from helpers.metrics.symmetry_checks import (affine_action, check_equivariance, check_invariance, group_action,
                                             invariance_error, matrix_action, random_rotations)
from helpers.models import MLP, GroupPooledMLP
from helpers.transforms import rotation_matrices


@pytest.mark.parametrize("group", [ROT4, TRANS3], ids=lambda g: g.name)
def test_weight_tied_model_is_invariant_and_a_plain_mlp_is_not(group):
    torch.manual_seed(0)
    x = torch.randn(8, 12, 12)
    wt, plain = GroupPooledMLP(group, 144, [16], 5), MLP(144, [16], 5)
    assert check_invariance(wt, x, group_action(group), group.elements()) < 1e-5
    with pytest.raises(AssertionError, match=r"not invariant: relative error .* under element [1-3]"):
        check_invariance(plain, x, group_action(group), group.elements())


def _conv(kernel: torch.Tensor, padding_mode: str):
    return lambda x: F.conv2d(F.pad(x[:, None], (2, 2, 2, 2), mode=padding_mode), kernel[None, None])[:, 0]


def test_gaussian_filter_is_rotation_equivariant_and_a_random_filter_is_not():
    """A Gaussian (rotation-symmetric) 5x5 filter commutes with rot90; a random filter does not."""
    torch.manual_seed(0)
    ax = torch.arange(5.0) - 2
    gauss = torch.exp(-(ax[:, None] ** 2 + ax[None] ** 2) / 2)
    x, act = torch.rand(6, 16, 16), group_action(ROT4)
    assert check_equivariance(_conv(gauss, "constant"), x, act, ROT4.elements()) < 1e-5
    with pytest.raises(AssertionError, match="not equivariant"):
        check_equivariance(_conv(torch.randn(5, 5), "constant"), x, act, ROT4.elements())


def test_circular_convolution_is_shift_equivariant_and_zero_padding_is_not():
    torch.manual_seed(0)
    k, x, act = torch.randn(5, 5), torch.rand(6, 15, 15), group_action(TRANS3)
    assert check_equivariance(_conv(k, "circular"), x, act, TRANS3.elements()) < 1e-5
    with pytest.raises(AssertionError, match="not equivariant"):
        check_equivariance(_conv(k, "constant"), x, act, TRANS3.elements())


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
