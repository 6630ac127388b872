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
    net = InvariantNet(*args, renormalise=torch.tensor([0.0, 1.0, 0.0, 1.0]), metric=torch.eye(784))
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


def test_the_data_metric_rescales_to_the_spread_over_the_data():
    gen = torch.Generator().manual_seed(5)
    x = torch.rand(200, 784, generator=gen)
    cov = torch.cov(x.T)  # (P, P)
    w = 0.3 * torch.randn(1, 16, 1, 28, 28, generator=gen)
    T = _rotation(45)
    g = filter_gain(w, T, 0.1, cov)  # (1, 1, 16)
    warped = g[..., None] * transform_weights(w, T, 0.1).flatten(3)  # (1, 1, 16, P)
    xc = x - x.mean(0)
    spread = lambda v: (v @ xc.T).var(-1, correction=1)  # noqa: E731: the pre-activation's variance over the data
    torch.testing.assert_close(spread(warped[0, 0]), spread(w.flatten(2)[0]), rtol=1e-3, atol=1e-5)
    with pytest.raises(ValueError, match="metric"):
        InvariantNet("rff", (1, 28, 28), 8, 10, torch.zeros(1, 6), torch.zeros(1, 6), torch.ones(1),
                     renormalise=torch.tensor([2.0]))


def _run(plain: list[float], renorm: list[float], data: list[float] | None = None) -> dict:
    """A ``kernel-confound`` sweep over 0, 45, 90 degrees with these ELBOs (the 0-degree member in every arm)."""
    data = data or plain
    return {"degrees": [0.0, 45.0, 90.0, 45.0, 90.0, 45.0, 90.0],
            "arm": ["as warped"] * 3 + ["norm"] * 2 + ["data"] * 2,
            "elbo": plain + renorm[1:] + data[1:], "test_acc": [90.0] * 7, "norm2_kept": [1.0, 0.4, 1.0] * 2 + [0.4],
            "spread2_kept": [1.0, 0.9, 1.0] * 2 + [0.9]}


def test_confound_reading_known_answers():
    same = _run([-2.0, -1.5, -1.8], [-2.0, -1.6, -1.9])  # argmax 45 in every arm
    moved = _run([-2.0, -1.5, -1.8], [-2.0, -1.9, -1.7])  # 45 -> 90 under "norm"
    to_zero = _run([-2.0, -1.5, -1.8], [-2.0, -2.1, -2.2], [-2.0, -1.4, -1.3])  # norm: 45 -> 0; data: 45 -> 90
    got = confound_reading({"runs": {"a": [same, same], "b": [moved, to_zero], "c": [same, moved]}})
    assert got["a"] == {"argmax": {"as warped": [45.0, 45.0], "norm": [45.0, 45.0], "data": [45.0, 45.0]},
                        "verdict": {"norm": "unchanged", "data": "unchanged"}}
    assert got["b"]["argmax"]["norm"] == [90.0, 0.0] and got["b"]["verdict"] == {"norm": "changed", "data": "mixed"}
    assert got["c"]["verdict"]["norm"] == "mixed"
    frame = confound_frame({"runs": {"b": [moved, to_zero]}})
    assert list(frame.index.get_level_values("η (deg)")) == [0.0, 45.0, 90.0]
    np.testing.assert_allclose(frame[("ELBO", "norm")], [-2.0, (-1.9 - 2.1) / 2, (-1.7 - 2.2) / 2])
    assert list(frame[("Δ ELBO", "norm")]) == ["+0.000 ± 0.000", "-0.500 ± 0.100", "-0.150 ± 0.250"]
    np.testing.assert_allclose(frame[("kept", "norm²")], [1.0, 0.4, 1.0])


def test_the_page_shows_the_study(monkeypatch):
    from helpers.experiments.ch2 import views

    shown = []
    monkeypatch.setattr(views, "_show", shown.append)
    monkeypatch.setattr(views, "figure", lambda fig, name, caption, alt: shown.append(name))

    class Studies(dict):
        profile = "standard"
        meta = {"kernel-confound": {"device": "CPU", "date": "2026-12-08T01:00:00"}}

    moved = _run([-2.0, -1.5, -1.8], [-2.0, -1.9, -1.7])
    part = {"runs": {"partial": [moved, moved]}, "n_train": 5000, "hidden": 256, "samples": 8, "epochs": 20,
            "steps": 800}
    views.show_kernel_confound(Studies({"kernel-confound": part}))
    assert shown[0] == "fig-ch2-confound" and len(shown) == 3
    assert ("partial: the ELBO picks 45°, 45° as warped (seeds), 90°, 90° rescaled to the row's norm: **changed**, "
            "45°, 45° rescaled to the row's spread: **unchanged**") in shown[2].data
    shown.clear()
    views.show_kernel_confound(Studies())
    assert "not stored" in shown[0].data
