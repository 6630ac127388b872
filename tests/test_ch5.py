"""Chapter 5: each lens, through the chapter's code path, gives its known answer on an exactly invariant model
(WT over R4: LI = DI = 0, SI = 1, every layer's invariance 1; an exactly rotation-invariant functional: LieGG
retrieves the rotation generator with zero bias and no variance along it), and a non-invariant model fails each;
the zoo's parts and claims end to end on a tiny profile; errors name the bad value."""
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn
from torchvision.transforms.v2.functional import gaussian_blur

from helpers import data, registry
from helpers.claims import VERDICTS
from helpers.experiments import ch5
from helpers.groups import ROT4
from helpers.metrics import image_coordinates, output_lens
from helpers.experiments.ch2.settings import TrainConfig
from helpers.training import FitConfig

TINY = replace(ch5.SETTINGS["quick"], n_train=300, n_val=100, n_test=120, hidden=(24, 24, 24), sizes=((16, 16, 16),),
               nus=(0.0, 10.0), fit=FitConfig(epochs=1, batch_size=100, lr=2e-3), n_eval=64, n_si=6, ig_steps=4,
               eta_hidden=32, eta_fit=TrainConfig(epochs=2, batch_size=100, lr=1e-2, lr_eta=1e-2, samples=4,
                                                  log_every=2),
               eta_points=6, probe_degrees=(0.0, 45.0, 90.0, 180.0), probe_points=6)


@pytest.fixture(scope="module")
def digits():
    """Blurred MNIST test digits ``(64, 28, 28)`` in [0, 1], labels, and the raw digits in [0, 1] (background 0)."""
    x, y = data.load("mnist", train=False)
    raw = data.to_unit(x[:64])  # (64, 28, 28)
    return gaussian_blur(raw.unsqueeze(1), [9, 9], [1.5, 1.5]).squeeze(1), y[:64], raw


@pytest.fixture
def models(need_data):
    need_data("mnist")
    torch.manual_seed(0)
    return {k: ch5.zoo.make_model(k, (32, 32, 32)) for k in ("WT", "plain")}


def test_output_lens_wt_exact_plain_fails(models, digits):
    wt, plain = (output_lens([models[k]], digits[:2], ROT4, TINY.n_eval, TINY.n_si, TINY.ig_steps)
                 for k in ("WT", "plain"))
    assert wt["LI"][0] < 1e-10 and wt["DI"][0] < 1e-10 and wt["SI"][0] > 1 - 1e-5
    assert plain["LI"][0] > 1e-6 and plain["DI"][0] > 1e-9 and plain["SI"][0] < 0.99   # untrained: small logits


def test_layer_lens_wt_invariant_at_every_layer_plain_fails(models, digits):
    wt = ch5.lenses.layer_lens(models["WT"], digits[0])
    assert wt["layers"] == ["h1 (pooled)", "h2", "h3", "logits"]
    assert np.all(wt["invariance"] > 1 - 1e-6) and np.all(wt["equivariance"] >= wt["invariance"] - 1e-9)
    plain = ch5.lenses.layer_lens(models["plain"], digits[0])
    assert plain["layers"] == ["h1", "h2", "h3", "logits"]
    assert plain["invariance"][-1] < 0.999     # the pooled output (Final) of a plain MLP moves under rotation
    assert np.all(plain["equivariance"] >= plain["invariance"] - 1e-9)
    for m in models.values():   # LieGG layer by layer reads the same layers as chapter 3's lens
        feats = ch5.lenses.hidden_features(m)
        assert len(feats) == len(ch5.lenses.layers_of(m)) - 1
        assert [tuple(f(digits[0][:2]).shape) for f in feats] == [(2, 32)] * 3
    parts = ch5.lenses.depth_means(np.array([1.0, 2.0, 3.0, 4.0, 5.0, 9.0]))
    assert parts.tolist() == [1.5, 3.5, 5.0, 9.0]    # thirds of the 5 hidden layers, then the logits


