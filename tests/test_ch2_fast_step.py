"""Chapter 2's fast training step (issue 39) gives the reference step's ELBO and gradient.

Declared tolerance: float32 round-off, |fast - reference| <= 1e-4 * max|reference| + 1e-6 for the ELBO of every
member and every parameter's gradient (the two compute the same sums in another order; a wrong index, a missing
member or a dropped term is larger by orders of magnitude, as the last test shows).
"""
import math
from dataclasses import replace

import pytest
import torch

from helpers.experiments.ch2 import fast_step
from helpers.experiments.ch2.invariant_weights import InvariantNet
from helpers.experiments.ch2.settings import SETTINGS, TrainConfig
from helpers.experiments.ch2.train import fit_sweep
from helpers.partfile import canonical, settings_hash

RTOL = 1e-4


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return bool(((a - b).abs() <= RTOL * b.abs().max() + 1e-6).all())


def _sweep(kind: str, hidden: int = 24, shape=(1, 14, 14)) -> InvariantNet:
    """Fixed, learned and maximum-likelihood members interleaved, so that the learned ones form several runs."""
    deg = torch.tensor([5.0, 45.0, 90.0, 20.0, 175.0, 60.0])
    learn = torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0, 0.0])
    eta = torch.zeros(6, 6)
    eta[:, 2] = torch.deg2rad(deg)
    eta[:, 0] = 0.05  # a translation too, so that every entry of the warp's grid matters
    mask = torch.zeros(6, 6)
    mask[:, [0, 2]] = learn[:, None]
    bayes = torch.tensor([1.0, 1.0, 0.0, 1.0, 1.0, 1.0])
    net = InvariantNet(kind, shape, hidden, 10, eta, mask, bayes, sigma=0.3, seed=1,
                       feature_scale=math.sqrt(2 / hidden))
    with torch.no_grad():  # a posterior away from its initial value, so that every term has a gradient
        g = torch.Generator().manual_seed(5)
        q = net.posterior
        q.mu.copy_(0.3 * torch.randn(q.mu.shape, generator=g))
        q.off.copy_(0.05 * torch.randn(q.off.shape, generator=g))
        q.log_diag.copy_(-0.5 + 0.1 * torch.randn(q.log_diag.shape, generator=g))
    return net


def _elbo_and_grads(net: InvariantNet, x, y, fast: bool, samples: int = 5):
    net.zero_grad(set_to_none=True)
    loss = net.neg_elbo(x, y, 1000, samples, torch.Generator().manual_seed(3), fast=fast)  # (M,)
    loss.sum().backward()
    return loss.detach(), {n: p.grad.clone() for n, p in net.named_parameters()}


@pytest.mark.parametrize("kind", ["rff", "relu"])
@pytest.mark.parametrize("chunk", [2, 8])
def test_fast_step_gives_the_reference_elbo_and_gradient(kind, chunk, monkeypatch):
    """Every member's minus ELBO and every parameter's gradient (eta of the learned members, W1 / b1 of the ReLU
    net, the posterior's mean, log-diagonal and packed factor) agree within the declared tolerance, with S = 5
    samples split into chunks of 2 (chunk boundaries inside a member) or taken whole."""
    monkeypatch.setattr(fast_step, "CHUNK_GRIDS", chunk)
    torch.manual_seed(0)
    x, y = torch.rand(7, 1, 14, 14), torch.randint(0, 10, (7,))
    net = _sweep(kind)
    ref_loss, ref = _elbo_and_grads(net, x, y, fast=False)
    loss, got = _elbo_and_grads(net, x, y, fast=True)
    assert _close(loss, ref_loss), (loss, ref_loss)
    assert set(got) == set(ref)
    for name in ref:
        assert _close(got[name], ref[name]), (name, (got[name] - ref[name]).abs().max(), ref[name].abs().max())
    assert (ref["eta"][[1, 2, 4]].abs().sum(-1) > 0).all()  # the learned members' eta gets a gradient ...
    assert (got["eta"][[0, 3, 5]] == 0).all()  # ... the fixed members' none, in both steps
    assert (ref["eta"][[0, 3, 5]] == 0).all()


