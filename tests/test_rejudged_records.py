"""Every committed record, judged again by today's claim rules (issue 21): the numbers stay, the verdicts follow
from them, and the page records written from stored parts already carry today's verdicts."""
import json
from pathlib import Path

import pytest

from helpers.claims import KINDS, VERDICTS
from helpers.records import rejudge
from helpers.records import record_values, rejudged, todays_claims

RESULTS = Path(__file__).resolve().parent.parent / "results"
RECORDS = sorted(p for p in RESULTS.glob("*/*/*.json") if json.loads(p.read_text()).get("claims"))


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: str(p.relative_to(RESULTS)))
def test_each_committed_record_is_judged_again_by_todays_rules(path):
    rec = json.loads(path.read_text())
    claims = todays_claims(path.parent.name)
    assert claims, f"{path}: no chapter package for {path.parent.name}"
    values = record_values(path.parent.name, rec)
    again = rejudged(rec, claims, values)
    kept = {c["id"]: c for c in rec["claims"]}
    assert again and all(c["id"] in kept for c in again)
    for c in again:
        assert c["verdict"] in VERDICTS and c["kind"] in KINDS
        if values is not None and values.get(c["id"]) is not None:   # recomputed from the record's tables
            assert c["verdict"] == claims[c["id"]].judge(values[c["id"]]).verdict
        else:                                                          # judged on what its claim entry kept
            assert c["verdict"] == rejudge(claims[c["id"]], kept[c["id"]]).verdict
        assert c["recorded_verdict"] == kept[c["id"]]["verdict"]
        if c["verdict"] != "reproduced":
            assert c["why"], f"{c['id']}: a verdict other than 'reproduced' says why"


def test_page_records_carry_todays_verdicts():
    """A page record (results.json written from stored parts) was rendered with today's rules: judging it again
    changes nothing. (Rendered again with ``python -m helpers run --chapter N --profile P --store results --force``
    after a change of rule.)"""
    pages = [p for p in RECORDS if p.name == "results.json" and "parts" in json.loads(p.read_text())["numbers"]]
    assert pages, "the page records of the committed parts"
    for path in pages:
        rec = json.loads(path.read_text())
        for c in rejudged(rec, todays_claims(path.parent.name)):
            assert c["verdict"] == c["recorded_verdict"], f"{path}: {c['id']} was judged by an older rule"
            assert "rule" in c and "kind" in c

