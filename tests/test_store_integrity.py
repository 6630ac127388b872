"""Evidence a reader can trust (issue 41): every stored number checked against its hashes on every read, the data a
part read in its settings hash, the committed results/ never replaced without --force however it is named, and a
skip never stored. Each test here fails on the store before format 2."""
import json
import os
import re
import shutil
import subprocess
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from helpers import data, lookup, partfile, registry, runner, store
from helpers.parts import Part, run_part
from helpers.partfile import IntegrityError, part_hash, seal
from helpers.store import Store

ROOT = Path(__file__).resolve().parent.parent
CALLS: list[str] = []


@dataclass(frozen=True)
class Toy:
    a: int


def _toy(skip: bool = False, reads: str | None = None) -> types.ModuleType:
    def compute(name):
        def run(s, device):
            CALLS.append(name)
            if reads:
                data.load(reads, train=False)
            if skip and name == "beta":
                return {"skipped": "the beta resource is not here"}
            return {"acc": 90.0 + s.a, "curve": np.linspace(0, 1, 100) * s.a, "name": name}
        return run
    m = types.ModuleType("toy_chapter_41")
    m.STEM = "09_toy"
    m.SETTINGS = {"quick": Toy(1), "standard": Toy(2)}
    m.PARTS = lambda s: [Part("alpha", compute("alpha")), Part("beta", compute("beta"))]
    return m


@pytest.fixture
def toy():
    CALLS.clear()
    return _toy()


def _record(path: Path) -> dict:
    return json.loads(path.read_text())


# --------------------------------------------------------------------------- item 1: content integrity
def test_an_edited_number_is_an_error_naming_the_part_and_the_entry(toy, tmp_path):
    run = runner.compute(toy, "quick", store=tmp_path, progress=None)
    path = run.parts[0].store.path(toy.STEM, "quick", "alpha")
    doc = _record(path)
    doc["result"]["acc"] = 99.0  # a hand edit of one number, content hash kept
    path.write_text(partfile.dumps(doc))
    with pytest.raises(IntegrityError, match=r"alpha\.s0\.json does not match its content hash: result\['acc'\]"):
        runner.compute(toy, "quick", store=tmp_path, progress=None)
    assert CALLS == ["alpha", "beta"], "an edited part is never silently recomputed"
    with pytest.raises(IntegrityError, match="alpha"):
        runner.evidence(toy, "quick", store=tmp_path, progress=None)


def test_an_edited_array_or_another_runs_npz_is_detected(toy, tmp_path):
    runner.compute(toy, "quick", store=tmp_path, progress=None)
    runner.compute(toy, "standard", store=tmp_path, progress=None)
    st = Store(tmp_path)
    quick, standard = (st.path(toy.STEM, p, "alpha") for p in ("quick", "standard"))
    with np.load(quick.with_suffix(".npz")) as z:
        arrays = dict(z)
    arrays["a0"] = arrays["a0"].copy()
    arrays["a0"][3] += 1e-6
    np.savez_compressed(quick.with_suffix(".npz"), **arrays)
    with pytest.raises(IntegrityError, match=r"alpha\.s0\.json: array a0 \(result\['curve'\]\) does not match"):
        st.read(quick)
    shutil.copy(standard.with_suffix(".npz"), quick.with_suffix(".npz"))  # a record paired with another run's arrays
    with pytest.raises(IntegrityError, match=r"array a0 .*paired with another run's npz"):
        st.read(quick)


def test_edited_settings_with_resealed_content_fail_the_settings_hash(toy, tmp_path):
    """Settings edited inside a part while its settings_hash is kept (even with its content hashes recomputed) are
    caught by the settings hash recomputed from the stored settings."""
    runner.compute(toy, "quick", store=tmp_path, progress=None)
    path = Store(tmp_path).path(toy.STEM, "quick", "alpha")
    doc = _record(path)
    doc["settings"]["a"] = 2
    path.write_text(partfile.dumps(seal(doc)))
    with pytest.raises(IntegrityError, match=r"alpha\.s0\.json: its settings, version and data give the "
                                             r"settings hash sha256:\w+, but it records"):
        runner.compute(toy, "quick", store=tmp_path, progress=None)


def test_an_old_format_record_names_the_migration(toy, tmp_path):
    runner.compute(toy, "quick", store=tmp_path, progress=None)
    path = Store(tmp_path).path(toy.STEM, "quick", "alpha")
    doc = _record(path)
    for k in ("format", "content", "content_hash"):
        doc.pop(k)
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="store format 1, without content hashes.*python -m helpers migrate-store"):
        Store(tmp_path).read(path)


