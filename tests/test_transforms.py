"""Known answers for helpers.transforms (affine_grid convention, align_corners=False).

Sign convention: ``rotate(x, pi/2)`` == ``torch.rot90(x, 1, dims=(-2, -1))`` (counter-clockwise as
displayed); the sampling matrix is R(theta) = [[cos, -sin], [sin, cos]] = exp(theta * G_rot).
"""
import math

import pytest
import torch

from helpers.groups import affine_matrices
from helpers.transforms import affine_warp, rotate, rotation_matrices

QUARTER = torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # R(pi/2)


@pytest.fixture(params=[(4, 28, 28), (3, 2, 28, 28), (2, 3, 32, 32)], ids=["BHW", "BCHW", "cifar"])
def x(request):
    return torch.randn(*request.param)


def test_identity_is_exact(x):
    assert torch.equal(affine_warp(x, torch.eye(3), mode="nearest"), x)  # bitwise
    # bilinear: exact up to the float rounding of the normalized grid (affine_grid in float32)
    torch.testing.assert_close(affine_warp(x, torch.eye(3)), x, atol=2e-5, rtol=0)
    x64 = x.double()
    torch.testing.assert_close(affine_warp(x64, torch.eye(3, dtype=torch.float64)), x64, atol=1e-12, rtol=0)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_quarter_turns_reproduce_rot90(x, k):
    want = torch.rot90(x, k, dims=(-2, -1))
    M = torch.linalg.matrix_power(QUARTER, k)
    assert torch.equal(affine_warp(x, M, mode="nearest"), want)
    torch.testing.assert_close(affine_warp(x, M), want, atol=1e-4, rtol=0)
    angles = torch.full((x.shape[0],), k * math.pi / 2)
    torch.testing.assert_close(rotate(x, angles), want, atol=1e-4, rtol=0)
    assert torch.equal(rotate(x, angles, mode="nearest"), want)


def test_rotation_matches_lie_exponential():
    theta = torch.tensor([0.3, -1.2, math.pi / 2])
    eps = torch.zeros(3, 6)
    eps[:, 2] = theta
    eta = torch.zeros(6)
    eta[2] = 1.0
    torch.testing.assert_close(rotation_matrices(theta), affine_matrices(eps, eta), atol=1e-6, rtol=0)


def test_per_image_matrices_and_gradients():
    x = torch.randn(2, 1, 8, 8)
    angles = torch.tensor([0.0, math.pi / 2], requires_grad=True)
    out = rotate(x, angles, mode="nearest")
    assert torch.equal(out[0], x[0]) and torch.equal(out[1], torch.rot90(x[1], 1, dims=(-2, -1)))
    rotate(x, angles).sum().backward()  # differentiable in the angles (bilinear)
    assert angles.grad is not None and torch.isfinite(angles.grad).all()


def test_translation_direction():
    x = torch.zeros(1, 8, 8)
    x[0, 3, 3] = 1.0
    T = torch.eye(3)
    T[0, 2] = -2 * 2 / 8  # sample 2 pixels to the left: content moves 2 pixels right
    out = affine_warp(x, T, mode="nearest")
    assert out[0, 3, 5] == 1.0 and out.sum() == 1.0


def test_bad_input():
    with pytest.raises(ValueError, match=r"got shape \(5,\)"):
        affine_warp(torch.zeros(5), torch.eye(3))
    with pytest.raises(ValueError, match="uint8"):
        affine_warp(torch.zeros(2, 4, 4, dtype=torch.uint8), torch.eye(3))
    with pytest.raises(ValueError, match=r"\(2, 3, 3\) for 2 images, got shape \(3, 3, 3\)"):
        affine_warp(torch.zeros(2, 4, 4), torch.eye(3).expand(3, 3, 3))
    with pytest.raises(ValueError, match="'cubic'"):
        affine_warp(torch.zeros(2, 4, 4), torch.eye(3), mode="cubic")
    with pytest.raises(ValueError, match=r"\(B,\) = \(2,\)"):
        rotate(torch.zeros(2, 4, 4), torch.zeros(3))
