"""Every chapter computed and rendered in the quick profile (as `python -m helpers run` does), and its record."""
import importlib
import json

import pytest

from helpers import chapters, registry
from helpers.claims import VERDICTS

CHAPTERS = registry.available()


@pytest.mark.notebooks
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.stem)
def test_chapter_runs_in_quick_profile(chapter, tmp_path, need_data):
    need_data("mnist")
    summary = chapters.run_chapters([chapter.key], "quick", tmp_path, store=tmp_path / "store", committed=False)
    assert summary[0]["profile"] == "quick" and summary[0]["computed"], "a fresh store computes every part"
    assert (tmp_path / f"{chapter.stem}.ipynb").exists()
    rec = json.loads((tmp_path / chapter.stem / "results.json").read_text())
    assert rec["profile"] == "quick" and rec["wall_time_s"] > 0 and rec["numbers"]["parts"]
    assert rec["claims"], "a chapter ends with its paper-vs-ours table"
    assert all(c["verdict"] in VERDICTS for c in rec["claims"])
    again = chapters.run_chapters([chapter.key], "quick", tmp_path, store=tmp_path / "store", pages=False,
                                  committed=False)
    # an optional part that skipped for a missing resource (chapter 3's pretrained models offline) stores nothing, so
    # a run tries it again (a skip takes no time); every other part is found stored
    module = importlib.import_module(chapter.module)
    optional = {p.name for p in module.PARTS(module.SETTINGS["quick"]) if p.optional}
    assert set(again[0]["computed"]) <= optional, "a second run finds every part stored"
    parts = tmp_path / "store" / "quick" / chapter.stem / "parts"
    assert not [f for name in again[0]["computed"] for f in parts.glob(f"{name}.s*")], "a skip stores nothing"