def test_verify_checks_every_record_and_names_the_bad_one(toy, tmp_path):
    from helpers.__main__ import main

    runner.compute(toy, "quick", store=tmp_path, progress=None)
    assert main(["verify", "--store", str(tmp_path)]) == 0
    path = Store(tmp_path).path(toy.STEM, "quick", "beta")
    path.write_text(path.read_text().replace('"name": "beta"', '"name": "BETA"'))
    n, problems = Store(tmp_path).verify()
    assert n == 2 and len(problems) == 1 and "beta.s0.json" in problems[0] and "result['name']" in problems[0]
    assert main(["verify", "--store", str(tmp_path)]) == 1


def test_an_edited_committed_part_makes_helpers_run_fail_naming_it(tmp_path):
    """From a scratch copy of the committed chapter 0 (quick): one edited number, and ``helpers run`` stops with
    an error that names the part, computing nothing."""
    src = ROOT / "results" / "quick" / "00_template" / "parts"
    parts = tmp_path / "results" / "quick" / "00_template" / "parts"
    shutil.copytree(src, parts)
    path = parts / "ensemble-vs-loop.s0.json"
    doc = _record(path)
    key = next(k for k, v in doc["result"].items() if isinstance(v, float))
    doc["result"][key] += 1.0
    path.write_text(partfile.dumps(doc))
    env = os.environ | {"HELPERS_PROGRESS": "0"}
    r = subprocess.run([sys.executable, "-m", "helpers", "run", "--chapter", "0", "--profile", "quick", "--no-pages",
                        "--ignore-committed", "--store", str(tmp_path / "results")], capture_output=True, text=True,
                       cwd=ROOT, env=env, timeout=120)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "ensemble-vs-loop.s0.json does not match its content hash" in r.stderr and f"result[{key!r}]" in r.stderr
    assert "computing" not in r.stdout


# --------------------------------------------------------------------------- item 5: data identity
def test_the_data_a_part_reads_enter_its_hash(tmp_path, need_data):
    need_data("mnist")
    m = _toy(reads="mnist")
    p = m.PARTS(m.SETTINGS["quick"])[0]
    _, meta = run_part(m.STEM, "quick", p, m.SETTINGS["quick"], "cpu")
    assert meta["data"] == {"mnist": data.identity("mnist")} and "md5 9fb629c4" in meta["data"]["mnist"]
    digest = p.digest(m.STEM, m.SETTINGS["quick"])
    assert meta["settings_hash"] == digest.with_data(meta["data"]) != digest  # data in the hash
    full = {"cifar10": data._identity("cifar10", True)}
    subset = {"cifar10": data._identity("cifar10", False)}
    assert "subset 8068/1017" in subset["cifar10"] and "official 50000/10000" in full["cifar10"]
    assert digest.with_data(full) != digest.with_data(subset)


def test_a_part_computed_on_the_cifar_subset_is_not_taken_for_the_full_set(tmp_path, monkeypatch):
    """A machine whose HELPERS_DATA holds the full CIFAR-10 does not take a part computed on the subset."""
    m = _toy()
    st = Store(tmp_path / "store")
    p = m.PARTS(m.SETTINGS["quick"])[0]
    s = p.settings_of(m.SETTINGS["quick"])
    subset = {"cifar10": data._identity("cifar10", False)}
    st.save(m.STEM, "quick", "alpha", {"acc": 1.0}, {"settings": s, "version": 1, "data": subset})
    digest = p.digest(m.STEM, m.SETTINGS["quick"])
    for root, sub in (("sub", "cifar-10-subset/cifar-10-batches-py"), ("full", "cifar-10-batches-py")):
        folder = tmp_path / root / sub
        folder.mkdir(parents=True)
        for f in ("data_batch_1", "test_batch"):
            (folder / f).write_bytes(b"")
    monkeypatch.setenv("HELPERS_DATA", str(tmp_path / "sub"))
    assert st.load(m.STEM, "quick", "alpha", digest).result == {"acc": 1.0}
    monkeypatch.setenv("HELPERS_DATA", str(tmp_path / "full"))
    assert st.load(m.STEM, "quick", "alpha", digest) is None
    assert "computed on cifar10 subset 8068/1017" in next(iter(st.stale.values()))
    monkeypatch.setenv("HELPERS_DATA", str(tmp_path / "none"))  # no CIFAR-10 here: the stored part stands
    assert st.load(m.STEM, "quick", "alpha", digest) is not None


def test_empty_helpers_data_is_an_error_not_a_download(monkeypatch):
    monkeypatch.setenv("HELPERS_DATA", "")
    with pytest.raises(ValueError, match="HELPERS_DATA is set but empty"):
        data.find("mnist")


def _legacy(doc: dict) -> dict:
    """A format-2 record as format 1 wrote it (what the migration started from)."""
    old = {k: v for k, v in doc.items() if k not in ("format", "content", "content_hash", "data", "migrated")}
    old["settings_hash"] = doc["migrated"]["settings_hash"]
    old["arrays"] = sorted(doc["arrays"])
    return old


