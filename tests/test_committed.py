"""The committed evidence under results/: every stored part belongs to a chapter and part that exist, carries the
settings hash its chapter computes today (a settings change without recomputing fails here, instead of silently
dropping the page back to another profile), loads, and is small; every page record names a profile that matches
its folder."""
import json
from pathlib import Path

import pytest

from helpers import registry, runner
from helpers.store import Store

ROOT = Path(__file__).resolve().parent.parent
PARTS = sorted((ROOT / "results").glob("*/*/parts/*.json"))


@pytest.mark.parametrize("path", PARTS, ids=lambda p: str(p.relative_to(ROOT / "results")))
def test_committed_part_matches_its_chapter_today(path):
    profile, stem = path.parent.parent.parent.name, path.parent.parent.name
    module = registry.chapter_module(registry.get_chapter(stem).stem)
    meta = json.loads(path.read_text())
    parts = {p.name: p for p in module.PARTS(module.SETTINGS[profile])}
    assert meta["part"] in parts, f"{path.name}: {stem} has no part {meta['part']!r} in {profile} any more"
    digest = parts[meta["part"]].digest(stem, module.SETTINGS[profile], data=meta.get("data") or {})
    assert meta["settings_hash"] == digest, (f"{path}: stored with other settings than {profile}'s today; recompute "
                                             f"it (python -m helpers run --chapter {stem} --profile {profile} "
                                             "--store results --force) or delete it")
    stored = Store(ROOT / "results", protected=True).load(stem, profile, meta["part"], digest)
    assert stored is not None and stored.meta["device"] and stored.meta["date"] and stored.meta["wall_time_s"] >= 0
    size = path.stat().st_size + (path.with_suffix(".npz").stat().st_size if path.with_suffix(".npz").exists() else 0)
    assert size < 4e6, f"{path.name}: {size / 1e6:.1f} MB; keep stored parts small (downsample what figures need)"


def test_committed_page_records_name_their_profile():
    for path in sorted((ROOT / "results").glob("*/*/results.json")):
        rec = json.loads(path.read_text())
        assert rec["profile"] == path.parent.parent.name, f"{path} records profile {rec['profile']!r}"
        assert rec["chapter"] == path.parent.name


@pytest.mark.parametrize("key,profile", [("1", "paper"), ("2", "standard"), ("3", "standard")])
def test_a_profile_in_progress_renders_from_its_committed_parts(key, profile, monkeypatch):
    """The pages' "so far" sections: the committed parts of a profile still being computed load without computing
    anything, and the chapter's view of them draws (tables beside the paper's, figures)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: shown.extend(objs))
    monkeypatch.setattr(plt, "show", lambda *a, **kw: plt.close("all"))
    module = registry.chapter_module(key)
    ev = runner.stored_so_far(module, profile, store=Store(ROOT / "results", protected=True), committed=False)
    if not len(ev):
        pytest.skip(f"no part of {module.STEM}'s {profile} profile is committed")
    assert set(ev) | set(ev.missing) == {p.name for p in module.PARTS(module.SETTINGS[profile])}
    module.views.show_so_far(ev)
    assert shown[0] is ev and len(shown) >= 2
