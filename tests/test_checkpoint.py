"""Checkpoints inside a part (helpers.checkpoint): a sweep killed midway resumes to the numbers of an uninterrupted
run, a finished one is not trained again, and checkpoints of other settings are never resumed."""
import json
import time

import numpy as np

import pytest
import torch

from helpers import checkpoint
from helpers.experiments.ch2.invariant_weights import InvariantNet
from helpers.experiments.ch2.settings import TrainConfig
from helpers.experiments.ch2.train import fit_sweep

CFG = TrainConfig(epochs=4, batch_size=16, samples=3, log_every=5, lr=1e-2, lr_eta=1e-2)


def _data():
    gen = torch.Generator().manual_seed(1)
    return torch.rand(48, 1, 8, 8, generator=gen), torch.randint(0, 3, (48,), generator=gen)


def _model():
    eta = torch.zeros(2, 6)
    eta[:, 2] = torch.tensor([0.1, 1.0])
    learn = torch.zeros(2, 6)
    learn[:, 2] = 1.0
    return InvariantNet("relu", (1, 8, 8), 12, 3, eta, learn, torch.ones(2), seed=0, feature_scale=0.5)


def _killed_after(model, calls: int):
    """Make ``model.neg_elbo`` raise on its ``calls + 1``-th call: a run killed in the middle of an epoch."""
    real, n = model.neg_elbo, {"calls": 0}

    def neg_elbo(*args, **kwargs):
        n["calls"] += 1
        if n["calls"] > calls:
            raise RuntimeError("killed")
        return real(*args, **kwargs)
    model.neg_elbo = neg_elbo


class _KillSwitch:
    """Counts calls (one a training step); raises on the first call after ``arm(after)``'s count: a killed run."""

    def __init__(self):
        self.n, self.after = 0, None

    def arm(self, after: int | None) -> None:
        self.n, self.after = 0, after

    def __call__(self) -> None:
        self.n += 1
        if self.after is not None and self.n > self.after:
            raise RuntimeError("killed")


def _kill_then_resume(run, folder, key: str, kill_after: int):
    """``run(key, kill_after)`` inside a part until it is killed, then ``run(key)`` again to the end, resuming;
    returns the second run's ``Checkpoints`` and result."""
    with checkpoint.scope(checkpoint.Checkpoints(folder, "sha256:x", every_s=0)), pytest.raises(RuntimeError,
                                                                                               match="killed"):
        run(key, kill_after=kill_after)
    ck = checkpoint.Checkpoints(folder, "sha256:x", every_s=0)
    with checkpoint.scope(ck):
        return ck, run(key)


def test_a_killed_sweep_resumes_to_the_uninterrupted_numbers(tmp_path):
    straight = _model()
    h0 = fit_sweep(straight, _data(), CFG, seed=3, snapshots=3)
    ck = checkpoint.Checkpoints(tmp_path / "p.s0.ckpt", "sha256:x", every_s=0)
    first = _model()
    _killed_after(first, 3 * 2 + 1)  # 3 steps an epoch: killed in epoch 3, after the save at the end of epoch 2
    with checkpoint.scope(ck), pytest.raises(RuntimeError, match="killed"):
        fit_sweep(first, _data(), CFG, seed=3, snapshots=3, checkpoint_key="sweep")
    saved = torch.load(tmp_path / "p.s0.ckpt" / "sweep.pt", weights_only=False)
    assert saved["epoch"] == 2
    # the format the checkpoints of earlier runs have (they must keep resuming): exactly these entries
    assert sorted(saved) == ["epoch", "gen", "hist", "model", "opt", "running", "sched", "since", "step", "torch_rng",
                             "wall_s"]
    again = _model()
    ck2 = checkpoint.Checkpoints(tmp_path / "p.s0.ckpt", "sha256:x", every_s=0)
    with checkpoint.scope(ck2):
        h1 = fit_sweep(again, _data(), CFG, seed=3, snapshots=3, checkpoint_key="sweep")
    assert ck2.resumed == ["sweep"]
    for (name, a), b in zip(straight.state_dict().items(), again.state_dict().values()):
        assert torch.equal(a, b), name
    assert torch.equal(h0["eta"], h1["eta"]) and torch.equal(h0["loss"], h1["loss"]) and h0["steps"] == h1["steps"]
    assert [s["step"] for s in h0["snapshots"]] == [s["step"] for s in h1["snapshots"]]
    assert all(torch.equal(a["W1"], b["W1"]) for a, b in zip(h0["snapshots"], h1["snapshots"]))
    # finished: a third run trains nothing and gives the same model
    done = _model()
    _killed_after(done, 0)
    with checkpoint.scope(checkpoint.Checkpoints(tmp_path / "p.s0.ckpt", "sha256:x", every_s=0)):
        h2 = fit_sweep(done, _data(), CFG, seed=3, snapshots=3, checkpoint_key="sweep")
    assert torch.equal(done.eta, straight.eta) and torch.equal(h2["eta"], h0["eta"])


