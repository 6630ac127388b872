"""The runner on a toy chapter: load-or-compute, resume after a kill, settings changes, the best profile,
committed evidence left alone, and what a page's evidence and record say."""
import json
import types
from dataclasses import dataclass, replace

import numpy as np
import pytest
import torch

from helpers import local, lookup, registry, runner
from helpers.parts import Needs, Part, run_part
from helpers.store import Store

CALLS: list[str] = []
KILL: set[str] = set()


@dataclass(frozen=True)
class Toy:
    a: int
    b: int


def _compute(name):
    def compute(s: Toy, device: torch.device) -> dict:
        if name in KILL:
            KILL.discard(name)
            raise KeyboardInterrupt(f"killed while computing {name}")
        CALLS.append(name)
        return {"name": name, "value": s.a * 100 + s.b, "noise": torch.randn(80)}
    return compute


def _toy_chapter() -> types.ModuleType:
    m = types.ModuleType("toy_chapter")
    m.STEM = "09_toy"
    m.SETTINGS = {"quick": Toy(1, 2), "standard": Toy(10, 20)}
    m.PARTS = lambda s: [Part("alpha", _compute("alpha"), uses=("a",)), Part("beta", _compute("beta")),
                         Part("gamma", _compute("gamma"), Needs(gpu=True, memory_gb=0.5))]
    return m


@pytest.fixture
def toy():
    CALLS.clear()
    KILL.clear()
    return _toy_chapter()


def test_compute_then_load(toy, tmp_path):
    run = runner.compute(toy, "quick", store=tmp_path, progress=None)
    assert run.profile == "quick" and run.computed == ["alpha", "beta", "gamma"] and CALLS == run.computed
    again = runner.compute(toy, "quick", store=tmp_path, progress=None)
    assert again.computed == [] and CALLS == ["alpha", "beta", "gamma"], "stored parts are not computed again"
    ev = runner.evidence(toy, "quick", store=tmp_path, progress=None)
    assert ev["beta"]["value"] == 102 and ev.profile == "quick" and CALLS == ["alpha", "beta", "gamma"]
    # each part starts from the same random state, whatever ran before it
    torch.testing.assert_close(torch.as_tensor(ev["alpha"]["noise"]), torch.as_tensor(ev["beta"]["noise"]))


def test_a_killed_run_resumes_with_what_is_missing(toy, tmp_path):
    KILL.add("beta")
    with pytest.raises(KeyboardInterrupt):
        runner.compute(toy, "quick", store=tmp_path, progress=None)
    assert CALLS == ["alpha"] and (tmp_path / "quick" / "09_toy" / "parts" / "alpha.s0.json").exists()
    assert not (tmp_path / "quick" / "09_toy" / "parts" / "beta.s0.json").exists()
    run = runner.compute(toy, "quick", store=tmp_path, progress=None)
    assert run.computed == ["beta", "gamma"] and CALLS == ["alpha", "beta", "gamma"]


def test_a_settings_change_invalidates_exactly_the_parts_that_use_it(toy, tmp_path):
    runner.compute(toy, "quick", store=tmp_path, progress=None)
    toy.SETTINGS = {**toy.SETTINGS, "quick": Toy(1, 3)}  # b changes; alpha uses only a
    lines = []
    run = runner.compute(toy, "quick", store=tmp_path, progress=lines.append)
    assert run.computed == ["beta", "gamma"] and CALLS[-2:] == ["beta", "gamma"]
    assert "2 to compute" in lines[0]
    assert runner.evidence(toy, "quick", store=tmp_path, progress=None)["beta"]["value"] == 103
    toy.SETTINGS = {**toy.SETTINGS, "quick": Toy(2, 3)}
    assert runner.compute(toy, "quick", store=tmp_path, progress=None).computed == ["alpha", "beta", "gamma"]
    toy.SETTINGS = {**toy.SETTINGS, "quick": Toy(5, 5)}
    found = lookup.find_stored(toy, "quick", toy.PARTS(Toy(5, 5)), [Store(tmp_path)])
    assert all(s.stored is None and "stored with other settings" in s.note for s in found)


def test_only_named_parts_and_unknown_names(toy, tmp_path):
    assert runner.compute(toy, "quick", names=["gamma"], store=tmp_path, progress=None).computed == ["gamma"]
    with pytest.raises(ValueError, match=r"no part 'delta' in this profile; valid: \['alpha', 'beta', 'gamma'\]"):
        runner.compute(toy, "quick", names=["delta"], store=tmp_path, progress=None)
    with pytest.raises(ValueError, match=r"unknown profile 'fast'; valid: \['quick', 'standard', 'steps', 'paper', 'auto', 'best'\]"):
        runner.compute(toy, "fast", store=tmp_path, progress=None)
    with pytest.raises(ValueError, match="no settings for profile 'paper'"):
        runner.compute(toy, "paper", store=tmp_path, progress=None)
    with pytest.raises(ValueError, match="lacks"):
        registry.chapter_module(types.ModuleType("not_a_chapter"))


