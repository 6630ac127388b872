"""Chapter 1 runners: Transforming-MNIST on the real files, drift, the IR loss, Proposition 3.1, the orbit
neighbour measure of C1.6, and clear errors. The known answers of DI, LI and SI are in
test_invariance_metrics.py."""
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers.experiments import ch1
from helpers.groups import ROT4, TRANS3
from helpers.metrics import invariance_penalty, pick_nu
from helpers.training import FitConfig

TINY = replace(ch1.SETTINGS["quick"], n_train=200, n_test=100, n_val=50, seeds=(0, 1), hidden=(16, 16),
               fit=FitConfig(epochs=2, batch_size=64), nus=(1.0,), nus_other={"kl": (1.0,)}, n_eval=50,
               n_si=8, ig_steps=4, betas=(0.0, 1.0), n_tsne=20)


@pytest.fixture
def mnist_r4(need_data):
    need_data("mnist")
    need_data("fashion_mnist")
    return ch1.transforming("mnist", "rot4", TINY, seed=0)


def test_transforming_mnist_splits(mnist_r4):
    ds = mnist_r4
    assert ds.train[0].shape == (200, 36, 36) and ds.test[0].shape == (100, 36, 36) and ds.val[0].shape == (50, 36, 36)
    for _, y in (ds.train, ds.val, ds.test):
        assert int(y.max()) <= 8 and int(y.min()) >= 0  # the digit 9 is left out
    assert abs(float(ds.train[0].mean())) < 1e-4 and abs(float(ds.train[0].std()) - 1) < 1e-3
    # zero padding 28 -> 36: a 4-pixel frame of zeros around every raw image
    assert float(ds.raw_test[:, :4].abs().max()) == 0 and float(ds.raw_test[:, :, -4:].abs().max()) == 0
    # the stored test image is the raw one moved by its group element, standardised
    b = int(torch.nonzero(ds.g_test == 1)[0])
    assert torch.allclose(ds.test[0][b], ds.standardize(ROT4.act(ds.raw_test[b], 1)), atol=1e-6)


def test_transforming_same_seed_pairs_mnist_and_fmnist(mnist_r4):
    fm = ch1.transforming("fashion_mnist", "rot4", TINY, seed=0)
    assert torch.equal(fm.g_test, mnist_r4.g_test)  # same group elements: the drift blends paired images
    x0, y0 = ch1.drifted(mnist_r4, fm, 0.0)
    assert torch.allclose(x0, mnist_r4.test[0], atol=1e-5) and torch.equal(y0, mnist_r4.test[1])
    x1, _ = ch1.drifted(mnist_r4, fm, 1.0)
    assert torch.allclose(x1, mnist_r4.standardize(fm.test[0] * fm.std + fm.mean), atol=1e-4)
    with pytest.raises(ValueError, match="beta"):
        ch1.drifted(mnist_r4, fm, 1.5)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="unknown model 'CNN'"):
        ch1.make_model("CNN", ROT4, (8,))
    with pytest.raises(ValueError, match="'cifar10'"):
        ch1.transforming("cifar10", "rot4", TINY)
    with pytest.raises(ValueError, match="unknown invariance penalty 'l1'"):
        invariance_penalty(torch.zeros(4, 2, 3), "l1")


def test_ir_loss_is_cross_entropy_plus_nu_times_li():
    torch.manual_seed(0)
    model = ch1.make_model("DA", TRANS3, (8,))
    x, y = torch.randn(5, 36, 36), torch.randint(9, (5,))
    z = model(TRANS3.orbit(x).reshape(15, 36, 36)).view(3, 5, -1)  # (G, B, K)
    li = 0.5 * (z[1:] - z[0]).pow(2).sum(-1).mean()
    got = ch1.invariance_loss(TRANS3)(model, x, y, 2.5)
    assert torch.allclose(got, F.cross_entropy(z[0], y) + 2.5 * li, atol=1e-6)
    assert torch.allclose(ch1.invariance_loss(TRANS3)(model, x, y, 0.0), F.cross_entropy(z[0], y), atol=1e-6)


@torch.no_grad()
def test_weight_tied_model_is_invariant_and_plain_mlp_is_not():
    torch.manual_seed(0)
    x = torch.randn(6, 36, 36)
    for group in (ROT4, TRANS3):
        wt, da = ch1.make_model("WT", group, (8, 8)), ch1.make_model("DA", group, (8, 8))
        z_wt = wt(group.orbit(x).reshape(-1, 36, 36)).view(group.order, 6, -1)  # (G, B, K)
        z_da = da(group.orbit(x).reshape(-1, 36, 36)).view(group.order, 6, -1)
        assert float(invariance_penalty(z_wt, "l2")) < 1e-10
        assert float(invariance_penalty(z_da, "l2")) > 1e-4


