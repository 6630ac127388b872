"""Chapter 2 runners: the Appendix D datasets, one tiny sweep end to end, and the claim sub-checks."""
import json
import math
from dataclasses import replace

import pytest
import torch

from helpers.experiments import ch2
from helpers.invariant_weights import InvariantNet, linspace_eps
from helpers.records import _jsonable

TINY = replace(ch2.SETTINGS["quick"], n_train=96, n_test=64, hidden=8, learned_init_degrees=(5.0,),
               init_degrees=(5.0, 175.0), ml_init_degrees=(5.0,),
               train=ch2.TrainConfig(epochs=2, batch_size=32, lr=3e-2, lr_eta=0.1, samples=2, eval_samples=2,
                                     log_every=1))


def test_settings_cover_every_profile():
    assert set(ch2.SETTINGS) == {"quick", "standard", "paper"}
    paper = ch2.SETTINGS["paper"]
    assert paper.hidden == 1024 and paper.train.samples == 32 and paper.train.batch_size == 128
    assert paper.train.lr == paper.train.lr_eta == 1e-3 and paper.sigma == 0.3 and paper.alpha == 1.0


def test_transform_variants_known_answers():
    x = torch.zeros(3, 1, 28, 28)
    x[:, :, 10:18, 12:16] = 1.0
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    assert torch.equal(ch2.transform_variant(x, "regular", g()), x)
    for v in ("partial", "full", "translated", "scaled"):
        out = ch2.transform_variant(x, v, g())
        assert out.shape == x.shape and not torch.allclose(out, x) and 0 <= out.min() and out.max() <= 1
        assert torch.equal(out, ch2.transform_variant(x, v, g()))  # built once: the seed fixes it
    # rotations keep the mass (the blob stays inside); scaling by exp(s) changes it by about exp(2s)
    rot = ch2.transform_variant(x, "full", g())
    torch.testing.assert_close(rot.sum((1, 2, 3)), x.sum((1, 2, 3)), rtol=0.1, atol=0)
    with pytest.raises(ValueError, match="unknown dataset variant 'rotated'"):
        ch2.transform_variant(x, "rotated", g())


def test_transformed_dataset_on_real_data(need_data):
    need_data("mnist")
    ds = ch2.transformed_dataset("mnist", "partial", 50, 20, seed=3)
    x, y = ds["train"]
    assert x.shape == (50, 1, 28, 28) and y.shape == (50,) and ds["test"][0].shape == (20, 1, 28, 28)
    reg = ch2.transformed_dataset("mnist", "regular", 50, 20, seed=3)
    assert torch.equal(reg["train"][1], y)  # the same images under every variant
    assert not torch.allclose(reg["train"][0], x)


def test_rotation_sweep_runs_and_fixed_eta_stays(need_data):
    need_data("mnist")
    r = ch2.run_rotation_sweep(TINY, "rff", "full", torch.device("cpu"), seed=0, with_ml=True)
    assert r["names"] == ["fixed 5", "fixed 175", "learned (5 init)", "ML (5 init)"]
    assert r["eta_deg"].shape[1] == 4 and r["elbo"].shape == (4,)
    torch.testing.assert_close(r["eta_deg_final"][:2], torch.tensor([5.0, 175.0]))  # fixed members do not move
    assert r["eta_deg_final"][2] != 5.0  # the learned one does
    assert torch.isfinite(r["elbo"]).all() and ((0 <= r["test_acc"]) & (r["test_acc"] <= 100)).all()


def test_relu_sweep_runs(need_data):
    """The ReLU rotation sweep (App. Table 5, standard/paper profiles) on a tiny budget: W1 is learned per member."""
    need_data("mnist")
    r = ch2.run_rotation_sweep(TINY, "relu", "partial", torch.device("cpu"), seed=0)
    assert r["names"] == ["fixed 5", "fixed 175", "learned (5 init)"] and torch.isfinite(r["elbo"]).all()
    torch.testing.assert_close(r["eta_deg_final"][:2], torch.tensor([5.0, 175.0]))


def test_training_raises_the_elbo():
    """Known answer: on a separable toy problem the ELBO of eq. (9) must rise with training."""
    x, y = ch2.toy_data(64, seed=0)
    eta = torch.zeros(1, 6)
    model = InvariantNet("rff", (2,), 64, 2, eta, torch.zeros(1, 6), torch.ones(1), sigma=2.0,
                         feature_scale=math.sqrt(2 / 64))
    before = ch2.evaluate(model, (x, y), (x, y), samples=2)["elbo"]
    ch2.fit_sweep(model, (x, y), ch2.TrainConfig(epochs=60, batch_size=64, lr=3e-2, samples=2))
    after = ch2.evaluate(model, (x, y), (x, y), samples=2)
    assert after["elbo"] > before + 0.2 and after["test_acc"] > 90