def test_best_profile_is_the_best_complete_store(toy, tmp_path):
    where = [Store(tmp_path)]
    assert lookup.resolve_profile(toy, "best", where, device="cpu") == (
        "quick", "no profile has every part stored (standard: 0 of 3 parts stored; quick: 0 of 3 parts stored); "
                 "falling back to quick, computed where it is missing")
    runner.compute(toy, "standard", names=["alpha"], store=tmp_path, progress=None, device="cpu")
    name, note = lookup.resolve_profile(toy, "best", where, device="cpu")
    assert name == "quick" and "standard: 1 of 3 parts stored" in note
    runner.compute(toy, "quick", store=tmp_path, progress=None, device="cpu")
    assert lookup.resolve_profile(toy, "best", where, device="cpu") == (
        "quick", "every part of the quick profile is stored (not yet standard: 1 of 3 parts stored)")
    runner.compute(toy, "standard", store=tmp_path, progress=None, device="cpu")
    assert lookup.resolve_profile(toy, "best", where, device="cpu")[0] == "standard"
    ev = runner.evidence(toy, "best", store=tmp_path, progress=None, device="cpu")
    assert ev.profile == "standard" and ev["alpha"]["value"] == 1020 and "every part of the standard" in ev.headline()


def test_committed_evidence_needs_force(toy, tmp_path):
    committed = Store(tmp_path, protected=True)
    runner.compute(toy, "quick", store=committed, progress=None)
    toy.SETTINGS = {**toy.SETTINGS, "quick": Toy(1, 9)}
    with pytest.raises(FileExistsError, match=r"parts \['beta', 'gamma'\] of 09_toy are committed .*--force"):
        runner.compute(toy, "quick", store=committed, progress=None)
    assert runner.compute(toy, "quick", store=committed, progress=None, force=True).computed == ["beta", "gamma"]


def test_evidence_names_its_source_and_records_it(toy, tmp_path):
    ev = runner.evidence(toy, "quick", store=tmp_path, progress=None)
    text = ev.headline()
    assert "**quick** profile, 3 stored parts computed on CPU" in text and str(tmp_path) not in text
    assert ev.where["gamma"] == "local" and ev.compute_s >= 0
    from helpers.claims import Claim, ClaimTable
    table = ClaimTable.of({"C9.1": Claim("C9.1", "x", "y", paper=102.0, tolerance=1.0)}, {"C9.1": ev["beta"]["value"]})
    rec = json.loads(ev.record(table, tmp_path / "out").read_text())
    assert rec["profile"] == "quick" and set(rec["numbers"]["parts"]) == {"alpha", "beta", "gamma"}
    assert rec["claims"][0]["verdict"] == "reproduced" and rec["wall_time_s"] >= 0 and rec["chapter"] == "09_toy"


def test_headline_names_few_commits_and_counts_many(toy, tmp_path):
    """Up to three commits are listed; a profile computed over many sessions names their count and the newest."""
    ev = runner.evidence(toy, "quick", store=tmp_path, progress=None)
    for i, name in enumerate(ev.meta):
        ev.meta[name] = {**ev.meta[name], "git_commit": f"c{i}", "date": f"2026-12-0{i + 1}T00:00:00"}
    text = ev.headline()
    assert "code at commit `c0`, `c1`, `c2`." in text and "computed on CPU" in text and "(3 parts)" not in text
    ev.meta["delta"] = {**ev.meta["alpha"], "git_commit": "c9+dirty", "date": "2026-12-09T00:00:00"}
    ev.meta["alpha"] = {**ev.meta["alpha"], "git_commit": "c8"}
    text = ev.headline()
    assert "code at 4 commits (the newest `c9+dirty`; 1 with uncommitted changes in the tree; each part's" in text
    ev.meta["delta"] = {**ev.meta["delta"], "device": "NVIDIA H100"}
    assert "NVIDIA H100 (1 part)" in ev.headline()


def test_run_part_records_provenance():
    part = Part("p", lambda s, dev: {"x": torch.randn(3)}, version=3)
    result, meta = run_part("09_toy", "quick", part, Toy(1, 2), "cpu", threads=1)
    assert meta["threads"] == 1 and meta["version"] == 3 and meta["settings"] == {"a": 1, "b": 2}
    assert meta["settings_hash"] == part.digest("09_toy", Toy(1, 2)) != part.digest("09_toy", Toy(1, 3))
    assert {"device", "versions", "git_commit", "date", "wall_time_s", "deterministic_algorithms"} <= set(meta)
    torch.manual_seed(0)
    np.testing.assert_array_equal(np.asarray(result["x"]), torch.randn(3).numpy())  # seeded with PART_SEED, 0
    with pytest.raises(ValueError, match=r"uses settings \['c'\]"):
        replace(part, uses=("c",)).digest("09_toy", Toy(1, 2))