class Radial(nn.Module):
    """Three exactly rotation-invariant (in the continuum) logits of an image, radially weighted sums as in
    tests/test_liegg.py (three, so that L2-normalising them leaves no second symmetry), or, with ``off_centre``,
    the same weighting off-centre and anisotropic (not invariant). ``(B, H, W) -> (B, 3)``."""

    def __init__(self, off_centre: bool = False):
        super().__init__()
        xy = image_coordinates(28, 28, torch.float64)
        r2 = (xy[..., 0] - 0.3) ** 2 + 4 * xy[..., 1] ** 2 if off_centre else xy.pow(2).sum(-1)  # (28, 28)
        self.register_buffer("w1", torch.exp(-3 * r2))
        self.register_buffer("w2", torch.exp(-8 * r2))
        self.anchor = nn.Parameter(torch.zeros((), dtype=torch.float64))   # the lenses read a parameter's device

    def forward(self, x):
        s = lambda w, v: (w * v).sum((-2, -1))  # noqa: E731  (B,)
        return torch.stack([torch.tanh(s(self.w1, x**2) / 50), s(self.w1, x) / 100, s(self.w2, x) / 30 - 1],
                           1) + self.anchor  # (B, 3)


def test_liegg_lens_rotation_invariant_model_and_a_failing_one(digits, need_data):
    need_data("mnist")
    x = gaussian_blur(digits[2].double().unsqueeze(1), [9, 9], [1.5, 1.5]).squeeze(1)  # (64, 28, 28) float64
    inv = ch5.lenses.liegg_lens(Radial(), x)
    rot = ch5.lenses.ROTATION_GENERATOR.reshape(2, 2)
    assert inv["bias"] < 0.03 and abs(float((inv["generator"] * rot).sum())) > 0.99
    off = ch5.lenses.liegg_lens(Radial(off_centre=True), x)
    assert off["bias"] > 0.3
    assert inv["rotation"] < 1e-3 * off["rotation"]       # no variance along J for the invariant model
    assert inv["rotation"] >= inv["variance"] - 1e-15     # sigma_min^2 / N is the minimum over unit generators


def test_parts_and_claims_end_to_end(need_data):
    need_data("mnist")
    torch.set_num_threads(1)
    ev = {"regimes": ch5.runs.run_regimes(TINY, torch.device("cpu")),
          "nu": ch5.runs.run_nu(TINY, torch.device("cpu")), "eta": ch5.runs.run_eta(TINY, torch.device("cpu"))}
    df = ch5.results.frame(ev)
    assert len(df) == 7 * len(TINY.seeds) and set(df.kind) == {"plain", "DA-R4", "DA-SO2", "WT", "IR", "ML-η"}
    assert set(df.eta_star) <= set(TINY.probe_degrees) and df.eta_star.notna().all()
    ml = df[df.kind == "ML-η"]
    assert ml.eta_learned.notna().all() and ml.eta_learned.nunique() == len(TINY.seeds)  # one eta per member
    assert ml.inv_Middle.isna().all() and df[df.kind != "ML-η"].eta_learned.isna().all()
    da, ir0 = ev["regimes"]["members"]["DA-R4 · 24×3"], ev["nu"]["members"]["IR ν=0 · 24×3"]
    assert np.allclose(da["acc"], ir0["acc"]) and np.allclose(da["LI"], ir0["LI"], rtol=1e-4)  # nu = 0 is DA-R4
    assert len(ch5.results.networks(df)) == 6 * len(TINY.seeds)
    table = ch5.claims.table(ev)
    verdicts = {r.claim.id: r.verdict for r in table.results}
    assert set(verdicts) == set(ch5.claims.CLAIMS) and all(v in VERDICTS for v in verdicts.values())
    assert verdicts["V5.1"] == "reproduced" and verdicts["S5.4"] != "not run"
    assert ch5.views.summary(ev).shape == (6, len(ch5.results.LENSES))
    ch5.views.scatter_matrix(ev)  # the per-layer lenses' NaN (ML-η) are left out pair by pair
    assert ch5.views.agreement(ev)["ρ (oriented)"].notna().all()
    lie = ev["regimes"]["members"]["WT · 24×3"]["liegg_layers"]
    assert lie.shape == (len(TINY.seeds), 4) and np.all(lie > 0)      # WT is not invariant to infinitesimal rotations


