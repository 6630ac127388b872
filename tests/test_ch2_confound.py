"""Chapter 2's base-kernel confound (issue 39, item 5): renormalised warped RFF rows and the study's reading."""
import math

import numpy as np
import pytest
import torch

from helpers.experiments.ch2.invariant_weights import InvariantNet, transformation_matrices, uniform_eps
from helpers.experiments.ch2.results import confound_frame, confound_reading
from helpers.experiments.ch2.warps import filter_gain, transform_weights


def _rotation(deg: float) -> torch.Tensor:
    """``(1, 1, 3, 3)``: the rotation by ``deg`` degrees exactly (eps = 1)."""
    eta, eps = torch.zeros(1, 6), torch.zeros(1, 6)
    eta[0, 2], eps[0, 2] = math.radians(deg), 1.0
    return transformation_matrices(eta, eps)


@pytest.mark.parametrize("deg,kept", [(0, (0.999, 1.001)), (90, (0.999, 1.001)), (45, (0.3, 0.45)), (5, (0.4, 0.55))])
def test_filter_gain_gives_the_norm_back(deg, kept):
    w = 0.3 * torch.randn(1, 64, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    T = _rotation(deg)
    g = filter_gain(w, T, 0.1)  # (1, 1, 64)
    assert kept[0] < float((1 / g**2).mean()) < kept[1]  # the norm^2 a bilinear warp keeps on white-noise rows
    warped = transform_weights(w, T, 0.1).flatten(3)  # (1, 1, 64, P)
    torch.testing.assert_close((g[..., None] * warped).norm(dim=-1), w.flatten(2).norm(dim=-1)[:, None])


def test_renormalised_members_differ_only_where_flagged():
    deg = torch.tensor([45.0, 45.0, 90.0, 90.0])
    eta = torch.zeros(4, 6)
    eta[:, 2] = torch.deg2rad(deg)
    args = ("rff", (1, 28, 28), 32, 10, eta, torch.zeros(4, 6), torch.ones(4))
    net = InvariantNet(*args, renormalise=torch.tensor([0.0, 1.0, 0.0, 1.0]))
    plain = InvariantNet(*args)
    with torch.no_grad():
        net.posterior.mu.normal_(generator=torch.Generator().manual_seed(1))
        plain.posterior.mu.copy_(net.posterior.mu)
    x = torch.rand(6, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    out = {}
    for name, model, fast in (("fast", net, True), ("reference", net, False), ("plain", plain, True)):
        out[name] = model(x, 8, torch.Generator().manual_seed(3), sample_weights=False, common=True, fast=fast)
    torch.testing.assert_close(out["fast"], out["reference"], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(out["fast"][[0, 2]], out["plain"][[0, 2]], atol=1e-5, rtol=1e-5)
    assert (out["fast"][[1, 3]] - out["plain"][[1, 3]]).abs().max() > 1e-2  # the kernel of 45 and 90 deg changed
    eps = uniform_eps(1, 8, torch.Generator().manual_seed(4))[0]
    gain = net.filter_gains(transformation_matrices(net.eta, eps))
    assert torch.equal(gain[[0, 2]], torch.ones_like(gain[[0, 2]])) and gain[1].min() > 1
    assert net.member(1).renorm.tolist() == [1.0] and "renorm" not in net.state_dict()  # checkpoints unchanged


def test_renormalise_is_refused_where_it_means_nothing():
    eta = torch.zeros(2, 6)
    with pytest.raises(ValueError, match="renormalise"):
        InvariantNet("relu", (1, 28, 28), 8, 10, eta, eta, torch.ones(2), renormalise=torch.ones(2))
    with pytest.raises(ValueError, match="renormalise"):
        InvariantNet("rff", (1, 28, 28), 8, 10, eta, eta, torch.ones(2), renormalise=torch.ones(3))


def _run(plain: list[float], renorm: list[float]) -> dict:
    """A ``kernel-confound`` sweep over 0, 45, 90 degrees with these ELBOs (the 0-degree member in both arms)."""
    return {"degrees": [0.0, 45.0, 90.0, 45.0, 90.0], "renormalised": [False, False, False, True, True],
            "elbo": plain + renorm[1:], "test_acc": [90.0] * 5, "norm2_kept": [1.0, 0.4, 1.0, 0.4, 1.0]}


def test_confound_reading_known_answers():
    same = _run([-2.0, -1.5, -1.8], [-2.0, -1.6, -1.9])  # argmax 45 in both arms
    moved = _run([-2.0, -1.5, -1.8], [-2.0, -1.9, -1.7])  # 45 -> 90
    to_zero = _run([-2.0, -1.5, -1.8], [-2.0, -2.1, -2.2])  # 45 -> 0 (the 0-degree member stands in both)
    got = confound_reading({"runs": {"a": [same, same], "b": [moved, to_zero], "c": [same, moved]}})
    assert got["a"] == {"plain": [45.0, 45.0], "renormalised": [45.0, 45.0], "verdict": "unchanged"}
    assert got["b"]["renormalised"] == [90.0, 0.0] and got["b"]["verdict"] == "changed"
    assert got["c"]["verdict"] == "mixed"
    frame = confound_frame({"runs": {"b": [moved, to_zero]}})
    assert list(frame["η (deg)"]) == [0.0, 45.0, 90.0]
    np.testing.assert_allclose(frame["shift"], [0.0, (-0.4 - 0.6) / 2, (0.1 - 0.4) / 2])
    np.testing.assert_allclose(frame["norm² kept"], [1.0, 0.4, 1.0])