def test_a_wrong_step_is_outside_the_tolerance(monkeypatch):
    """The tolerance can fail: a fast step that forgets one run of learned members (their warp gets no gradient)
    is far outside it for that member's eta, and within it for the others."""
    torch.manual_seed(0)
    x, y = torch.rand(7, 1, 14, 14), torch.randint(0, 10, (7,))
    net = _sweep("rff")
    _, ref = _elbo_and_grads(net, x, y, fast=False)
    monkeypatch.setattr(InvariantNet, "_runs", lambda self: ((1, 3),))  # member 4 forgotten
    _, got = _elbo_and_grads(net, x, y, fast=True)
    assert not _close(got["eta"], ref["eta"]) and _close(got["eta"][:4], ref["eta"][:4])


def test_fast_step_on_colour_images_with_every_invariance_type():
    """Table 3's case: CIFAR-shaped colour images (C = 3) and ReLU members learning no / rotation / translation /
    scale / affine invariance: the same ELBO and gradients."""
    from helpers.experiments.ch2.invariant_weights import invariance_mask

    torch.manual_seed(0)
    mask = torch.stack([invariance_mask(i) for i in ("none", "rotation", "translation", "scale", "affine")])
    net = InvariantNet("relu", (3, 12, 12), 16, 10, 0.1 * mask, mask, torch.ones(5), feature_scale=math.sqrt(2 / 16))
    x, y = torch.randn(6, 3, 12, 12), torch.randint(0, 10, (6,))
    ref_loss, ref = _elbo_and_grads(net, x, y, fast=False)
    loss, got = _elbo_and_grads(net, x, y, fast=True)
    assert _close(loss, ref_loss) and all(_close(got[n], ref[n]) for n in ref)
    assert (ref["eta"][1:].abs().sum(-1) > 0).all()


def test_packed_lower_matvec_and_its_gradient():
    """``packed_lower_matvec`` is the strictly lower triangle's product, its gradient checked in double."""
    D, R = 7, 3
    rows, cols = torch.tril_indices(D, D, -1)
    off = torch.randn(R, len(rows), dtype=torch.float64, requires_grad=True)
    eps = torch.randn(R, D, dtype=torch.float64)
    L = torch.zeros(R, D, D, dtype=torch.float64)
    L[:, rows, cols] = off.detach()
    torch.testing.assert_close(fast_step.packed_lower_matvec(off, eps), (L @ eps[..., None])[..., 0])
    assert torch.autograd.gradcheck(lambda o: fast_step.packed_lower_matvec(o, eps), (off,))
    with pytest.raises(ValueError, match=r"off must be \(R=3, 21\)"):
        fast_step.packed_lower_matvec(off[:, :-1], eps)


def test_learned_runs():
    assert fast_step.learned_runs(torch.tensor([False, True, True, False, True])) == ((1, 3), (4, 5))
    assert fast_step.learned_runs(torch.tensor([False, False])) == ()


def test_the_step_setting_keeps_stored_hashes_and_rejects_bad_values():
    """``TrainConfig.step`` at its default ("fast") is left out of the settings hash, so every stored part keeps
    its hash; the reference step is another hash; a bad value is named."""
    assert "step" not in canonical(TrainConfig()) and canonical(TrainConfig(step="reference"))["step"] == "reference"
    s = SETTINGS["standard"]
    assert settings_hash(s=s) != settings_hash(s=replace(s, train=replace(s.train, step="reference")))
    with pytest.raises(ValueError, match="unknown training step 'bf16'"):
        TrainConfig(step="bf16")


def test_fit_sweep_takes_the_same_path_with_either_step():
    """Four steps of ``fit_sweep`` with the fast and the reference step end at the same eta and loss history
    (round-off apart; the fused and the per-tensor Adam are the same update)."""
    torch.manual_seed(0)
    x, y = torch.rand(64, 1, 14, 14), torch.randint(0, 10, (64,))
    out = {}
    for step in ("reference", "fast"):
        net = _sweep("rff")
        cfg = TrainConfig(epochs=1, batch_size=16, lr=1e-2, lr_eta=1e-2, samples=3, log_every=1, step=step)
        out[step] = fit_sweep(net, (x, y), cfg, seed=0)
    torch.testing.assert_close(out["fast"]["eta"], out["reference"]["eta"], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(out["fast"]["loss"], out["reference"]["loss"], atol=1e-5, rtol=1e-4)
    assert (out["fast"]["eta"][-1] != out["fast"]["eta"][0]).any()  # eta moved
