"""Chapter 4 runners on tiny settings: shapes, the known answers they rest on, and clear errors."""
import math
from dataclasses import replace

import pytest
import torch

from helpers.experiments import ch4
from helpers.models import MLP, count_parameters

TINY = replace(ch4.SETTINGS["quick"], seeds=(1, 2), o5_n=300, o5_sizes=(100, 300), o5_budget=6000,
               o5_test=100, rot_train=300, rot_val=100, rot_test=100, rot_epochs=2, shallow=(16,), deep=(16, 16),
               sweep_params=(40_000,), sweep_depths=(1, 2), sweep_epochs=1, lw_width=16, lw_epochs=1,
               fractions=(0.1, 1.0), fraction_repeats=2)
CPU = torch.device("cpu")


def test_o5_target_is_invariant_and_invariant_model_is_exact():
    x, y = ch4.o5_dataset(64, seed=0)
    Q, _ = torch.linalg.qr(torch.randn(5, 5, generator=torch.Generator().manual_seed(1)))
    gx = torch.cat([x[:, :5] @ Q.T, x[:, 5:] @ Q.T], 1)
    assert torch.allclose(ch4.o5_target(gx), y[:, 0], atol=1e-4)
    inv = ch4.O5Invariant()
    assert torch.allclose(inv(gx), inv(x), atol=1e-4)


def test_run_o5_shapes_and_invariant_model():
    r = ch4.run_o5(TINY, CPU, seed=0)
    assert r["sigma"].shape == (2, 25) and r["bias"].shape == (2, 25) and r["test_mse"].shape == (2,)
    assert r["epochs"] == 20  # min(6000 / 300, 400)
    assert r["invariant"]["bias"][:10].max() < 1e-8 and r["invariant"]["variance"] < 1e-20
    s = ch4.run_o5_sizes(TINY, CPU, seed=0)
    assert s["variance10"].shape == (2, 2) and -1 <= s["spearman"] <= 1


def test_hidden_for_params_matches_paper_widths():
    # App. A.3.2: 2-layer perceptron with 47 units ~ 40k parameters, 6-layer with 116 ~ 160k
    assert ch4.hidden_for_params(40_000, 1) == 47 or abs(ch4.hidden_for_params(40_000, 1) - 47) <= 1
    assert abs(ch4.hidden_for_params(160_000, 5) - 116) <= 1
    h = ch4.hidden_for_params(120_000, 3)
    assert abs(count_parameters(MLP(784, [h] * 4, 10)) - 120_000) < 2_000
    with pytest.raises(ValueError, match="depth"):
        ch4.hidden_for_params(40_000, 0)


def test_rotation_mnist_is_rotated_blurred_and_reproducible(need_data):
    need_data("mnist")
    a = ch4.rotation_mnist(50, 10, 20, blur=1.5, seed=3)
    b = ch4.rotation_mnist(50, 10, 20, blur=1.5, seed=3)
    assert a["train"][0].shape == (50, 28, 28) and a["test"][0].shape == (20, 28, 28)
    assert torch.equal(a["train"][0], b["train"][0]) and a["train"][0].max() <= 1
    # blurred: neighbouring pixels differ far less than in raw MNIST
    assert (a["train"][0].diff(dim=-1).abs().max()) < 0.5
    with pytest.raises(ValueError, match="MNIST has"):
        ch4.rotation_mnist(70_000, 10, 20)


def test_rotate_quarter_turn_is_rot90():
    img = torch.rand(2, 1, 6, 6, generator=torch.Generator().manual_seed(0))
    out = ch4.rotate(img, torch.full((2,), math.pi / 2))
    assert any(torch.allclose(out, torch.rot90(img, k, (-2, -1)), atol=1e-5) for k in (1, 3))


def test_rotation_sweep_layerwise_and_sample_complexity_run(need_data):
    need_data("mnist")
    d = ch4.rotation_mnist(TINY.rot_train, TINY.rot_val, TINY.rot_test, TINY.blur, 0)
    rot = ch4.run_rotation(TINY, d, CPU)
    assert rot["deep"]["sigma"].shape == (2, 4) and rot["deep"]["generator"].shape == (2, 2, 2)
    sw = ch4.run_sweep(TINY, d, CPU)
    assert len(sw["rows"]) == 2 * 2 and -1 <= sw["spearman_var_acc"] <= 1
    lw = ch4.run_layerwise(TINY, d, CPU)
    assert lw["MLP-7"]["variance"].shape == (2, 7) and lw["sub MLP-3"]["variance"].shape == (2, 4)
    # layer-wise training keeps the re-injected layers frozen: its first layers equal sub-MLP-3's
    assert torch.allclose(lw["MLP-7[L]"]["variance"][:, :3], lw["sub MLP-3"]["variance"][:, :3])
    sc = ch4.run_sample_complexity(TINY, rot["deep"]["models"][0], d["train"][0], images=True)
    assert sc["variance"].shape == (2, 2)
    assert math.isclose(float(sc["variance"][-1, 0]), sc["variance_full"], rel_tol=1e-5)
    with pytest.raises(ValueError, match="layer must be"):
        ch4.measure(rot["deep"]["models"][0], d["train"][0][:4], layer=9)


def test_record_frames_of_committed_standard_run():
    from helpers.records import recorded

    rec = recorded("04_liegg").get("standard")
    if rec is None:
        pytest.skip("no standard record committed")
    f = ch4.record_frames(rec)
    assert set(f["rotation"].index) == {"shallow", "deep"}
    assert list(f["sweep"].index) == sorted(rec["numbers"]["settings"]["sweep_depths"])
    assert f["sample_complexity"].loc["o5"].index.max() == 1.0


class _OffHost(torch.Tensor):
    """Stands in for a CUDA tensor on a CPU-only machine: ``.numpy()`` refuses, as it does for CUDA tensors,
    until ``.cpu()`` has been called (a GPU run of the chapter failed in a plot helper this way)."""

    def numpy(self, *args, **kwargs):
        raise TypeError("can't convert cuda:0 device type tensor to numpy")

    def cpu(self, *args, **kwargs):
        return self.as_subclass(torch.Tensor)


def test_plot_helpers_accept_device_tensors():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from helpers.plots import image_grid
    off = lambda t: t.as_subclass(_OffHost)  # noqa: E731
    with pytest.raises(TypeError):  # the stand-in does refuse, so the checks below can fail
        off(torch.ones(2)).double().mean(0).numpy()
    fig, axes = plt.subplots(1, 4)
    sigma = off(torch.rand(3, 25).sort(1).values + 0.1)  # (M, D)
    ch4.plot_spectrum(axes[:2], {"trained": {"sigma": sigma, "bias": off(torch.rand(3, 25))}})
    ch4.plot_rotation_density(axes[2], off(torch.tensor([[0.0, -1.0], [1.0, 0.0]]) / math.sqrt(2)), "h")
    ch4.plot_sample_complexity(axes[2:], {"fractions": off(torch.tensor([0.1, 0.5, 1.0])),
                                          "variance": off(torch.rand(3, 4)), "bias": off(torch.rand(3, 4)),
                                          "variance_full": 0.5, "bias_full": 0.5}, "t")
    plt.close(fig)
    plt.close(image_grid(off(torch.rand(2, 8, 8))))
