import math

import pytest
import torch

from helpers import groups
from helpers.groups import ROT4, TRANS3, affine_generators, affine_matrices, so_basis

GROUPS = [ROT4, TRANS3]


@pytest.fixture
def x():
    return torch.randn(2, 3, 36, 36)


@pytest.mark.parametrize("G", GROUPS, ids=lambda g: g.name)
def test_identity_inverse_and_homomorphism(G, x):
    assert torch.equal(G.act(x, 0), x)
    for g in range(G.order):
        assert torch.equal(G.act(G.act(x, g), G.inverse(g)), x)
        for h in range(G.order):  # act(act(x, h), g) == act(x, g*h)
            assert torch.equal(G.act(G.act(x, h), g), G.act(x, (g + h) % G.order))
    assert all(not torch.equal(G.act(x, g), x) for g in range(1, G.order))  # faithful on generic input


@pytest.mark.parametrize("G", GROUPS, ids=lambda g: g.name)
def test_orbit_shape_and_order(G, x):
    orbit = G.orbit(x)
    assert orbit.shape == (G.order, *x.shape)
    assert torch.equal(orbit[0], x)


def test_contract_definitions(x):
    assert ROT4.order == 4 and TRANS3.order == 3
    assert torch.equal(ROT4.act(x, 1), torch.rot90(x, 1, dims=(-2, -1)))
    assert torch.equal(TRANS3.act(x, 2), torch.roll(x, 2 * 36 // 3, dims=-1))


def test_bad_input():
    with pytest.raises(ValueError, match="not in 0..3"):
        ROT4.act(torch.zeros(4, 4), 4)
    with pytest.raises(ValueError, match="square"):
        ROT4.act(torch.zeros(4, 6), 1)
    with pytest.raises(ValueError, match="not divisible"):
        TRANS3.act(torch.zeros(4, 4), 1)
    with pytest.raises(ValueError, match="unknown group 'rot5'"):
        groups.get_group("rot5")
    assert groups.get_group("ROT4") is ROT4


def _single(i: int, t: float) -> torch.Tensor:
    eps = torch.zeros(1, 6, dtype=torch.float64)
    eps[0, i] = 1.0
    eta = torch.zeros(6, dtype=torch.float64)
    eta[i] = t
    return affine_matrices(eps, eta)[0]


def test_affine_closed_forms():
    """Appendix E of ch2: exp of each generator in closed form."""
    t = 0.7
    c, s, e = math.cos(t), math.sin(t), math.exp(t)
    ch, sh = math.cosh(t), math.sinh(t)
    expected = {
        0: [[1, 0, t], [0, 1, 0], [0, 0, 1]],
        1: [[1, 0, 0], [0, 1, t], [0, 0, 1]],
        2: [[c, -s, 0], [s, c, 0], [0, 0, 1]],
        3: [[e, 0, 0], [0, 1, 0], [0, 0, 1]],
        4: [[1, 0, 0], [0, e, 0], [0, 0, 1]],
        5: [[ch, sh, 0], [sh, ch, 0], [0, 0, 1]],
    }
    for i, m in expected.items():
        torch.testing.assert_close(_single(i, t), torch.tensor(m, dtype=torch.float64))
    # translation: exp(eps1 eta1 G1 + eps2 eta2 G2) = [[1, 0, eps1 eta1], [0, 1, eps2 eta2], [0, 0, 1]] (eq. 5)
    eps = torch.tensor([[0.5, -0.25, 0, 0, 0, 0]], dtype=torch.float64)
    eta = torch.tensor([2.0, 4.0, 0, 0, 0, 0], dtype=torch.float64)
    torch.testing.assert_close(affine_matrices(eps, eta)[0],
                               torch.tensor([[1, 0, 1.0], [0, 1, -1.0], [0, 0, 1]], dtype=torch.float64))


def test_affine_generators_and_gradient():
    G = affine_generators()
    assert G.shape == (6, 3, 3) and G.dtype == torch.float32
    eta = torch.full((6,), 0.3, requires_grad=True)
    eps = torch.rand(5, 6) * 2 - 1
    T = affine_matrices(eps, eta)
    assert T.shape == (5, 3, 3)
    torch.testing.assert_close(T[:, 2], torch.tensor([0.0, 0.0, 1.0]).expand(5, 3))  # affine: last row fixed
    T.sum().backward()
    assert eta.grad is not None and torch.isfinite(eta.grad).all() and eta.grad.abs().sum() > 0
    with pytest.raises(ValueError, match=r"\(S, 6\)"):
        affine_matrices(torch.zeros(5, 3), torch.zeros(6))
    with pytest.raises(ValueError, match=r"\(6,\)"):
        affine_matrices(torch.zeros(5, 6), torch.zeros(3))


@pytest.mark.parametrize("n", [2, 3, 5])
def test_so_basis(n):
    B = so_basis(n)
    assert B.shape == (n * (n - 1) // 2, n, n)
    torch.testing.assert_close(B, -B.transpose(-1, -2))  # skew-symmetric
    gram = torch.einsum("aij,bij->ab", B, B)
    torch.testing.assert_close(gram, torch.eye(len(B), dtype=B.dtype))  # orthonormal
    # exp of any element is a rotation
    R = torch.linalg.matrix_exp(torch.einsum("a,aij->ij", torch.randn(len(B), dtype=B.dtype), B))
    torch.testing.assert_close(R @ R.T, torch.eye(n, dtype=B.dtype))
