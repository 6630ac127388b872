"""LieGG metrics (ch4) with known answers: so(5) from an exactly O(5)-invariant function, SO(2) from a
radially symmetric image functional, and non-invariant functions that must fail."""
import pytest
import torch
import torch.nn.functional as F
from torchvision.transforms.v2.functional import gaussian_blur

from helpers import data
from helpers.groups import so_basis
from helpers.metrics import (apply_generator, image_coordinates, image_gradient, lie_generators, variance_along, polarization_matrix,
                             polarization_matrix_image, polarization_spectrum, symmetry_bias,
                             symmetry_variance)
from helpers.models import MLP


def o5_target(x):
    """Eq. (5) of ch4: f(x1, x2) = sin|x1| - |x2|^3 / 2 + x1.x2 / (|x1||x2|); x (B, 10) -> (B,)."""
    x1, x2 = x[:, :5], x[:, 5:]
    n1, n2 = x1.norm(dim=1), x2.norm(dim=1)
    return torch.sin(n1) - 0.5 * n2**3 + (x1 * x2).sum(1) / (n1 * n2)


@pytest.fixture(scope="module")
def x10():
    return torch.randn(400, 10, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


def test_o5_function_gives_so5_with_zero_bias(x10):
    E = polarization_matrix(o5_target, x10, blocks=2)  # (400, 25)
    sigma, _ = polarization_spectrum(E)
    assert sigma.shape == (25,) and torch.all(sigma[1:] >= sigma[:-1])
    assert sigma[9] < 1e-10 * sigma[-1]          # ten singular values vanish ...
    assert sigma[10] > 1e-3 * sigma[-1]          # ... and only ten
    h = lie_generators(E, 10)  # (10, 5, 5)
    assert symmetry_bias(h).max() < 1e-8
    # the ten generators span so(5): projecting them on its orthonormal basis keeps their norm
    coeff = torch.einsum("kij,aij->ka", h, so_basis(5))  # (10, 10)
    assert torch.allclose(coeff @ coeff.T, torch.eye(10, dtype=coeff.dtype), atol=1e-8)
    assert symmetry_variance(E) < 1e-20


def test_non_invariant_function_fails_so5(x10):
    torch.manual_seed(0)
    net = MLP(10, [32, 32], 1, activation="swish").double()
    E = polarization_matrix(net, x10, blocks=2)
    sigma, _ = polarization_spectrum(E)
    assert sigma[0] > 1e-4 * sigma[-1]
    assert symmetry_bias(lie_generators(E, 10)).mean() > 0.2
    assert symmetry_variance(E) > 1e-8


def test_polarization_matches_paper_algorithm(x10):
    """Appendix A.4's per-batch algorithm (grad of the output sum, outer products per block)."""
    net = MLP(10, [16], 1, activation="swish").double()
    x = x10[:50].clone().requires_grad_(True)
    net(x).sum().backward()
    ref = (x.grad[:, :5, None] * x[:, None, :5] + x.grad[:, 5:, None] * x[:, None, 5:]).detach()  # (B, 5, 5)
    assert torch.allclose(polarization_matrix(net, x10[:50], blocks=2, chunk_size=7), ref.reshape(50, 25))


def test_normalize_uses_unit_logits(x10):
    net = MLP(10, [16], 3).double()
    E1 = polarization_matrix(lambda x: F.normalize(net(x), dim=1), x10[:20])
    assert torch.allclose(polarization_matrix(net, x10[:20], normalize=True), E1)


@pytest.fixture
def digits(need_data):
    need_data("mnist")
    x, _ = data.load("mnist", train=False)
    return gaussian_blur(data.to_unit(x[:200]).double().unsqueeze(1), [9, 9], [1.5, 1.5]).squeeze(1)  # (200, 28, 28)


def radial_functional(images):
    """An exactly rotation-invariant (in the continuum) functional: tanh of a radially weighted sum."""
    r2 = image_coordinates(*images.shape[-2:], images.dtype).pow(2).sum(-1)  # (H, W)
    w = torch.exp(-3 * r2)  # (H, W), radial
    return torch.tanh((w * images**2).sum((-2, -1)) / 50) + (w * images).sum((-2, -1)) / 100  # (B,)


def test_radial_functional_recovers_rotation(digits):
    E = polarization_matrix_image(radial_functional, digits)  # (200, 4)
    h = lie_generators(E, 1)[0]  # (2, 2)
    assert symmetry_bias(h) < 0.03
    rot = torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=h.dtype) / 2**0.5
    assert abs(float((h * rot).sum())) > 0.99
    sigma, _ = polarization_spectrum(E)
    assert sigma[0] < 0.05 * sigma[1]


def test_variance_along_a_generator(digits):
    """Eq. 4 at a fixed h: its minimum over unit h is the symmetry variance (at the smallest singular vector); the
    radial functional barely changes along the rotation generator, much more along a scaling."""
    E = polarization_matrix_image(radial_functional, digits)  # (200, 4)
    h0 = lie_generators(E, 1)[0]
    assert abs(variance_along(E, 3 * h0) - symmetry_variance(E)) < 1e-12 * max(1.0, symmetry_variance(E))
    J, S = torch.tensor([[0.0, -1.0], [1.0, 0.0]]), torch.eye(2)
    assert variance_along(E, J) < 0.01 * variance_along(E, S)
    with pytest.raises(ValueError, match="nonzero"):
        variance_along(E, torch.zeros(2, 2))
    with pytest.raises(ValueError, match="d\\*d"):
        variance_along(E, torch.eye(3))