def test_proposition_3_1_spectral_norm_never_increases(need_data):
    need_data("mnist")
    p = ch1.run_proposition("rot4", n=16, size=8, n_steps=50)
    assert p["max_increase_flow"] <= 1e-9 and p["max_increase_gd"] <= 1e-9
    assert p["flow"][-1] < p["flow"][0] and p["LI"][-1] < p["LI"][0]
    assert abs(p["flow"][0] - p["gd"][0]) < 1e-12  # same W(0)
    # a step above 2 / lambda_max makes descent diverge: the check can fail
    bad = ch1.run_proposition("rot4", n=16, size=8, n_steps=50, lr=3.0 / p["lambda_max"])
    assert bad["max_increase_gd"] > 0


def test_linear_flow_solves_the_ode():
    torch.manual_seed(0)
    x, W0 = torch.randn(4, 6, 6, dtype=torch.float64), torch.randn(3, 36, dtype=torch.float64)
    eps = (ROT4.orbit(x)[:1] - ROT4.orbit(x)[1:]).flatten(2).flatten(0, 1)  # (12, 36)
    sigma = eps.T @ eps
    t = torch.tensor([0.0, 0.01], dtype=torch.float64)
    norms = ch1.linear_flow(W0, x, ROT4, t)
    expect = torch.linalg.matrix_norm(W0 @ torch.linalg.matrix_exp(-sigma * 0.01), ord=2)
    assert torch.allclose(norms[1], expect) and torch.allclose(norms[0], torch.linalg.matrix_norm(W0, ord=2))


def test_orbit_neighbours_known_answers():
    torch.manual_seed(0)
    labels = torch.arange(10) % 3
    same = torch.randn(1, 10, 5).expand(4, 10, 5)  # (G, B, D) identical members: invariant features
    assert ch1.orbit_neighbours(same, labels)["same_orbit"] == 1.0
    spread = torch.randn(4, 10, 5)  # unrelated members
    assert ch1.orbit_neighbours(spread, labels)["same_orbit"] < 0.6
    assert ch1.orbit_spread(same, labels) == 0.0
    assert ch1.orbit_spread(spread, labels) > 0.5  # orbit members as far apart as their class: the counterexample


def test_pick_nu_rule():
    sweep = {0.1: {"SI": [0.5]}, 1.0: {"SI": [0.96, 0.95]}, 10.0: {"SI": [0.99]}}
    assert pick_nu(sweep, 0.95) == 1.0  # the smallest nu that reaches the target
    assert pick_nu(sweep, 0.999) == 10.0  # none reaches it: the highest SI


def test_parts_of_a_tiny_profile_give_every_claim(mnist_r4, tmp_path):
    """The chapter's parts on tiny settings, through the runner and the store: what the page and claims read."""
    from helpers import runner

    ev = runner.evidence(ch1, "quick", tmp_path, progress=None, settings=TINY)
    assert set(ev) == {"group-rot4", "group-trans3", "sensitivity-rot4-kl", "sensitivity-trans3-kl", "proposition"}
    r = ev["group-rot4"]
    assert set(r["table"]) == set(ch1.MODELS) and r["nu"] == 1.0 and list(r["sweep"]) == [1.0]  # float keys back
    assert max(r["table"]["WT"]["LI"]) < 1e-6 and min(r["table"]["WT"]["SI"]) > 1 - 1e-5
    assert len(r["table"]["DA"]["acc"]) == 2 and "sigma_max" in r["table"]["IR"]
    d = r["drift"]
    assert np.asarray(d["DA"]["acc_ratio"]).shape == (2, 2) and np.allclose(np.asarray(d["WT"]["DI"]), 0, atol=1e-6)
    assert np.asarray(d["DA"]["DI"]).min() > 1e-4, "drift DI of a model that is not invariant is not 0"
    assert r["saliency"]["IR"][1.0].shape == (3, 4, 36, 36) and r["tsne"]["embedding"].shape == (4 * 20, 2)
    assert set(ch1.sensitivity_of(ev)["rot4"]) == {"l2", "kl"}
    values = ch1.claims.values(ev)
    assert set(values) == set(ch1.claims.CLAIMS) and values["C1.1"] < 1e-6
    assert ch1.claims.table(ev).counts("verification")["reproduced"] == 2  # C1.1 and C1.7 hold by construction


