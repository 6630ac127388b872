"""Known answers for chapter 2's modules, helpers.experiments.ch2.invariant_weights, .warps and .variational."""
import math

import pytest
import torch
from torch.distributions import MultivariateNormal, kl_divergence

from helpers.experiments.ch2.invariant_weights import (InvariantNet, invariance_mask, linspace_eps,
                                                       transformation_matrices, uniform_eps)
from helpers.experiments.ch2.variational import ClassGaussian
from helpers.experiments.ch2.warps import adjoint_warp, blur_weights, transform_weights
from helpers.transforms import affine_warp

QUARTER = torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # R(pi/2)


def _net(kind="rff", eta_rot=0.0, M=1, shape=(1, 12, 12), hidden=16, learn=0.0, bayes=1.0, **kw):
    eta = torch.zeros(M, 6)
    eta[:, 2] = eta_rot
    return InvariantNet(kind, shape, hidden, 5, eta, torch.full((M, 6), learn), torch.full((M,), bayes), **kw)


def _set_cholesky(q: ClassGaussian, L: torch.Tensor) -> None:
    """Set ``q``'s factor to ``L`` (``(M, K, D, D)`` or broadcastable, lower triangular, positive diagonal)."""
    M, K, D = q.mu.shape
    L = torch.as_tensor(L, dtype=q.off.dtype).expand(M, K, D, D)
    rows, cols = torch.tril_indices(D, D, -1)
    with torch.no_grad():
        q.off.copy_(L[..., rows, cols])
        q.log_diag.copy_(torch.diagonal(L, dim1=-2, dim2=-1).log())


def test_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(1)
    q = ClassGaussian(3, 4, 5, alpha=2.0)
    L = torch.tril(torch.randn(3, 4, 5, 5, generator=g))
    L.diagonal(dim1=-2, dim2=-1).copy_(torch.rand(3, 4, 5, generator=g) + 0.5)
    _set_cholesky(q, L)
    with torch.no_grad():
        q.mu.normal_(generator=g)  # (M, K, D)
    want = kl_divergence(MultivariateNormal(q.mu.detach(), scale_tril=L),
                         MultivariateNormal(torch.zeros(5), 2.0 * torch.eye(5))).sum(-1)  # (M,)
    torch.testing.assert_close(q.kl(), want, rtol=1e-5, atol=1e-5)  # App. A from the packed factor
    torch.testing.assert_close(q.kl(fast=True), want, rtol=1e-5, atol=1e-5)
    alpha = 2.0
    q = ClassGaussian(2, 3, 4, alpha=alpha)
    _set_cholesky(q, math.sqrt(alpha) * torch.eye(4))
    torch.testing.assert_close(q.kl(), torch.zeros(2), atol=1e-6, rtol=0)  # q = prior
    assert (ClassGaussian(2, 3, 4, alpha=alpha).kl() > 0).all()  # q != prior


def test_packed_cholesky_factor_round_trips_and_gives_the_same_kl():
    g = torch.Generator().manual_seed(2)
    L = torch.tril(torch.randn(2, 3, 6, 6, generator=g))
    L.diagonal(dim1=-2, dim2=-1).copy_(torch.rand(2, 3, 6, generator=g) + 0.5)
    q = ClassGaussian(2, 3, 6, alpha=0.7)
    _set_cholesky(q, L)
    with torch.no_grad():
        q.mu.normal_(generator=g)
    assert q.off.shape == (2, 3, 15)  # D (D - 1) / 2 free entries below the diagonal
    torch.testing.assert_close(q.L, L)
    want = kl_divergence(MultivariateNormal(q.mu.detach(), scale_tril=L),
                         MultivariateNormal(torch.zeros(6), 0.7 * torch.eye(6))).sum(-1)  # (M,)
    torch.testing.assert_close(q.kl(), want, rtol=1e-5, atol=1e-5)  # no dense L needed for the KL
    eps = torch.randn(2, 3, 6, generator=torch.Generator().manual_seed(5))
    want = q.mu + torch.einsum("mkde,mke->mkd", L, eps)  # W2 = mu + L eps
    torch.testing.assert_close(q.sample(1.0, torch.Generator().manual_seed(5)), want)