def test_non_radial_functional_fails_rotation(digits):
    xy = image_coordinates(28, 28, torch.float64)
    w = torch.exp(-3 * ((xy[..., 0] - 0.3) ** 2 + 4 * xy[..., 1] ** 2))  # off-centre, anisotropic
    E = polarization_matrix_image(lambda im: (w * im).sum((-2, -1)), digits)
    assert symmetry_bias(lie_generators(E, 1)[0]) > 0.3


def test_polarization_image_is_derivative_along_generator(digits):
    """E . vec(h) = d/dt F(exp(t h) image) at t = 0, with the transform of apply_generator."""
    torch.manual_seed(0)
    net = MLP(784, [32], 5, activation="swish").double()
    imgs = digits[:8]
    E = polarization_matrix_image(net, imgs)  # (8, 4)
    for h in (torch.tensor([[0.0, -1.0], [1.0, 0.0]]), torch.tensor([[1.0, 0.3], [0.0, -0.5]])):
        h = h.double()
        t = torch.tensor([-1e-2, 1e-2], dtype=torch.float64)
        moved = apply_generator(imgs, h, t)  # (2, 8, 28, 28)
        fd = (net(moved[1]).sum(1) - net(moved[0]).sum(1)) / 2e-2  # (8,)
        lin = E @ h.reshape(4)  # (8,)
        # bilinear resampling is only piecewise smooth: agreement to ~10 % over the batch
        assert (fd - lin).norm() < 0.1 * lin.norm()


def test_background_outside_the_frame_follows_the_data(digits):
    """Standardised digits z = (x - m) / s have border -m/s, not 0. For G(z) = F(s z + m) the polarization
    matrix must equal F's on the raw digits (dG/dz = s dF/dx, dz = dx / s): exactly so when the frame is
    padded with z's background, not when it is padded with 0 (a spurious edge all along the frame)."""
    torch.manual_seed(0)
    net = MLP(784, [32], 5, activation="swish").double()
    m, s = float(digits.mean()), float(digits.std())
    z = (digits - m) / s  # (200, 28, 28), border -m/s
    assert z[:, 0].abs().median() > 0.5
    E_raw = polarization_matrix_image(net, digits)  # background 0, as the raw digits have
    E_std = polarization_matrix_image(lambda zz: net(s * zz + m), z, background=-m / s)
    assert torch.allclose(E_std, E_raw, rtol=1e-9, atol=1e-12)
    E_zeros = polarization_matrix_image(lambda zz: net(s * zz + m), z, background=0.0)
    assert (E_zeros - E_raw).norm() > 0.1 * E_raw.norm()
    # background=None assumes nothing outside: one-sided differences, unchanged by an affine intensity map
    E_in = polarization_matrix_image(net, digits, background=None)
    assert torch.allclose(polarization_matrix_image(lambda zz: net(s * zz + m), z, background=None), E_in,
                          rtol=1e-9, atol=1e-12)
    assert torch.allclose(image_gradient(digits, None)[:, 1:-1, 1:-1], image_gradient(digits)[:, 1:-1, 1:-1])


def test_channels_sum_like_separate_images(digits):
    net3 = lambda im: im.sum((1, 2, 3))  # noqa: E731
    imgs = torch.stack([digits[:4], digits[4:8], digits[8:12]], 1)  # (4, 3, 28, 28)
    E = polarization_matrix_image(net3, imgs)
    parts = sum(polarization_matrix_image(lambda im: im.sum((1, 2)), imgs[:, c]) for c in range(3))
    assert torch.allclose(E, parts)


def test_symmetry_bias_known_values():
    skew = torch.tensor([[0.0, 2.0], [-2.0, 0.0]])
    assert symmetry_bias(skew) == 0
    assert torch.isclose(symmetry_bias(torch.eye(2)), torch.tensor(1.0))
    assert symmetry_bias(torch.stack([skew, torch.eye(2)])).shape == (2,)
    with pytest.raises(ValueError, match="square"):
        symmetry_bias(torch.zeros(2, 3))


def test_shapes_and_errors(x10):
    E = torch.randn(3, 25, dtype=torch.float64)  # fewer rows than unknowns: 22 exact zeros
    sigma, V = polarization_spectrum(E)
    assert sigma.shape == (25,) and V.shape == (25, 25) and torch.all(sigma[:22] == 0)
    assert lie_generators(E, 4).shape == (4, 5, 5)
    with pytest.raises(ValueError, match="k must be"):
        lie_generators(E, 26)
    with pytest.raises(ValueError, match="d\\*d"):
        lie_generators(torch.randn(5, 7), 1)
    with pytest.raises(ValueError, match="blocks=3"):
        polarization_matrix(o5_target, x10, blocks=3)
    with pytest.raises(ValueError, match="\\(B, H, W\\)"):
        polarization_matrix_image(lambda im: im.sum(), torch.zeros(4, 28))
    assert apply_generator(torch.zeros(2, 6, 6), torch.zeros(2, 2), torch.zeros(3)).shape == (3, 2, 6, 6)


def test_apply_generator_identity_and_quarter_turn():
    img = torch.rand(1, 8, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    assert torch.allclose(apply_generator(img, torch.zeros(2, 2), torch.tensor([0.5]))[0], img)
    rot = torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=torch.float64)
    quarter = apply_generator(img, rot, torch.tensor([torch.pi / 2]))[0, 0]
    assert any(torch.allclose(quarter, torch.rot90(img[0], k, (0, 1)), atol=1e-6) for k in (1, 3))