def test_a_chapter_computed_twice_stores_the_same_numbers(tmp_path, need_data):
    """Determinism: chapter 0's quick part computed twice from scratch stores identical numbers (wall times aside)."""
    from helpers.partfile import differences

    need_data("mnist")
    ch0 = registry.chapter_module("0")
    got = [runner.evidence(ch0, "quick", tmp_path / name, progress=None, device="cpu",
                           committed=False)["ensemble-vs-loop"] for name in ("a", "b")]
    numbers = [{k: v for k, v in r.items() if not k.startswith("wall_s")} for r in got]
    assert differences(*numbers) == [] and numbers[0]["rel_weight_diff"] < 1e-3


def test_committed_evidence_can_be_ignored(toy, tmp_path, monkeypatch):
    committed = Store(tmp_path / "results", protected=True)
    monkeypatch.setattr(lookup, "committed_store", lambda: committed)
    runner.compute(toy, "quick", store=committed, progress=None)
    assert runner.compute(toy, "quick", store=tmp_path / "mine", progress=None).computed == []  # read from results/
    again = runner.compute(toy, "quick", store=tmp_path / "mine", progress=None, committed=False)
    assert again.computed == ["alpha", "beta", "gamma"]
    monkeypatch.setenv("HELPERS_IGNORE_COMMITTED", "1")
    assert [s.root for s in lookup.stores(tmp_path / "x")] == [tmp_path / "x"]


def test_two_runs_share_the_work(toy, tmp_path):
    """A part another run stored meanwhile is taken from the store, not computed again (two processes, or a GPU
    call and a CPU run, can work on one chapter's parts)."""
    other = runner.compute(toy, "quick", names=["gamma"], store=tmp_path / "elsewhere", progress=None)
    twin = other.parts[0].store.path(toy.STEM, "quick", "gamma")
    orig = toy.PARTS

    def parts(s):  # while alpha computes, "another run" stores gamma into this run's store
        out = orig(s)
        a = out[0]

        def alpha(s_, dev):
            target = tmp_path / "mine" / "quick" / toy.STEM / "parts"
            target.mkdir(parents=True, exist_ok=True)
            for src in (twin, twin.with_suffix(".npz")):
                (target / src.name).write_bytes(src.read_bytes())
            return a.compute(s_, dev)
        return [replace(a, compute=alpha), *out[1:]]

    toy.PARTS = parts
    lines = []
    CALLS.clear()
    run = runner.compute(toy, "quick", store=tmp_path / "mine", progress=lines.append)
    assert CALLS == ["alpha", "beta"] and any("gamma: stored meanwhile by another run" in x for x in lines)
    assert run.parts[2].stored is not None