def test_split_layout_measures_what_the_whole_sweep_measures(mnist_r4, tmp_path):
    """The paper profile's layout (one part per nu, ``split_sweeps``) gives the claims and views the same
    ``groups_of`` / ``sensitivity_of`` as one part per sweep: the same models, the same nu picked, the same numbers."""
    from helpers import runner

    tiny = replace(TINY, groups=("rot4",), nus=(1.0, 30.0), nus_other={"kl": (1.0, 100.0)})
    split = replace(tiny, split_sweeps=True)
    names = [p.name for p in ch1.PARTS(split)]
    assert names == ["group-rot4", "ir-rot4-l2-1", "ir-rot4-l2-30", "ir-rot4-kl-1", "ir-rot4-kl-100", "proposition"]
    whole = runner.evidence(ch1, "quick", tmp_path / "whole", progress=None, settings=tiny)
    parts = runner.evidence(ch1, "quick", tmp_path / "split", progress=None, settings=split)
    a, b = ch1.groups_of(whole)["rot4"], ch1.groups_of(parts)["rot4"]
    assert set(a) == set(b) and a["nu"] == b["nu"] and list(a["sweep"]) == list(b["sweep"]) == [1.0, 30.0]
    close = lambda u, v: np.testing.assert_allclose(np.asarray(u, float), np.asarray(v, float),  # noqa: E731
                                                    rtol=1e-3, atol=1e-4)
    for kind in ch1.MODELS:
        assert a["n_params"][kind] == b["n_params"][kind]
        for metric, v in a["table"][kind].items():
            close(v, b["table"][kind][metric])
        close(a["drift"][kind]["DI"], b["drift"][kind]["DI"])
        close(a["tsne"]["spread"][kind], b["tsne"]["spread"][kind])
    for nu in (1.0, 30.0):
        close(a["saliency"]["IR"][nu], b["saliency"]["IR"][nu])
    close(a["drift"]["examples"]["IR"]["DI"], b["drift"]["examples"]["IR"]["DI"])
    sa, sb = ch1.sensitivity_of(whole)["rot4"], ch1.sensitivity_of(parts)["rot4"]
    assert list(sa) == list(sb) == ["l2", "kl"] and sa["kl"]["nu"] == sb["kl"]["nu"]
    close(sa["kl"]["sweep"][100.0]["sigma_max"], sb["kl"]["sweep"][100.0]["sigma_max"])
    verdicts = lambda ev: [(r.claim.id, r.verdict) for r in ch1.claims.table(ev).results]  # noqa: E731
    assert verdicts(whole) == verdicts(parts)


def test_older_layout_reads_back_as_stored():
    """The quick profile's committed parts are in the older layout (one part per sweep): ``groups_of`` reads them as
    stored and ``sensitivity_of`` gives each stored sweep with its stored pick."""
    from pathlib import Path

    from helpers import runner
    from helpers.store import Store

    root = Path(__file__).resolve().parent.parent / "results"
    ev = runner.evidence(ch1, "quick", store=Store(root, protected=True), committed=False, progress=None)
    for g, r in ch1.groups_of(ev).items():
        stored = ev[f"group-{g}"]
        assert list(r) == list(stored) and r["nu"] == stored["nu"] and r["sweep"] == stored["sweep"]
        assert r["table"] == stored["table"] and r["drift"] == stored["drift"]
    for g, sv in ch1.sensitivity_of(ev).items():
        assert sv["kl"] == {k: ev[f"sensitivity-{g}-kl"][k] for k in ("nu", "sweep")}