def test_filter_bank_shapes_and_identity():
    w = torch.randn(3, 1, 10, 10)
    bank = ch2.filter_bank(w, torch.zeros(6), linspace_eps(5), blur_sigma=0.0)
    assert bank.shape == (3, 5, 1, 10, 10)
    torch.testing.assert_close(bank[:, 2], w, atol=2e-5, rtol=0)  # eta = 0: every sample is the identity
    snaps = [{"eta": torch.tensor([[0.0, 0, t, 0, 0, 0]]), "W1": torch.randn(1, 4, 100)} for t in (0.0, math.pi / 2)]
    img = ch2.bank_over_training(snaps, member=0, shape=(1, 10, 10), samples=3, blur_sigma=0.0)
    assert img.shape == (20, 30)
    first = snaps[0]["W1"][0, 0].reshape(10, 10)
    first = first / first.abs().max()
    for k in range(3):  # eta_rot = 0 at the first snapshot: three identical copies
        torch.testing.assert_close(img[:10, 10 * k:10 * (k + 1)], first, atol=1e-5, rtol=0)
    late = snaps[1]["W1"][0, 0].reshape(10, 10)
    late = late / late.abs().max()
    torch.testing.assert_close(img[10:, 20:], torch.rot90(late, 1), atol=1e-4, rtol=0)  # +pi/2 sample: a quarter turn


def _table1(best, learned_elbo=-0.3, acc_learned=90.0):
    names = ["fixed 5", "fixed 45", "fixed 90", "fixed 135", "fixed 175", "learned (5 init)"]
    out = {}
    for v, b in best.items():
        elbo = torch.tensor([-1.0 + 0.1 * (d == b) for d in (5, 45, 90, 135, 175)] + [learned_elbo])
        acc = torch.tensor([80.0 + 5 * (d == b) for d in (5, 45, 90, 135, 175)] + [acc_learned])
        out[v] = {"names": names, "elbo": elbo, "test_acc": acc,
                  "eta_deg_final": torch.tensor([5, 45, 90, 135, 175, {"full": 170, "partial": 90, "regular": 20}[v]],
                                                dtype=torch.float32)}
    return out


def test_claim_checks_known_answers():
    good = _table1({"full": 175, "partial": 90, "regular": 45})
    assert all(ch2.c21_checks(good)) and all(ch2.c22_checks(good)) and all(ch2.c23_checks(good))
    bad = _table1({"full": 5, "partial": 175, "regular": 175}, learned_elbo=-2.0, acc_learned=10.0)
    assert not any(ch2.c21_checks(bad)[0::2]) and not any(ch2.c22_checks(bad))
    full = {"names": ["learned (5 init)", "ML (5 init)"], "eta_deg_final": torch.tensor([170.0, 3.0])}
    assert ch2.c24_checks(full) == [True]
    inv = ["none", "rotation", "translation", "scale", "affine"]
    acc = torch.tensor([[80, 80, 80, 90], [95, 85, 85, 91], [85, 95, 85, 91], [85, 85, 95, 91], [95, 95, 95, 92.]])
    eta = torch.zeros(5, 4, 6)
    eta[4, 0, 2], eta[4, 1, :2], eta[4, 2, 3:5] = math.pi, 0.5, 0.6
    t2 = {"invariances": inv, "datasets": ["full", "translated", "scaled", "regular"], "test_acc": acc, "eta": eta}
    assert all(ch2.c25_checks(t2)) and all(ch2.c26_checks(t2))
    t2_bad = {**t2, "test_acc": acc.flip(0), "eta": torch.zeros(5, 4, 6)}
    assert not all(ch2.c25_checks(t2_bad)) and ch2.c26_checks(t2_bad) == [False, True, False, False]