def test_posterior_samples_have_the_right_covariance():
    q = ClassGaussian(4000, 1, 2)  # 4000 identical members: 4000 independent draws in one call
    with torch.no_grad():
        q.mu.copy_(torch.tensor([1.0, -2.0]))
    _set_cholesky(q, torch.tensor([[2.0, 0.0], [1.0, 0.5]]))
    g = torch.Generator().manual_seed(0)
    w = q.sample(1.0, g)[:, 0]  # (N, 2)
    torch.testing.assert_close(w.mean(0), torch.tensor([1.0, -2.0]), atol=0.1, rtol=0)
    torch.testing.assert_close(torch.cov(w.T), torch.tensor([[4.0, 2.0], [2.0, 1.25]]), atol=0.25, rtol=0)
    assert torch.equal(q.sample(0.0, g), q.mu.detach())  # point estimate


def test_sampled_matrices_follow_eqs_4_and_5():
    eps = uniform_eps(2, 7, torch.Generator().manual_seed(0))
    assert eps.shape == (2, 7, 6) and eps.abs().max() <= 1
    eta = torch.tensor([[0.0, 0.0, 1.3, 0.0, 0.0, 0.0], [0.4, -0.2, 0.0, 0.0, 0.0, 0.0]])
    T = transformation_matrices(eta, eps)  # (2, 7, 3, 3)
    a = eps[0, :, 2] * 1.3
    rot = torch.stack([torch.cos(a), -torch.sin(a), torch.sin(a), torch.cos(a)], -1).reshape(7, 2, 2)
    torch.testing.assert_close(T[0, :, :2, :2], rot, atol=1e-5, rtol=0)  # eq. (4)
    torch.testing.assert_close(T[1, :, 0, 2], 0.4 * eps[1, :, 0], atol=1e-6, rtol=0)  # eq. (5)
    torch.testing.assert_close(T[1, :, 1, 2], -0.2 * eps[1, :, 1], atol=1e-6, rtol=0)


def test_reparameterised_gradient_reaches_learned_eta_only():
    net = _net(M=2, eta_rot=0.3)
    with torch.no_grad():
        net.learn[1] = invariance_mask("rotation")
    x, y = torch.rand(6, 1, 12, 12), torch.randint(0, 5, (6,))
    net.neg_elbo(x, y, n_data=100, samples=4, generator=torch.Generator().manual_seed(0)).sum().backward()
    assert net.eta.grad[0].abs().sum() == 0  # fixed member
    assert net.eta.grad[1, 2] != 0 and net.eta.grad[1, [0, 1, 3, 4, 5]].abs().sum() == 0


def test_linspace_eps():
    eps = linspace_eps(7)
    assert eps.shape == (7, 6) and eps[0, 2] == -1 and eps[-1, 2] == 1 and eps[:, [0, 1, 3, 4, 5]].abs().sum() == 0
    assert linspace_eps(3, (0, 1, 2, 3, 4, 5)).shape == (729, 6)  # the 3^6 of Sec. 3.5
    torch.testing.assert_close(linspace_eps(4, endpoint=False)[:, 2], torch.tensor([-1.0, -0.5, 0.0, 0.5]))


def test_blur_known_answers():
    """sigma 0.1 is the identity to float precision (the convolution is skipped); sigma 1 is the torchvision blur."""
    from torchvision.transforms.v2.functional import gaussian_blur
    w = torch.randn(2, 3, 1, 12, 12)  # (M, D, C, H, W)
    torch.testing.assert_close(blur_weights(w, 0.1), gaussian_blur(w.reshape(6, 1, 12, 12), [3, 3], [0.1, 0.1]).reshape(w.shape),
                               atol=1e-12, rtol=0)
    want = gaussian_blur(w.reshape(6, 1, 12, 12), [7, 7], [1.0, 1.0]).reshape(w.shape)
    torch.testing.assert_close(blur_weights(w, 1.0), want)
    assert not torch.allclose(blur_weights(w, 1.0), w, atol=1e-2)
    with pytest.raises(ValueError, match="blur sigma must be >= 0, got -1"):
        blur_weights(w, -1.0)