def test_without_a_part_nothing_is_saved_and_keys_are_checked(tmp_path):
    assert checkpoint.active().folder is None and checkpoint.active().load("k") is None
    assert not checkpoint.active().save("k", {"a": 1}, force=True)
    ck = checkpoint.Checkpoints(tmp_path / "c", "sha256:a", every_s=3600)
    assert not ck.save("k", {"a": 1})  # within every_s of the first look: not yet
    assert ck.save("k", {"a": 1}, force=True) and ck.load("k") == {"a": 1}
    with pytest.raises(ValueError, match="checkpoint key 'K/1'"):
        ck.save("K/1", {}, force=True)


def test_the_first_save_counts_from_the_parts_start(tmp_path):
    # an epoch longer than every_s is saved at its end, not one epoch later; a second key then waits its turn
    ck = checkpoint.Checkpoints(tmp_path / "c", "sha256:a", every_s=1.0)
    time.sleep(1.1)
    assert ck.save("seed0", {"epoch": 1})
    assert not ck.save("seed0", {"epoch": 2}) and not ck.save("seed1", {"epoch": 1})
    time.sleep(1.1)
    assert ck.save("seed1", {"epoch": 2}) and ck.load("seed1") == {"epoch": 2}


def test_checkpoints_of_other_settings_are_never_resumed(tmp_path):
    ck = checkpoint.Checkpoints(tmp_path / "c", "sha256:a", every_s=0)
    ck.save("k", {"a": 1})
    assert json.loads((tmp_path / "c" / "state.json").read_text())["settings_hash"] == "sha256:a"
    assert checkpoint.Checkpoints(tmp_path / "c", "sha256:a").load("k") == {"a": 1}
    assert checkpoint.Checkpoints(tmp_path / "c", "sha256:b").load("k") is None  # emptied, not resumed
    assert not (tmp_path / "c").exists()


def test_bad_checkpoint_interval_is_named(monkeypatch):
    monkeypatch.setenv("HELPERS_CHECKPOINT_S", "soon")
    with pytest.raises(ValueError, match="HELPERS_CHECKPOINT_S must be a number of seconds, got 'soon'"):
        checkpoint.Checkpoints(None)