def _hold(store_root, toy, part, pid):
    """Write the lock another run would hold on a part (``Store.lock``'s format)."""
    import platform
    import time
    lock = Store(store_root).path(toy.STEM, "quick", part).with_suffix(".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(json.dumps({"pid": pid, "host": platform.node(), "since": time.time()}))
    return lock


def test_a_part_another_live_run_computes_is_waited_for_not_computed_twice(toy, tmp_path, monkeypatch):
    import os
    monkeypatch.setattr(local, "LOCK_POLL_S", 0.01)
    other = runner.compute(toy, "quick", names=["beta"], store=tmp_path / "elsewhere", progress=None)
    twin = other.parts[0].store.path(toy.STEM, "quick", "beta")
    lock = _hold(tmp_path / "mine", toy, "beta", os.getpid())  # a live process holds beta
    orig = toy.PARTS

    def parts(s):  # the other run finishes beta (saves it, releases the lock) while this run computes gamma
        out = orig(s)
        g = out[2]

        def gamma(s_, dev):
            for src in (twin, twin.with_suffix(".npz")):
                (lock.parent / src.name).write_bytes(src.read_bytes())
            lock.unlink()
            return g.compute(s_, dev)
        return [*out[:2], replace(g, compute=gamma)]

    toy.PARTS = parts
    CALLS.clear()
    lines = []
    run = runner.compute(toy, "quick", store=tmp_path / "mine", progress=lines.append)
    assert CALLS == ["alpha", "gamma"], "beta was computed although another run held it"
    assert any("beta: being computed by another run (pid" in x and "the other parts first" in x for x in lines)
    assert any("beta: stored meanwhile by another run" in x for x in lines)
    assert all(p.stored is not None for p in run.parts)
    assert not list((tmp_path / "mine").rglob("*.lock"))


def test_a_stale_lock_is_taken_over_and_locks_are_released(toy, tmp_path):
    import subprocess
    import sys
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # its pid names no live process now
    _hold(tmp_path, toy, "beta", dead.pid)
    run = runner.compute(toy, "quick", store=tmp_path, progress=None)
    assert run.computed == ["alpha", "beta", "gamma"] and CALLS == ["alpha", "beta", "gamma"]
    assert not list(tmp_path.rglob("*.lock"))
    lock = Store(tmp_path).lock(toy.STEM, "quick", "alpha")
    assert Store(tmp_path).lock(toy.STEM, "quick", "alpha").startswith("pid ")  # held by this process
    lock.release()
    assert not isinstance(Store(tmp_path).lock(toy.STEM, "quick", "alpha"), str)


def test_a_part_killed_midway_resumes_from_its_checkpoint_and_says_so(tmp_path, monkeypatch):
    """A part whose loop saves checkpoints (helpers.checkpoint) continues after a kill from its last save; the
    stored meta adds the earlier run's time and names the resume; the checkpoint folder goes once it is stored."""
    from helpers import checkpoint

    monkeypatch.setenv("HELPERS_CHECKPOINT_S", "0")
    done_steps: list[int] = []

    def long_part(s: Toy, device: torch.device) -> dict:
        ck = checkpoint.active()
        state = ck.load("loop") or {"i": 0, "total": 0}
        for i in range(state["i"], 6):
            if i == 4 and "long" in KILL:
                KILL.discard("long")
                raise KeyboardInterrupt("killed at step 4")
            done_steps.append(i)
            state = {"i": i + 1, "total": state["total"] + i}
            ck.save("loop", state)
        return {"total": state["total"]}

    m = _toy_chapter()
    m.PARTS = lambda s: [Part("long", long_part)]
    KILL.clear()
    KILL.add("long")
    with pytest.raises(KeyboardInterrupt):
        runner.compute(m, "quick", store=tmp_path, progress=None)
    folder = tmp_path / "quick" / "09_toy" / "parts" / "long.s0.ckpt"
    assert (folder / "loop.pt").exists() and done_steps == [0, 1, 2, 3]
    (st,) = lookup.find_stored(m, "quick", m.PARTS(None), [Store(tmp_path)])
    assert st.stored is None and "its checkpoints hold" in st.note and "a run resumes from them" in st.note
    lines: list[str] = []
    runner.compute(m, "quick", store=tmp_path, progress=lines.append)
    assert done_steps == [0, 1, 2, 3, 4, 5], "the second run did steps 4 and 5 only"
    stored = Store(tmp_path).load("09_toy", "quick", "long", m.PARTS(None)[0].digest("09_toy", m.SETTINGS["quick"]))
    assert stored.result["total"] == 0 + 1 + 2 + 3 + 4 + 5
    assert stored.meta["resumed"]["checkpoints"] == ["loop"] and stored.meta["resumed"]["earlier_runs_s"] >= 0
    assert any("resumed from a checkpoint" in line for line in lines)
    assert not folder.exists(), "a stored part's checkpoints are removed"


def test_stored_so_far_shows_the_stored_parts_computes_nothing_and_records_nothing(toy, tmp_path):
    runner.compute(toy, "standard", names=["beta"], store=tmp_path, progress=None, device="cpu")
    CALLS.clear()
    ev = runner.stored_so_far(toy, "standard", store=tmp_path, committed=False)
    assert CALLS == [], "nothing is computed"
    assert list(ev) == ["beta"] and ev["beta"]["value"] == 1020 and ev.missing == ["alpha", "gamma"]
    assert "1 of 3 parts" in ev.headline() and "`alpha`, `gamma`" in ev.headline()
    with pytest.raises(ValueError, match="2 parts are not stored .*alpha, gamma.*a record needs every part"):
        ev.record(None, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    empty = runner.stored_so_far(toy, "quick", store=tmp_path, committed=False)
    assert len(empty) == 0 and empty.missing == ["alpha", "beta", "gamma"]
    with pytest.raises(ValueError, match="no settings for profile 'paper'"):
        runner.stored_so_far(toy, "paper", store=tmp_path)
    # once every part is stored it is the profile's whole evidence
    runner.compute(toy, "standard", store=tmp_path, progress=None, device="cpu")
    full = runner.stored_so_far(toy, "standard", store=tmp_path, committed=False)
    assert full.missing == [] and "**standard** profile, 3 stored parts" in full.headline()
