"""The committed records judged by today's claim rules (issues 21 and 42).

- The earlier whole-run records (``h100_results.json``, ``cpu_reduced.json``, ...) are judged once into each
  chapter's frozen table (``results/history/<chapter>.json``, ``helpers.history``), which the pages read: today's
  rules still give what is frozen (after a rule change: ``python -m helpers freeze-records``).
- A page record (``results/<profile>/<chapter>/results.json``, written from stored parts) is what today's claims
  give on the committed parts: the same verdicts and numbers (after a change: ``python -m helpers run --chapter N
  --profile P --store results --force`` renders it again).
"""
import json
from pathlib import Path

import pytest

from helpers import history, registry, runner
from helpers.claims import KINDS, VERDICTS
from helpers.records import FROZEN_DIR
from helpers.store import Store

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"
PAGES = sorted(RESULTS.glob("*/*/results.json"))


def test_the_frozen_tables_are_what_todays_rules_give(tmp_path):
    """``python -m helpers freeze-records`` run again writes exactly the committed frozen tables."""
    changed = history.write(out=tmp_path)
    assert set(changed) == set(history.EARLIER)
    for stem in history.EARLIER:
        committed = RESULTS / FROZEN_DIR / f"{stem}.json"
        assert committed.exists(), f"{committed} is missing: run python -m helpers freeze-records"
        assert (tmp_path / f"{stem}.json").read_text() == committed.read_text(), \
            f"{committed} is not what today's rules give: run python -m helpers freeze-records"


@pytest.mark.parametrize("stem", list(history.EARLIER))
def test_each_frozen_record_is_judged_and_says_why(stem):
    frozen = json.loads((RESULTS / FROZEN_DIR / f"{stem}.json").read_text())
    assert frozen["chapter"] == stem and frozen["records"]
    for e in frozen["records"]:
        assert (RESULTS / e["profile"] / stem / e["record"]).exists()
        for c in e["claims"] + e.get("claims_per_image", []):
            assert c["verdict"] in VERDICTS and c["kind"] in KINDS and c["rule"]
            if c["verdict"] != "reproduced":
                assert c["why"], f"{e['record']} {c['id']}: a verdict other than 'reproduced' says why"


def _claims(path: Path) -> tuple:
    """``(profile, module, claims as the record holds them, ``Evidence`` of the committed parts or None)``."""
    profile, stem = path.parent.parent.name, path.parent.name
    module = registry.chapter_module(stem)
    store = Store(RESULTS, protected=True)
    if runner.stored_so_far(module, profile, store=store, committed=False).missing:
        return profile, module, None
    return profile, module, runner.evidence(module, profile, store=store, committed=False, progress=None)


def _same(now: list[dict], then: list[dict]) -> None:
    assert [c["id"] for c in now] == [c["id"] for c in then]
    for a, b in zip(now, then):
        assert a["verdict"] == b["verdict"], f"{a['id']}: {a['verdict']} from the parts, {b['verdict']} recorded"
        if isinstance(a["ours"], float) and isinstance(b["ours"], float):
            assert a["ours"] == pytest.approx(b["ours"], rel=1e-6), a["id"]
        else:
            assert a["ours"] == b["ours"], a["id"]


@pytest.mark.parametrize("path", PAGES, ids=lambda p: str(p.relative_to(RESULTS)))
def test_a_page_record_is_what_todays_claims_give_on_the_committed_parts(path):
    """Every committed page record whose profile has all its parts committed: today's claim table, computed from
    those parts (nothing is trained), gives the verdicts and numbers (``ours``, to 6 significant digits: the float
    arithmetic of a reload) the record holds; chapter 3's second reading too."""
    profile, module, ev = _claims(path)
    if ev is None:
        pytest.skip(f"{module.STEM}'s {profile} parts are not all committed")
    rec = json.loads(path.read_text())
    _same(module.claims.table(ev).to_records(), rec["claims"])
    if "claims_per_image" in rec["numbers"]:
        _same(module.claims.table(ev, matching="sample").to_records(), rec["numbers"]["claims_per_image"])