def test_transforming_weights_equals_transforming_inputs():
    """(W1 o T) o x = W1 o (T o x) (Sec. 3.2), exact for quarter turns (no interpolation)."""
    w = torch.randn(1, 8, 1, 12, 12)  # (M, D, C, H, W)
    x = torch.randn(5, 1, 12, 12)
    for k in range(1, 4):
        Tk = torch.linalg.matrix_power(QUARTER, k)
        wT = transform_weights(w, Tk.expand(1, 1, 3, 3), blur_sigma=0.0)[0, 0]  # (D, C, H, W)
        lhs = torch.einsum("dp,bp->bd", wT.flatten(1), x.flatten(1))
        xT = affine_warp(x, torch.linalg.inv(Tk))  # the inverse warp of the input
        rhs = torch.einsum("dp,bp->bd", w[0].flatten(1), xT.flatten(1))
        torch.testing.assert_close(lhs, rhs, atol=1e-4, rtol=1e-4)
        assert torch.allclose(xT, torch.rot90(x, -k, dims=(-2, -1)), atol=1e-5)
    net = _net()  # the same through the network, with the paper's sigma-0.1 blur
    feats_w = net.features(x, QUARTER.expand(1, 1, 3, 3))
    feats_x = net.features(torch.rot90(x, -1, dims=(-2, -1)), None)
    torch.testing.assert_close(feats_w, feats_x, atol=1e-4, rtol=1e-4)


def test_the_adjoint_warp_is_the_adjoint_and_its_gradients_are_right():
    """<A_T w, x> = <w, A_T^T x> for random affine T (interpolation included), and gradcheck in float64."""
    torch.manual_seed(0)
    theta = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]) + 0.3 * torch.randn(4, 2, 3)  # (N, 2, 3)
    grid = torch.nn.functional.affine_grid(theta, [4, 1, 10, 10], align_corners=False)  # (N, H, W, 2)
    w, x = torch.randn(4, 3, 10, 10, dtype=torch.float64), torch.randn(4, 3, 10, 10, dtype=torch.float64)
    lhs = (torch.nn.functional.grid_sample(w, grid.double(), align_corners=False) * x).sum((1, 2, 3))  # (N,)
    rhs = (w * adjoint_warp(x, grid.double())).sum((1, 2, 3))
    torch.testing.assert_close(lhs, rhs, atol=1e-10, rtol=1e-10)
    assert not torch.allclose(adjoint_warp(x, grid.double()),
                              torch.nn.functional.grid_sample(x, grid.double(), align_corners=False),
                              atol=1e-3), "the adjoint is not the warp itself"
    th = theta[:2].double().requires_grad_(True)
    xx = torch.randn(2, 2, 6, 6, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda a, t: adjoint_warp(a, torch.nn.functional.affine_grid(t, [2, 1, 6, 6], align_corners=False)), (xx, th))
    with pytest.raises(ValueError, match=r"got \(4, 3, 10, 10\) and \(4, 10, 9, 2\)"):
        adjoint_warp(x, grid[:, :, :9])


@pytest.mark.parametrize("kind", ["rff", "relu"])
def test_features_on_warped_inputs_equal_features_of_warped_weights(kind):
    """Training's path (``warp_inputs``, the adjoint on the B inputs) gives the weight-space warp's features of
    Sec. 3.2 (``first_layer``: every weight image warped) for random affine T, and the same gradients in eta
    and W1."""
    torch.manual_seed(1)
    net = _net(kind, eta_rot=0.7, learn=1.0)
    net.eta.data[0, :] = torch.tensor([0.1, -0.1, 0.7, 0.2, -0.1, 0.1])
    x = torch.rand(5, 1, 12, 12)
    T = transformation_matrices(net.effective_eta(), uniform_eps(1, 3, torch.Generator().manual_seed(2)))
    ours = net.features(x, T)  # (M, S, B, D)
    W = net.first_layer(T)  # (M, S, D, P): the weights warped
    ref = net.feature_scale * (torch.cos if kind == "rff" else torch.relu)(
        torch.matmul(W, x.flatten(1).T).transpose(-1, -2) + net.b1.unsqueeze(1).unsqueeze(1))
    torch.testing.assert_close(ours, ref, atol=1e-5, rtol=1e-5)
    params = [net.eta] + ([net.W1] if kind == "relu" else [])
    g_ours = torch.autograd.grad(ours.pow(2).sum(), params, retain_graph=True)
    g_ref = torch.autograd.grad(ref.pow(2).sum(), params)
    for a, b in zip(g_ours, g_ref):
        torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
    assert g_ours[0].abs().sum() > 0