def test_chapter_registered_and_errors_name_the_bad_value():
    assert registry.get_chapter("5").stem == ch5.STEM == "05_four_lenses"
    assert [p.name for p in ch5.PARTS(ch5.SETTINGS["quick"])] == ["regimes", "nu", "sizes", "eta", "cnn"]
    with pytest.raises(ValueError, match="built and trained as one sweep by train_eta"):
        ch5.zoo.make_model("ML-η", (8,))
    with pytest.raises(ValueError, match=r"hidden must be \(units,\), got \(8, 8\)"):
        ch5.zoo.Config("ML-η", (8, 8))
    with pytest.raises(ValueError, match="unknown model kind 'CNN'"):
        ch5.zoo.make_model("CNN", (8, 8, 8))
    with pytest.raises(ValueError, match="unknown model kind 'XX'"):
        ch5.zoo.Config("XX", (8, 8, 8))
    with pytest.raises(ValueError, match="nu is given for IR and only for IR"):
        ch5.zoo.Config("IR", (8, 8, 8))
    with pytest.raises(ValueError, match="needs >= 3 seeds"):
        replace(TINY, seeds=(0, 1))
    with pytest.raises(ValueError, match=">= 3 hidden layers"):
        replace(TINY, hidden=(8, 8))
    with pytest.raises(ValueError, match="a GroupPooledMLP or a SmallCNN, got Linear"):
        ch5.lenses.layers_of(nn.Linear(2, 2))


def test_eta_member_is_one_member_of_chapter_2s_sweep_and_deterministic():
    from helpers.experiments.ch2.invariant_weights import InvariantNet, invariance_mask, linspace_eps
    mask = invariance_mask("rotation")
    net = InvariantNet("relu", (1, 28, 28), 16, 10, torch.tensor([[0.3], [0.9]]) * mask, mask.expand(2, 6),
                       torch.ones(2), seed=0)
    with torch.no_grad():
        net.posterior.mu.normal_()
    x = torch.rand(5, 28, 28)
    full = net(x.unsqueeze(1), eps=linspace_eps(6, (2,)), sample_weights=False, common=True)  # (2, 5, 10)
    for m in range(2):
        one = ch5.zoo.EtaNet(net.member(m), points=6)
        assert torch.allclose(one(x), full[m]) and torch.equal(one(x), one(x))
        assert one.eta_degrees == pytest.approx(np.degrees([0.3, 0.9][m]), rel=1e-6)
    with pytest.raises(ValueError, match="member must be in 0..1, got 2"):
        net.member(2)
    with pytest.raises(ValueError, match="EtaNet wraps one member"):
        ch5.zoo.EtaNet(net)


def test_cnn_family_wt_exact_at_every_layer_and_plain_fails(digits, need_data):
    """The CNN family through the chapter's code path: WT (kernels tied over R4) gives LI = DI = 0, SI = 1 and
    chapter 3's invariance 1 at every block (maps against turned maps) and at the logits; a plain CNN fails."""
    need_data("mnist")
    torch.manual_seed(0)
    wt, plain = (ch5.zoo.make_model(k, (4, 8, 8), arch="cnn") for k in ("WT", "plain"))
    out = {k: output_lens([m], digits[:2], ROT4, TINY.n_eval, TINY.n_si, TINY.ig_steps)
           for k, m in (("WT", wt), ("plain", plain))}
    assert out["WT"]["LI"][0] < 1e-10 and out["WT"]["DI"][0] < 1e-10 and out["WT"]["SI"][0] > 1 - 1e-5
    assert out["plain"]["LI"][0] > 1e-8 and out["plain"]["SI"][0] < 0.99
    lay = ch5.lenses.layer_lens(wt, digits[0])
    assert lay["layers"] == ["block1", "block2", "block3", "logits"] and np.all(lay["invariance"] > 1 - 1e-5)
    lay = ch5.lenses.layer_lens(plain, digits[0])
    assert np.all(lay["invariance"][:3] < 0.99)
    assert [tuple(f(digits[0][:2]).shape) for f in ch5.lenses.hidden_features(plain)] == [(2, 784), (2, 392),
                                                                                            (2, 392)]
    with pytest.raises(ValueError, match="unknown architecture 'rnn'"):
        ch5.zoo.Config("plain", (4, 8, 8), arch="rnn")
    with pytest.raises(ValueError, match="no CNN of it"):
        ch5.zoo.Config("ML-η", (8,), arch="cnn")
    assert ch5.zoo.Config("IR", (4, 8, 8), 1.0, "cnn").label == "IR ν=1 · CNN 4-8-8"