def test_a_folder_that_cannot_be_written_turns_checkpoints_off_without_failing_the_part(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    ck = checkpoint.Checkpoints(blocker / "p.ckpt", "sha256:a", every_s=0)
    with pytest.warns(RuntimeWarning, match="checkpoints off for this part: cannot write"):
        assert not ck.save("k", {"a": 1})
    assert ck.folder is None and ck.load("k") is None and not ck.save("k", {"a": 1}, force=True)


def test_a_killed_ensemble_resumes_to_the_uninterrupted_numbers(tmp_path):
    """``fit_ensemble`` (chapter 1's sweeps, every ensemble of seeds): killed in its third epoch, resumed from the
    save at the end of the second, it ends with the weights, history and selection of an uninterrupted run; with
    cosine schedule, per-member augmentation draws and per-member loss arguments all restored. Finished, it trains
    nothing again."""
    import torch.nn.functional as F

    from helpers.augment import group_action
    from helpers.groups import ROT4
    from helpers.models import MLP
    from helpers.training import FitConfig, build_models, fit_ensemble

    gen = torch.Generator().manual_seed(2)
    x, y = torch.rand(60, 6, 6, generator=gen), torch.randint(0, 3, (60,), generator=gen)
    cfg = FitConfig(epochs=4, batch_size=16, lr=1e-2, schedule="cosine")
    step = _KillSwitch()

    def loss(forward, xb, yb, nu):
        step()
        z = forward(xb)
        return F.cross_entropy(z, yb) + nu * z.pow(2).mean()

    def run(key=None, kill_after=None):
        step.arm(kill_after)
        models = build_models(lambda: MLP(36, [8], 3), (0, 1, 2))
        res = fit_ensemble(models, (x, y), (x[:20], y[:20]), cfg, seeds=(0, 1, 2), loss_fn=loss,
                           augment=group_action(ROT4), member_args=torch.tensor([0.0, 0.1, 1.0]),
                           checkpoint_key=key)
        return models, res

    straight, r0 = run()
    folder = tmp_path / "p.s0.ckpt"
    ck, (again, r1) = _kill_then_resume(run, folder, "ir-l2", kill_after=4 * 2 + 1)  # 4 steps an epoch: in epoch 3
    assert ck.resumed == ["ir-l2"] and step.n == 2 * 4, "only the last two epochs were trained"
    assert sorted(torch.load(folder / "ir-l2.pt", weights_only=False)) == [  # the format of earlier runs' checkpoints
        "best_epoch", "best_score", "best_state", "cuda_rng", "epoch", "gens", "history", "model", "opt", "sched",
        "torch_rng", "wall_s"]
    for a, b in zip(straight, again):
        for (name, u), v in zip(a.state_dict().items(), b.state_dict().values()):
            assert torch.equal(u, v), name
    assert r0.history == r1.history and r0.best_epoch == r1.best_epoch and r0.best_score == r1.best_score
    with checkpoint.scope(checkpoint.Checkpoints(folder, "sha256:x", every_s=0)):
        done, _ = run("ir-l2", kill_after=0)
    assert all(torch.equal(u, v) for a, b in zip(straight, done) for u, v in zip(a.parameters(), b.parameters()))


def test_a_killed_fit_resumes_to_the_uninterrupted_numbers_cutmix_draws_included(tmp_path):
    """``fit`` (chapter 3's networks, one per seed): killed in its third epoch, resumed, it ends with the weights
    (BatchNorm statistics included), history and selection of an uninterrupted run, with SGD momentum, a step
    schedule, random crops drawn from the batch generator and CutMix's own draws (``CutMixLoss.state_dict``)."""
    from torch import nn

    from helpers.experiments.ch3.augment import CutMixLoss, random_crop
    from helpers.training import FitConfig, fit

    gen = torch.Generator().manual_seed(4)
    x, y = torch.rand(40, 3, 8, 8, generator=gen), torch.randint(0, 3, (40,), generator=gen)
    cfg = FitConfig(epochs=4, batch_size=10, lr=0.05, optimizer="sgd", schedule="step", milestones=(2, 3))
    step = _KillSwitch()

    def run(key=None, kill_after=None):
        step.arm(kill_after)
        torch.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(144, 3))
        cutmix = CutMixLoss(7)

        def loss(forward, xb, yb):
            step()
            return cutmix(forward, xb, yb)
        loss.state_dict, loss.load_state_dict = cutmix.state_dict, cutmix.load_state_dict
        res = fit(model, (x, y), (x[:10], y[:10]), cfg, loss_fn=loss, augment=random_crop, seed=3,
                  checkpoint_key=key)
        return model, res

    straight, r0 = run()
    ck, (again, r1) = _kill_then_resume(run, tmp_path / "p.s0.ckpt", "aug-cutmix-s0", kill_after=4 * 2 + 1)
    assert ck.resumed == ["aug-cutmix-s0"] and step.n == 2 * 4, "only the last two epochs were trained"
    assert sorted(torch.load(tmp_path / "p.s0.ckpt" / "aug-cutmix-s0.pt", weights_only=False)) == [  # earlier runs'
        "best", "cuda_rng", "epoch", "gen", "history", "model", "opt", "sched", "stateful", "torch_rng", "wall_s"]
    for (name, u), v in zip(straight.state_dict().items(), again.state_dict().values()):
        assert torch.equal(u, v), name
    assert r0.history == r1.history and (r0.best_epoch, r0.best_score) == (r1.best_epoch, r1.best_score)