def test_paper_tables_side_by_side():
    t1 = _table1({"full": 175, "partial": 90, "regular": 45})
    df = ch2.table1_vs_paper(t1)
    assert df.loc["learned (5 init)", ("full", "acc paper")] == 91.72  # Table 1 of the paper
    assert df.loc["fixed 175", ("full", "acc ours")] == 85.0 and len(df) == 6
    t2 = {"invariances": ["none", "affine"], "datasets": ["full", "regular"], "test_acc": torch.tensor([[1.0, 2], [3, 4]])}
    df2 = ch2.table2_vs_paper(t2, ch2.PAPER_TABLE3)
    assert df2.loc["affine", ("full", "paper")] == 46.12 and df2.loc["affine", ("regular", "ours")] == 4.0


def test_record_numbers_round_trip_through_json():
    t1 = {"rff": _table1({"full": 175, "partial": 90, "regular": 45})}
    inv = ["none", "rotation", "translation", "scale", "affine"]
    t2 = {"invariances": inv, "datasets": ["full", "translated", "scaled", "regular"],
          "test_acc": torch.arange(20.0).reshape(5, 4), "eta": torch.zeros(5, 4, 6), "models": {"x": object()}}
    checks = ch2.claim_checks(t1, t2)
    assert checks["C2.7"] is None and checks["C2.1"] == ch2.c21_checks(t1["rff"]) and len(checks["C2.5"]) == 8
    assert ch2.claim_checks({}, None) == dict.fromkeys(checks)  # nothing run: nothing decided
    values = ch2.claim_values(checks)
    assert values["C2.1"] == 1.0 and values["C2.7"] is None and checks["C2.4"] == [] and values["C2.4"] is None and values["C2.5"] == sum(checks["C2.5"]) / 8
    saved = json.loads(json.dumps(_jsonable(ch2.record_numbers(None, t1, t2))))
    assert "models" not in saved["table2"] and saved["checks"]["C2.1"] == checks["C2.1"]
    back = ch2.from_record(saved)
    assert ch2.claim_checks(back["t1"], back["t2"], back["t3"]) == checks
    assert ch2.table1_frame(back["t1"]).shape == ch2.table1_frame(t1).shape


@pytest.mark.parametrize("name", ["results.json", "cpu_reduced.json", "cpu_reduced_t2_init.json"])
def test_committed_standard_records_reproduce_their_verdicts(name):
    """The claim checks recomputed from a committed record's numbers equal the checks it saved, and the
    saved verdicts follow from them: what the chapter shows from a record is what the run measured."""
    from helpers.claims import fraction_true
    from helpers.records import recorded

    rec = recorded("02_invariant_weights", name=name).get("standard")
    if rec is None:
        pytest.skip(f"no standard {name} committed")
    got = ch2.from_record(rec["numbers"])
    checks = ch2.claim_checks(got["t1"], got["t2"], got["t3"])
    saved = rec["numbers"]["checks"]
    assert {k: v for k, v in checks.items() if v is not None} == {k: v for k, v in saved.items() if v is not None}
    for c in rec.get("claims") or []:
        if saved.get(c["id"]):
            assert c["ours"] == pytest.approx(fraction_true(saved[c["id"]]))


def test_eta_sweep_fixes_and_learns_one_invariance(need_data):
    """The diagnostic sweep of scripts/ch2_eta_sweep.py: fixed members keep their value on both generators of
    the type, the learned one moves, the other generators stay 0."""
    need_data("mnist")
    tiny = replace(TINY, table2=replace(TINY.train, lr_eta_other=0.1))
    r = ch2.run_eta_sweep(tiny, "translation", "translated", (0.0, 0.3), torch.device("cpu"), learned_from=(0.2,))
    assert r["names"] == ["fixed 0", "fixed 0.3", "learned (0.2 init)"] and r["learned"] == [False, False, True]
    torch.testing.assert_close(r["eta"][:2, :2], torch.tensor([[0.0, 0.0], [0.3, 0.3]]))
    assert not torch.allclose(r["eta"][2, :2], torch.tensor([0.2, 0.2]))
    assert (r["eta"][:, 2:] == 0).all() and torch.isfinite(r["elbo"]).all()
    frame = ch2.eta_sweep_frame([r])
    assert list(frame["eta final"].round(2)) == [0.0, 0.3, round(float(r["eta"][2, :2].abs().mean()), 2)]


@pytest.mark.parametrize("inv, variant", [("affine", "translated"), ("none", "regular"), ("shear", "regular"),
                                          ("scale", "rotated")])
def test_eta_sweep_rejects_bad_input(inv, variant):
    with pytest.raises(ValueError, match=repr(inv) if inv in ("affine", "none", "shear") else repr(variant)):
        ch2.run_eta_sweep(TINY, inv, variant, (0.0,), torch.device("cpu"))