def test_r4_symmetric_convolution_is_exactly_equivariant_and_a_free_one_is_not():
    from helpers.models import R4SymmetricConv2d, SmallCNN
    torch.manual_seed(0)
    x = torch.rand(3, 2, 12, 12, dtype=torch.float64)
    conv = R4SymmetricConv2d(2, 5).double()
    for k in (1, 2, 3):
        assert torch.allclose(conv(torch.rot90(x, k, (-2, -1))), torch.rot90(conv(x), k, (-2, -1)), atol=1e-12)
    free = torch.nn.Conv2d(2, 5, 3, padding=1).double()
    assert (free(torch.rot90(x, 1, (-2, -1))) - torch.rot90(free(x), 1, (-2, -1))).abs().max() > 1e-2
    with pytest.raises(ValueError, match="odd kernel size, got 4"):
        R4SymmetricConv2d(1, 1, 4)
    with pytest.raises(ValueError, match="three widths >= 1, got \\(8, 8\\)"):
        SmallCNN((8, 8))


def test_marginal_lens_flat_for_wt_on_quarter_turns_and_not_for_plain(models, digits):
    """Chapter 2's lens through the chapter's code path, on a grid of exact quarter turns (eta in {0, 90, 180}
    degrees, S = 3 points: -eta, 0, eta): WT's training log-likelihood is the same for every eta; a plain MLP's
    is not."""
    quarter = replace(TINY, probe_degrees=(0.0, 90.0, 180.0), probe_points=3)
    x = digits[0]
    out = {k: ch5.lenses.marginal_lens(m, (x, m(x).argmax(1)), quarter) for k, m in models.items()}
    assert np.ptp(out["WT"]["log_lik"]) < 1e-6 and out["WT"]["eta_star"] == 0.0 and out["WT"]["gain"] == 0.0
    assert np.ptp(out["plain"]["log_lik"]) > 1e-4


def test_cnn_part_end_to_end_and_its_claims_judged(need_data):
    need_data("mnist")
    torch.set_num_threads(1)
    tiny = replace(TINY, cnn=(4, 8, 8), cnn_nus=(1.0,), cnn_fit=FitConfig(epochs=1, batch_size=100, lr=3e-3))
    ev = {"cnn": ch5.runs.run_cnn(tiny, torch.device("cpu"))}
    assert list(ev["cnn"]["members"]) == [f"{k} · CNN 4-8-8" for k in ("plain", "DA-R4", "DA-SO2", "WT", "IR ν=1")]
    df = ch5.results.frame(ev)
    assert set(df.arch) == {"cnn"} and ch5.results.networks(df).empty and len(ch5.results.networks(df, "cnn")) == 15
    verdicts = {r.claim.id: r.verdict for r in ch5.claims.table(ev).results}
    assert verdicts["V5.1"] == "reproduced" and all(verdicts[k] != "not run" for k in ("S5.6", "S5.7", "S5.8"))
    assert verdicts["S5.1"] == "not run"       # the MLP zoo's claims do not read the CNNs