def test_pieces_round_trip_and_are_read_only_under_their_own_settings(tmp_path):
    """A piece keeps numbers, strings and arrays (small inline, large in an npz) with its provenance; another
    settings hash never reads it; outside a part there are no pieces; bad keys are named."""
    import numpy as np

    folder = tmp_path / "p.s0.pieces"
    ck = checkpoint.Checkpoints(tmp_path / "p.s0.ckpt", "sha256:a", pieces=folder, device="CPU (test)")
    value = {"acc": 71.5, "run": {"invariance": np.arange(5, dtype=np.float32), "big": np.ones((40, 30)),
                                  "layers": ["stem", "block1"]}}
    assert ck.piece("w-s0") is None and not ck.reused
    assert ck.keep("w-s0", value)
    doc = json.loads((folder / "w-s0.json").read_text())
    assert doc["settings_hash"] == "sha256:a" and doc["device"] == "CPU (test)" and doc["date"] and doc["git_commit"]
    assert (folder / "w-s0.npz").exists() and doc["arrays"] == ["a0"]
    again = checkpoint.Checkpoints(None, "sha256:a", pieces=folder)  # a new machine: no checkpoint folder
    got = again.piece("w-s0")
    assert got["acc"] == 71.5 and got["run"]["layers"] == ["stem", "block1"] and list(again.reused) == ["w-s0"]
    assert np.array_equal(got["run"]["invariance"], value["run"]["invariance"])
    assert got["run"]["invariance"].dtype == np.float32 and np.array_equal(got["run"]["big"], value["run"]["big"])
    assert checkpoint.kept_pieces(folder, "sha256:a") == ["w-s0"] and checkpoint.kept_pieces(folder, "sha256:b") == []
    other = checkpoint.Checkpoints(None, "sha256:b", pieces=folder)
    assert other.piece("w-s0") is None and other.earlier_s == 0.0, "pieces of other settings are never used"
    assert not checkpoint.active().keep("k", 1) and checkpoint.active().piece("k") is None
    with pytest.raises(ValueError, match="piece key 'W s0'"):
        ck.keep("W s0", 1)
    with pytest.raises(TypeError, match="piece 'k'"):
        ck.keep("k", {"model": torch.nn.Linear(2, 2)})


def test_a_part_of_seeds_goes_on_from_its_pieces_on_a_new_machine(tmp_path, monkeypatch):
    """Chapter 3's per-seed loop (``_seed_run``) killed in its second seed, then run where its git-ignored checkpoints
    are gone (a fresh clone): the first seed comes from its committed piece, untrained, and the numbers equal an
    uninterrupted run's."""
    from helpers import lookup, runner
    from helpers.experiments.ch3.runs import _seed_run
    from helpers.parts import Part
    from helpers.store import Store
    import types

    trained: list[int] = []
    kill = set()

    def seeds_part(s, device):
        out = []
        for sd in (0, 1, 2):
            def train(sd=sd):
                if sd in kill:
                    kill.clear()
                    raise KeyboardInterrupt(f"killed in seed {sd}")
                trained.append(sd)
                g = torch.Generator().manual_seed(sd)
                net = torch.nn.Linear(3, 1)
                return float(torch.rand(1, generator=g)) * 100, {"inv": torch.rand(4, generator=g).numpy()}, net
            out.append(_seed_run(f"p-s{sd}", train, (lambda m: {"w": m.weight.detach().numpy()}) if sd == 0 else None))
        return {"acc": [o["acc"] for o in out], "inv": [o["run"]["inv"] for o in out], "first": out[0]["first"]}

    m = types.ModuleType("seeds_chapter")
    m.STEM, m.PROFILES = "09_seeds", ("quick",)
    m.SETTINGS = {"quick": {}}
    m.PARTS = lambda s: [Part("seeds", seeds_part)]
    monkeypatch.setenv("HELPERS_CHECKPOINT_S", "0")
    straight = tmp_path / "straight"
    runner.compute(m, "quick", store=straight, progress=None)
    assert trained == [0, 1, 2]
    trained.clear()
    kill.add(1)
    with pytest.raises(KeyboardInterrupt):
        runner.compute(m, "quick", store=tmp_path / "s", progress=None)
    parts = tmp_path / "s" / "quick" / "09_seeds" / "parts"
    assert trained == [0] and (parts / "seeds.s0.pieces" / "p-s0.json").exists()
    checkpoint.discard(parts / "seeds.s0.ckpt")  # a fresh clone: the ignored checkpoints are gone, the pieces not
    (st,) = lookup.find_stored(m, "quick", m.PARTS(None), [Store(tmp_path / "s")])
    assert st.stored is None and "1 finished piece stored" in st.note
    runner.compute(m, "quick", store=tmp_path / "s", progress=None)
    assert trained == [0, 1, 2], "seed 0 came from its piece; seeds 1 and 2 were trained"
    digest = m.PARTS(None)[0].digest("09_seeds", {})
    a = Store(straight).load("09_seeds", "quick", "seeds", digest)
    b = Store(tmp_path / "s").load("09_seeds", "quick", "seeds", digest)
    assert a.result["acc"] == b.result["acc"]
    assert all(np.array_equal(x, y) for x, y in zip(a.result["inv"], b.result["inv"]))
    assert np.array_equal(a.result["first"]["w"], b.result["first"]["w"])
    assert list(b.meta["resumed"]["pieces"]) == ["p-s0"] and b.meta["resumed"]["pieces"]["p-s0"]["date"]
    assert "resumed" not in a.meta
    assert not (parts / "seeds.s0.pieces").exists(), "a stored part's pieces are removed"