@pytest.mark.parametrize("profile,stem", [("quick", "04_liegg"), ("standard", "00_template")])
def test_the_migration_keeps_every_number_and_verdict(profile, stem, tmp_path):
    """The committed parts rebuilt as format 1 and converted again give the committed records (same hashes, data and
    content), and the page's verdicts from the converted store are those of the format-1 results."""
    from helpers.migration import migrate_store

    committed = ROOT / "results" / profile / stem
    folder = tmp_path / profile / stem
    shutil.copytree(committed, folder)
    for path in sorted((folder / "parts").glob("*.json")):
        path.write_text(partfile.dumps(_legacy(_record(path))))
    old_results = {}
    for path in sorted((folder / "parts").glob("*.json")):
        doc = _record(path)
        arrays = dict(np.load(path.with_suffix(".npz"))) if doc["arrays"] else {}
        old_results[doc["part"]] = partfile.decode(doc["result"], arrays)
    out = migrate_store(tmp_path, say=lambda _: None)
    assert out["converted"] == len(old_results) and out["unchanged"] == 0
    for path in sorted((folder / "parts").glob("*.json")):
        a, b = _record(path), _record(committed / "parts" / path.name)
        skip = ("migrated", "content", "content_hash")  # the date of the conversion, and the hashes covering it
        assert {k: v for k, v in a.items() if k not in skip} == {k: v for k, v in b.items() if k not in skip}
        assert a["content"]["result"] == b["content"]["result"]
    assert (folder / "results.json").read_text() == (committed / "results.json").read_text()
    module = registry.chapter_module(stem)
    ev = runner.stored_so_far(module, profile, store=Store(tmp_path, protected=True), committed=False)
    assert not ev.missing
    for name, result in old_results.items():
        assert partfile.differences(ev[name], result, name) == []
    new = [(r.claim.id, r.verdict) for r in module.claims.table(ev).results]
    ev.results.update(old_results)
    assert new == [(r.claim.id, r.verdict) for r in module.claims.table(ev).results]
    assert migrate_store(tmp_path, say=lambda _: None)["converted"] == 0  # converting twice changes nothing


# --------------------------------------------------------------------------- item 2: one rule for results/
@pytest.fixture
def checkout(tmp_path, monkeypatch, toy):
    """A fake checkout whose committed results/ holds the toy chapter's quick parts."""
    repo = tmp_path / "repo"
    (repo / "book").mkdir(parents=True)
    (repo / "_toc.yml").write_text("")
    runner.compute(toy, "quick", store=Store(repo / "results", protected=True), force=True, progress=None)
    monkeypatch.setattr(store, "repo_root_or_none", lambda: repo)
    monkeypatch.delenv("HELPERS_STORE", raising=False)
    CALLS.clear()
    return repo


def _mtimes(repo):
    return {p: p.stat().st_mtime_ns for p in (repo / "results").rglob("*") if p.is_file()}


@pytest.mark.parametrize("route", ["flag", "flag-ignore-committed", "env", "env-ignore-committed", "dotdot",
                                   "absolute", "symlink", "inside"])
def test_every_route_to_results_is_refused_without_force(route, checkout, toy, monkeypatch, tmp_path):
    before = _mtimes(checkout)
    committed = None if route.endswith("ignore-committed") is False else False
    where = {"flag": "results", "flag-ignore-committed": "results", "dotdot": checkout / "book" / ".." / "results",
             "absolute": checkout / "results", "inside": checkout / "results" / "quick" / ".."}.get(route)
    if route.startswith("env"):
        monkeypatch.setenv("HELPERS_STORE", str(checkout / "results"))
    if route == "symlink":
        (tmp_path / "link").symlink_to(checkout / "results")
        where = tmp_path / "link"
    with pytest.raises(FileExistsError, match="pass --force"):
        runner.compute(toy, "quick", store=where, recompute=True, committed=committed, progress=None)
    assert CALLS == [] and _mtimes(checkout) == before
    first = lookup.stores(where, committed)[0]
    assert first.protected
    runner.compute(toy, "quick", store=where, recompute=True, committed=committed, force=True, progress=None)
    assert CALLS == ["alpha", "beta"]


def test_device_run_never_forwards_force():
    r = subprocess.run(["bash", str(ROOT / "scripts" / "device_run.sh"), "standard", "0", "--", "--force"],
                       capture_output=True, text=True, timeout=60, cwd=ROOT, env=os.environ | {"OUT": "/nonexistent"})
    assert r.returncode == 2 and "never forwards --force" in r.stderr


