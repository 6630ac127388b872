"""Chapter 2's budget ladder (issue 39, item 4): its parts, their training budget, resuming from pieces, and the
pre-registered trend reading on known answers."""
from dataclasses import replace

import numpy as np
import pytest
import torch

from helpers import checkpoint
from helpers.experiments import ch2
from helpers.experiments.ch2 import ladder
from helpers.experiments.ch2.settings import Ladder, TrainConfig
from helpers.experiments.ch2.train import fit_sweep

CPU = torch.device("cpu")
TINY = replace(ch2.SETTINGS["quick"], n_train=96, n_test=64, hidden=8, init_degrees=(45.0, 90.0),
               learned_init_degrees=(5.0,), ablation=None,
               train=TrainConfig(epochs=2, batch_size=32, lr=3e-2, lr_eta=0.1, samples=2, eval_samples=2, log_every=1),
               ladder=Ladder(budgets=(2, 5), seeds=2, variations=((8, 2), (4, 2))))


def test_steps_profile_has_the_ladder_parts():
    names = [p.name for p in ch2.PARTS(ch2.SETTINGS["steps"])]
    lad = ch2.SETTINGS["steps"].ladder
    rungs = [n for n in names if n.startswith("ladder-")]
    assert rungs == [f"ladder-{v}-{b}" for v in ("partial", "full") for b in lad.budgets]
    budgets = sorted({*lad.budgets, 100 * 469})  # the top rung is the t1 part (100 epochs of 60,000 at batch 128)
    assert len(budgets) >= 4 and budgets[-1] / budgets[0] >= 16
    assert all(3.9 < b1 / b0 < 4.1 for b0, b1 in zip(budgets, budgets[1:]))
    assert {"t1-rff-partial", "t1-rff-full"} <= set(names) and lad.seeds == 3
    assert sorted(n for n in names if n.startswith("var-")) == sorted(
        f"var-partial-d{d}-s{k}" for d, k in lad.variations)
    assert {k for d, k in lad.variations if d == 1024} == {8, 16, 32}
    assert {d for d, k in lad.variations if k == 32} == {256, 512, 1024}
    assert not any(n.startswith(("ladder-", "var-")) for n in [p.name for p in ch2.PARTS(ch2.SETTINGS["standard"])])


def test_total_steps_stops_training_mid_epoch():
    """``TrainConfig.total_steps`` trains exactly that many steps (5 of 3 batches an epoch: 2 epochs, the second cut),
    the cosine schedule reaching 0 there."""
    torch.manual_seed(0)
    net = ch2.invariant_weights.InvariantNet("rff", (1, 8, 8), 6, 10, torch.zeros(2, 6), torch.zeros(2, 6),
                                             torch.ones(2))
    x, y = torch.rand(40, 1, 8, 8), torch.randint(0, 10, (40,))
    hist = fit_sweep(net, (x, y), TrainConfig(epochs=9, batch_size=16, samples=2, log_every=1, total_steps=5))
    assert hist["steps"] == [0, 1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="total_steps must be >= 1"):
        TrainConfig(total_steps=0)


def test_a_ladder_part_goes_on_from_its_finished_seeds_pieces(need_data, tmp_path, monkeypatch):
    """A rung trains its seeds one after another; killed in the second seed and run again where the checkpoints
    are gone, it takes the first seed from its piece and gives the numbers of an uninterrupted run."""
    need_data("mnist")
    straight = ch2.sweeps.ladder_rung(TINY, CPU, "partial", 5)
    assert straight["budget_steps"] == 5 and straight["steps"][-1] == 5
    assert straight["per_seed"]["elbo"].shape == (2, 3)
    real, calls = ch2.sweeps.run_rotation_sweep, []

    def killed_in_second(*args, **kwargs):
        calls.append(args[4])
        if len(calls) == 2 and kill:
            raise KeyboardInterrupt("killed in seed 1")
        return real(*args, **kwargs)
    monkeypatch.setattr(ch2.sweeps, "run_rotation_sweep", killed_in_second)
    kill = True
    with checkpoint.scope(checkpoint.Checkpoints(None, "sha256:t", pieces=tmp_path / "p")), \
            pytest.raises(KeyboardInterrupt):
        ch2.sweeps.ladder_rung(TINY, CPU, "partial", 5)
    kill, calls[:] = False, []
    ck = checkpoint.Checkpoints(None, "sha256:t", pieces=tmp_path / "p")
    with checkpoint.scope(ck):
        again = ch2.sweeps.ladder_rung(TINY, CPU, "partial", 5)
    assert calls == [1] and list(ck.reused) == ["sweep-s0"], "seed 0 from its piece, seed 1 trained"
    for k in ("elbo", "test_acc", "eta_deg_final"):
        np.testing.assert_allclose(again["per_seed"][k], straight["per_seed"][k], rtol=1e-5, atol=1e-6, err_msg=k)


def test_a_variation_part_trains_the_contested_members_at_its_width_and_samples(need_data):
    need_data("mnist")
    r = ch2.sweeps.ladder_variation(TINY, CPU, hidden=4, samples=2)
    assert r["names"] == ["fixed 45", "fixed 90"] and (r["hidden"], r["samples"]) == (4, 2)
    assert r["per_seed"]["elbo"].shape == (2, 2)