@pytest.mark.parametrize("kind", ["rff", "relu"])
def test_orbit_averaged_model_is_invariant_and_plain_model_is_not(kind):
    """eta_rot = pi with the periodic 4-point grid averages over C4: invariant to rot90 (known answer);
    eta = 0 is a deliberately non-invariant model that must fail the same check."""
    x = torch.rand(6, 1, 12, 12)
    xr = torch.rot90(x, 1, dims=(-2, -1))
    eps = linspace_eps(4, endpoint=False)  # angles -pi, -pi/2, 0, pi/2
    inv = _net(kind, eta_rot=math.pi)
    torch.testing.assert_close(inv(x, eps=eps, sample_weights=False), inv(xr, eps=eps, sample_weights=False),
                               atol=1e-4, rtol=1e-4)
    plain = _net(kind, eta_rot=0.0)
    with torch.no_grad():  # a non-zero mean so the outputs depend on the input
        plain.posterior.mu.normal_()
        inv.posterior.mu.copy_(plain.posterior.mu)
    assert not torch.allclose(plain(x, eps=eps, sample_weights=False), plain(xr, eps=eps, sample_weights=False),
                              atol=1e-3)
    torch.testing.assert_close(inv(x, eps=eps, sample_weights=False), inv(xr, eps=eps, sample_weights=False),
                               atol=1e-4, rtol=1e-4)


def test_shapes_colour_flat_and_maximum_likelihood_members():
    net = _net("relu", M=3, shape=(3, 8, 8), hidden=10, bayes=0.0)
    out = net(torch.rand(4, 3, 8, 8), samples=5, generator=torch.Generator().manual_seed(0))
    assert out.shape == (3, 4, 5) and torch.allclose(out.exp().sum(-1), torch.ones(3, 4))
    assert torch.equal(net.kl(), torch.zeros(3))  # ML: no KL term
    toy = _net("rff", M=2, shape=(2,), hidden=32, eta_rot=1.0, sigma=5.0)
    assert toy(torch.randn(7, 2), samples=3).shape == (2, 7, 5)
    R = QUARTER.expand(2, 1, 3, 3)  # a quarter turn of the weights = the inverse turn of 2-D inputs
    xs = torch.randn(7, 2)
    torch.testing.assert_close(toy.features(xs, R), toy.features(xs @ QUARTER[:2, :2].T, None), atol=1e-5, rtol=0)


def test_bad_input():
    with pytest.raises(ValueError, match="'sigmoid'"):
        _net("sigmoid")
    with pytest.raises(ValueError, match="unknown invariance 'shear'"):
        invariance_mask("shear")
    with pytest.raises(ValueError, match=r"got \(4, 1, 10, 10\)"):
        _net().features(torch.rand(4, 1, 10, 10), None)
    with pytest.raises(ValueError, match="alpha must be > 0, got -1"):
        ClassGaussian(1, 2, 3, alpha=-1)
    with pytest.raises(ValueError, match="points must be >= 1, got 0"):
        linspace_eps(0)
    with pytest.raises(ValueError, match=r"eta must be \(M, 6\), got shape \(6,\)"):
        transformation_matrices(torch.zeros(6), torch.zeros(3, 6))


def test_eta_zero_is_a_stationary_point_of_the_objective():
    # T(eta, eps) = T(-eta, -eps), and eps ~ U[-1, 1] is symmetric: the expected objective is even in eta.
    # At eta = 0 every sample is the identity, so with antithetic noise (eps, -eps) the gradient vanishes
    # exactly: only Monte Carlo noise moves a learned eta off 0 (why ch2's Table 2 may start elsewhere).
    g = torch.Generator().manual_seed(0)
    e = uniform_eps(1, 4, g)[0]  # (4, 6)
    eta = torch.randn(3, 6, generator=g)
    torch.testing.assert_close(transformation_matrices(eta, e), transformation_matrices(-eta, -e))
    net = _net("relu", M=2, learn=1.0)
    with torch.no_grad():
        net.posterior.mu.normal_(generator=g)  # mu = 0 would make the logits ignore the features
    x, y = torch.rand(8, 1, 12, 12, generator=g), torch.randint(0, 5, (8,), generator=g)
    logf = net(x, eps=torch.cat([e, -e]), sample_weights=False)  # (M, B, K)
    logf.gather(-1, y.expand(2, -1).unsqueeze(-1)).sum().backward()
    assert net.eta.grad.abs().max() < 1e-6
    net.eta.grad = None
    net(x, eps=e, sample_weights=False).gather(-1, y.expand(2, -1).unsqueeze(-1)).sum().backward()
    assert net.eta.grad.abs().max() > 1e-4  # one-sided noise does move it