# --------------------------------------------------------------------------- item 4: skips are not results
def test_a_skipped_part_stores_nothing_and_the_next_run_computes_it(tmp_path):
    m = _toy(skip=True)
    lines = []
    run = runner.compute(m, "quick", store=tmp_path, progress=lines.append)
    st = Store(tmp_path)
    assert st.path(m.STEM, "quick", "alpha").exists() and not st.path(m.STEM, "quick", "beta").exists()
    assert run.parts[1].stored.skipped and run.parts[1].store is None
    assert any("beta: skipped: the beta resource is not here; nothing stored" in x for x in lines)
    ev = runner.evidence(m, "quick", store=tmp_path, progress=None)
    assert ev["beta"] == {"skipped": "the beta resource is not here"} and ev.where["beta"] == "skipped"
    CALLS.clear()
    m2 = _toy()  # the resource is here now
    assert runner.compute(m2, "quick", store=tmp_path, progress=None).computed == ["beta"] and CALLS == ["beta"]
    with pytest.raises(ValueError, match="a skip is not a result"):
        st.save(m.STEM, "quick", "beta", {"skipped": "x"}, {"settings": {}, "version": 1})


def test_a_skip_never_hides_a_committed_result(checkout, tmp_path):
    """A local run without the resource skips; the committed result is what the page renders."""
    m = _toy(skip=True)
    ev = runner.evidence(m, "quick", store=tmp_path / "local", progress=None)
    assert ev.where["beta"] == "committed" and ev["beta"]["acc"] == 91.0 and CALLS == []
    # a record of a skip (kept from the old format) in the local store does not hide it either
    p = m.PARTS(m.SETTINGS["quick"])[1]
    local = Store(tmp_path / "local")
    path = local.path(m.STEM, "quick", "beta")
    path.parent.mkdir(parents=True, exist_ok=True)
    s = p.settings_of(m.SETTINGS["quick"])
    doc = {"settings": s, "version": 1, "settings_hash": part_hash(m.STEM, "beta", 1, s), "chapter": m.STEM,
           "part": "beta", "profile": "quick", "seed": 0, "format": 2, "arrays": {}, "result": {"skipped": "old"}}
    path.write_text(partfile.dumps(seal(doc)))
    ev = runner.evidence(m, "quick", store=local, progress=None)
    assert ev.where["beta"] == "committed" and ev["beta"]["acc"] == 91.0


# --------------------------------------------------------------------------- item 8: no machine paths
_MACHINE_PATH = re.compile(r'"(/(?:root|home|work|tmp|Users|content|mnt|private)/[^"]*)"')


def test_no_committed_file_names_a_path_of_a_machine():
    found = [f"{p.relative_to(ROOT)}: {m.group(1)}" for p in sorted((ROOT / "results").rglob("*.json"))
             for m in _MACHINE_PATH.finditer(p.read_text())]
    assert found == []


def test_an_executed_page_names_paths_relative_to_the_repository(tmp_path, monkeypatch):
    import nbformat

    from helpers import chapters

    root, home = tmp_path / "repo", tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(f'profile = "quick"\nstore = "{root}/_build/store"\noutput_dir = '
                                     f'"{root}/results/quick/00_template"\n')
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell("x = 1")]
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text=f"warning in {home}/.venv/lib/x.py\n")]
    nb.metadata["papermill"] = {"input_path": f"{root}/book/00_template.ipynb", "cwd": str(root),
                                "parameters": {"store": f"{root}/_build/store"}}
    path = tmp_path / "page.ipynb"
    nbformat.write(nb, path)
    chapters.without_machine_paths(path, root)
    text = path.read_text()
    assert str(tmp_path) not in text
    back = nbformat.read(path, as_version=4)
    assert 'store = "_build/store"' in back.cells[0].source and '"results/quick/00_template"' in back.cells[0].source
    assert back.metadata["papermill"]["input_path"] == "book/00_template.ipynb"
    assert back.metadata["papermill"]["cwd"] == "." and "~/.venv/lib/x.py" in back.cells[1].outputs[0]["text"]


def test_a_store_object_on_results_is_protected_whatever_it_is_told(checkout, toy):
    st = Store(checkout / "book" / ".." / "results", protected=False)
    assert st.protected
    with pytest.raises(FileExistsError, match="pass --force"):
        st.save(toy.STEM, "quick", "alpha", {"acc": 0.0}, {"settings": {"a": 1}, "version": 1})


def test_an_optional_part_that_skips_does_not_keep_best_from_its_profile(tmp_path):
    from dataclasses import replace

    m = _toy(skip=True)
    base = m.PARTS
    m.PARTS = lambda s: [p if p.name == "alpha" else replace(p, optional=True) for p in base(s)]
    runner.compute(m, "standard", store=tmp_path, progress=None, committed=False)  # beta skips: not stored
    assert lookup.resolve_profile(m, "best", where=[Store(tmp_path)])[0] == "standard"
    ev = runner.evidence(m, "best", store=tmp_path, progress=None, committed=False)
    assert ev.profile == "standard" and ev["beta"] == {"skipped": "the beta resource is not here"}
