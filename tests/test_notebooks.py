"""Every chapter computed and rendered in the quick profile (as `python -m helpers run` does), and its record."""
import pytest

from helpers import chapters
from helpers.claims import VERDICTS
from helpers.records import load_results

CHAPTERS = chapters.available()


@pytest.mark.notebooks
@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.stem)
def test_chapter_runs_in_quick_profile(chapter, tmp_path, need_data):
    need_data("mnist")
    summary = chapters.run_chapters([chapter.key], "quick", tmp_path, store=tmp_path / "store", committed=False)
    assert summary[0]["profile"] == "quick" and summary[0]["computed"], "a fresh store computes every part"
    assert (tmp_path / f"{chapter.stem}.ipynb").exists()
    rec = load_results(tmp_path / chapter.stem)
    assert rec["profile"] == "quick" and rec["wall_time_s"] > 0 and rec["numbers"]["parts"]
    assert rec["claims"], "a chapter ends with its paper-vs-ours table"
    assert all(c["verdict"] in VERDICTS for c in rec["claims"])
    again = chapters.run_chapters([chapter.key], "quick", tmp_path, store=tmp_path / "store", pages=False,
                                  committed=False)
    assert again[0]["computed"] == [], "a second run finds every part stored"