def test_trend_reading_known_answers():
    """The pre-registered rule: gaps shrinking by more than 2 SE at each of the last three rungs is "towards";
    growing is "away"; a step within 2 SE, or a reversal, is "no trend"."""
    paper = 90.0
    towards = [[10, 11, 12], [40, 41, 42], [60, 61, 62], [85, 86, 87]]  # gaps 79, 29, 4 (SE 0.58)
    assert ladder.trend(towards, paper) == "towards"
    assert ladder.trend(towards[::-1], paper) == "away"
    assert ladder.trend([[40, 41, 42], [60, 61, 62], [60.5, 61.5, 62.5]], paper) == "no trend"  # last step < 2 SE
    assert ladder.trend([[40, 41, 42], [60, 61, 62], [40, 41, 42]], paper) == "no trend"  # a reversal
    assert ladder.trend([[10, 50, 90], [30, 60, 90], [60, 75, 90]], paper) == "no trend"  # wide seeds: within 2 SE
    with pytest.raises(ValueError, match="last 3 rungs"):
        ladder.trend([[1, 2], [3, 4]], paper)
    with pytest.raises(ValueError, match=">= 2 per-seed values"):
        ladder.gap([1.0], paper)


def test_elbo_choice_gap_and_variation_effect():
    elbo = np.array([[-1.0, -1.1, -1.3], [-1.2, -1.0, -1.4]])  # (seeds, members 45, 90, 135)
    np.testing.assert_allclose(ladder.elbo_choice_gap(elbo, [45.0, 90.0, 135.0], 90.0), [0.1, 0.0])
    with pytest.raises(ValueError, match="not among the members"):
        ladder.elbo_choice_gap(elbo, [45.0, 90.0, 135.0], 60.0)
    assert ladder.variation_effect([0.05, 0.06, 0.04], [-0.02, -0.01, -0.03]) == "moves"
    assert ladder.variation_effect([0.05, 0.06, 0.04], [0.04, 0.06, 0.05]) == "no effect"


def _rung(steps: int, elbo_rows, learned_deg, acc, sampled=None) -> dict:
    """A made-up stored rung: fixed members at 45, 90 and 175 degrees and "learned (5 init)", one row per seed."""
    per_seed = {"seeds": np.arange(len(elbo_rows)), "elbo": np.array([r + [-2.0] for r in elbo_rows]),
                "eta_deg_final": np.array([[45, 90, 175, d] for d in learned_deg], dtype=float),
                "test_acc": np.array([[0, 0, 0, a] for a in acc], dtype=float)}
    if sampled is not None:
        per_seed["test_acc_sampled"] = np.array([[0, 0, 0, a] for a in sampled], dtype=float)
    return {"names": ["fixed 45", "fixed 90", "fixed 175", "learned (5 init)"], "steps": [0, steps // 2, steps],
            "per_seed": per_seed}


def test_ladder_rungs_and_summary_known_answers():
    """The page's reading of stored rungs: the ELBO's choice per seed and its gap to Table 1's (90 degrees on partially
    rotated MNIST), the learned member's eta and accuracy, seed mean and SE, and the trend once three rungs exist."""
    res = {f"ladder-partial-{s}": _rung(s, [[-1.0, -1.1, -1.3], [-1.2, -1.0, -1.4]], [d, d + 2], [a, a + 2])
           for s, d, a in ((733, 20, 60), (2931, 40, 70))}
    res["t1-rff-partial"] = _rung(46900, [[-1.0, -1.0, -1.5], [-1.3, -0.9, -1.2]], [88, 90], [90, 92], [80, 84])
    res["t2-mnist"] = {"per_seed": {}}  # not a rung: ignored
    frame = ladder.rungs(res)
    assert list(frame["steps"]) == [733, 733, 2931, 2931, 46900, 46900]
    assert list(frame["argmax_deg"]) == [45.0, 90.0, 45.0, 90.0, 45.0, 90.0]  # a tie goes to the first member
    np.testing.assert_allclose(frame["choice_gap"], [0.1, 0, 0.1, 0, 0, 0], atol=1e-12)
    assert frame["acc_sampled"].isna().sum() == 4 and list(frame["acc_sampled"].tail(2)) == [80.0, 84.0]
    summary = ladder.rung_summary(frame).set_index("steps")
    assert summary.loc[46900, "learned_deg"] == 89.0 and summary.loc[46900, "acc_sampled"] == 82.0
    np.testing.assert_allclose(summary.loc[2931, "learned_deg SE"], 1.0)  # std (ddof 1) sqrt(2) / sqrt(2)
    assert summary.loc[733, "ELBO's choice (°)"] == "45, 90"
    assert summary["trend learned_deg"].eq("towards").all()  # gaps 69, 49, 1 degrees, SEs 1
    assert summary["trend acc"].eq("towards").all()
    assert ladder.rung_summary(ladder.rungs({k: res[k] for k in list(res)[:2]}))["trend acc"].eq("needs 3 rungs").all()