def test_train_sweep_members_equal_single_nu_runs(mnist_r4):
    """One ensemble over (nu, seed) gives each member the model of its own single-nu run."""
    swept = ch1.train_sweep(mnist_r4, TINY, (0.5, 4.0), "kl")
    for nu in (0.5, 4.0):
        alone = ch1.train("IR", mnist_r4, TINY, nu=nu, penalty="kl")
        for a, b in zip(alone, swept[nu]):
            for pa, pb in zip(a.parameters(), b.parameters()):
                torch.testing.assert_close(pa, pb, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(swept[0.5][0][1].weight, swept[4.0][0][1].weight, atol=1e-4)  # nu matters
    with pytest.raises(ValueError, match=r"nu >= 0, got \[-1.0\]"):
        ch1.train_sweep(mnist_r4, TINY, (-1.0,))


@pytest.mark.parametrize("name,split", [("group-rot4", False), ("sensitivity-rot4-kl", False), ("proposition", False),
                                        ("group-rot4", True), ("ir-rot4-l2-1", True), ("ir-rot4-kl-1", True)])
def test_each_part_reads_only_the_settings_it_declares(name, split, mnist_r4, only_uses):
    """A part's stored result stays valid when a setting outside its ``uses`` changes: so it must not read one."""
    s = replace(TINY, split_sweeps=split)
    part = next(p for p in ch1.PARTS(s) if p.name == name)
    part.compute(only_uses(s, part.uses), torch.device("cpu"))


def test_the_extension_is_a_standard_part_that_reads_only_its_settings(mnist_r4, only_uses):
    """``extension-rot4-l2_normalized`` is a part of the standard profile only; on tiny settings it trains and
    measures its nus (reading only the settings it declares), and the table of every model shows them."""
    have = [prof for prof, s in ch1.SETTINGS.items() if any(p.name.startswith("extension-") for p in ch1.PARTS(s))]
    assert have == ["standard"]
    part = next(p for p in ch1.PARTS(ch1.SETTINGS["standard"]) if p.name == "extension-rot4-l2_normalized")
    r = part.compute(only_uses(TINY, part.uses), torch.device("cpu"))
    assert (r["group"], r["penalty"], list(r["sweep"])) == ("rot4", "l2_normalized", [3000.0])
    assert len(r["sweep"][3000.0]["SI"]) == len(TINY.seeds) and "sigma_max" in r["sweep"][3000.0]
    row = ch1.views.models_frame({}, {}, r).loc[("rot4", "IR", "l2_normalized", 3000.0)]
    assert row["SI"] == pytest.approx(float(np.mean(r["sweep"][3000.0]["SI"])))


def test_pending_nus_says_which_missing_nus_could_still_change_the_pick():
    """The SI rule picks the smallest nu with SI >= 0.95: a missing nu below the stored pick could take its place,
    one above cannot; with no stored nu at the target, every missing nu could."""
    from helpers.evidence import Evidence

    settings = replace(TINY, nus=(0.3, 1.0, 3.0, 10.0), nus_other={"kl": (1.0, 10.0)}, split_sweeps=True)

    def ev(l2: dict, kl: dict | None = None, whole: dict | None = None) -> Evidence:
        results = {f"ir-rot4-{pen}-{nu:g}": {"nu": nu, "penalty": pen, "metrics": {"SI": [si]}}
                   for pen, per in (("l2", l2), ("kl", kl or {})) for nu, si in per.items()}
        if whole is not None:  # the older layout (quick, standard): the L2 sweep inside group-rot4
            sweep = {nu: {"SI": [si]} for nu, si in whole.items()}
            kinds = {k: None for k in ch1.MODELS}
            results["group-rot4"] = {
                "group": "ROT4", "nu": pick_nu(sweep, 0.95), "n_params": kinds, "table": kinds, "sweep": sweep,
                "orbit_example": None, "saliency": {"images": None, "WT": None, "DA": None, "IR": dict.fromkeys(sweep)},
                "drift": {"betas": [0.0], **kinds, "examples": dict(kinds)},
                "tsne": {"spread": dict(kinds), "neighbours": dict(kinds)}}
        return Evidence("01_genuine_invariance", "paper", "paper", "", results=results, settings=settings)

    assert ch1.pending_nus(ev({1.0: 0.9, 10.0: 0.96}), "rot4") == [0.3, 3.0]
    assert ch1.pending_nus(ev({0.3: 0.5, 1.0: 0.9, 3.0: 0.96}), "rot4") == []  # nu = 10 comes after the pick
    assert ch1.pending_nus(ev({0.3: 0.5, 10.0: 0.9}), "rot4") == [1.0, 3.0]  # none reaches 0.95
    assert ch1.pending_nus(ev({}), "rot4") == [0.3, 1.0, 3.0, 10.0]
    assert ch1.pending_nus(ev({1.0: 0.99}, {10.0: 0.99}), "rot4", "kl") == [1.0]
    assert ch1.pending_nus(ev({}, whole={0.3: 0.5, 1.0: 0.9, 3.0: 0.9, 10.0: 0.99}), "rot4") == []
    assert ch1.pending_nus(ev({1.0: 0.99}), "trans3") == [0.3, 1.0, 3.0, 10.0]


def test_a_part_resumes_its_trained_models_from_their_checkpoints(mnist_r4, tmp_path):
    """Inside a part, every ensemble of the chapter saves under its own key; a second run of the part resumes the
    finished training (same weights) instead of training again."""
    from helpers import checkpoint

    def run():
        ck = checkpoint.Checkpoints(tmp_path / "part.s0.ckpt", "sha256:t", every_s=0)
        with checkpoint.scope(ck):
            wt = ch1.train("WT", mnist_r4, TINY)
            ir = ch1.train_sweep(mnist_r4, TINY, [1.0, 30.0], "kl")
        return ck, wt, ir

    ck, wt, ir = run()
    assert sorted(p.name for p in (tmp_path / "part.s0.ckpt").glob("*.pt")) == ["ir-kl-rot4-1-30.pt", "wt-rot4.pt"]
    ck2, wt2, ir2 = run()
    assert ck.resumed == [] and ck2.resumed == ["wt-rot4", "ir-kl-rot4-1-30"]
    for a, b in zip(wt + ir[30.0], wt2 + ir2[30.0]):
        assert all(torch.equal(u, v) for u, v in zip(a.state_dict().values(), b.state_dict().values()))
