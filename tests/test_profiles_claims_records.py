import json
from dataclasses import dataclass, field

import pytest
import torch

from helpers import profiles
from helpers.claims import Claim, ClaimTable, fraction_true
from helpers.records import _jsonable


def test_resolve():
    assert profiles.resolve("quick").name == "quick"
    assert profiles.resolve("PAPER").name == "paper"
    auto = profiles.resolve("auto")
    assert auto.name == ("standard" if torch.cuda.is_available() else "quick")
    assert profiles.resolve("auto", device="cpu").name == "quick"
    assert str(profiles.resolve("standard")) == "standard"
    with pytest.raises(ValueError, match=r"unknown profile 'fast'; valid: \['quick', 'standard', 'steps', 'paper', 'auto'\]"):
        profiles.resolve("fast")


def test_settings_table():
    @dataclass(frozen=True)
    class S:
        n: int

    table = {"quick": S(1), "standard": S(2)}
    assert profiles.settings(table, "quick") == S(1)
    with pytest.raises(ValueError, match="profile 'paper' has no settings"):
        profiles.settings(table, "paper")


@pytest.mark.parametrize("relation,target,tol,ours,verdict", [
    ("approx", 94.0, 1.0, 94.5, "reproduced"),
    ("approx", 94.0, 1.0, 92.5, "partly"),
    ("approx", 94.0, 1.0, 90.0, "not reproduced"),
    (">=", 0.95, 0.05, 0.97, "reproduced"),
    (">=", 0.95, 0.05, 0.91, "partly"),
    (">=", 0.95, 0.05, 0.5, "not reproduced"),
    ("<=", 0.02, 0.01, 0.0, "reproduced"),
    ("<=", 0.02, 0.01, 0.025, "partly"),
    ("<=", 0.02, 0.01, 0.5, "not reproduced"),
    ("approx", 94.0, 1.0, None, "not run"),
])
def test_verdicts(relation, target, tol, ours, verdict):
    c = Claim("C9.9", "x", "Table 1", paper=target, relation=relation, tolerance=tol)
    assert c.judge(ours).verdict == verdict


def test_holds_claims_and_table():
    c = Claim("C1.5", "every IR variant below DA", "Fig. 5", relation="holds")
    assert c.judge(fraction_true([True, True])).verdict == "reproduced"
    assert c.judge(fraction_true([True, False])).verdict == "partly"
    assert c.judge(False).verdict == "not reproduced"
    with pytest.raises(ValueError, match="fraction in"):
        c.judge(3.0)
    with pytest.raises(ValueError, match="unknown relation"):
        Claim("C1", "x", "y", paper=1.0, relation="~")
    with pytest.raises(ValueError, match="needs a numeric target"):
        Claim("C1", "x", "y", paper="large", relation="approx")
    t = ClaimTable()
    t.add(c, 1.0)
    t.add(Claim("C1.1", "LI of WT is 0", "Table 1", paper=0.0, relation="<=", tolerance=1e-6), torch.tensor(0.0))
    with pytest.raises(ValueError, match="already"):
        t.add(c, 1.0)
    assert t.counts()["reproduced"] == 2
    frame = t.to_frame()
    assert list(frame["verdict"]) == ["reproduced", "reproduced"] and "C1.5" in t._repr_html_()
    json.dumps(t.to_records())
    claims = {"C1.5": c, "C1.6": Claim("C1.6", "x", "y", relation="holds")}
    judged = ClaimTable.of(claims, {"C1.6": None, "C1.5": 0.5})  # in the order of the values
    assert [(r.claim.id, r.verdict) for r in judged.results] == [("C1.6", "not run"), ("C1.5", "partly")]
    with pytest.raises(ValueError, match=r"no claim defined for \['C9'\]"):
        ClaimTable.of(claims, {"C9": 1.0})


def test_recorded_runs(tmp_path, write_record):
    from helpers.records import recorded_runs

    assert recorded_runs("01_x", root=tmp_path).empty
    t = ClaimTable()
    t.add(Claim("C1.1", "x", "y", paper=1.0, tolerance=0.1), 1.0)
    t.add(Claim("C1.2", "x", "y", paper=1.0, tolerance=0.1), None)
    write_record(tmp_path / "results" / "standard" / "01_x", "01_x", "standard", t)
    frame = recorded_runs("01_x", root=tmp_path)
    assert len(frame) == 1 and frame.loc[0, "profile"] == "standard"
    assert frame.loc[0, "reproduced"] == 1 and frame.loc[0, "not run"] == 1


def test_recorded_claims(tmp_path, write_record):
    from helpers.records import recorded_claims

    assert recorded_claims("01_x", root=tmp_path).empty
    for prof, value in (("standard", 0.5), ("quick", 0.123456)):
        t = ClaimTable()
        t.add(Claim("C1.1", "x", "Table 1", paper=0.5, tolerance=0.1), value)
        t.add(Claim("C1.2", "x", "Fig. 2", paper=1.0, tolerance=0.1), None)
        write_record(tmp_path / "results" / prof / "01_x", "01_x", prof, t)
    frame = recorded_claims("01_x", root=tmp_path)
    assert list(frame.index) == ["C1.1", "C1.2"]
    assert list(frame.columns) == ["kind", "source", "paper", "quick: ours", "quick: verdict",
                                   "standard: ours", "standard: verdict"]  # profiles in PROFILES order
    assert frame.loc["C1.1", "quick: ours"] == "0.123" and frame.loc["C1.1", "standard: verdict"] == "reproduced"
    assert frame.loc["C1.1", "quick: verdict"] == "not reproduced" and frame.loc["C1.2", "quick: verdict"] == "not run"
    assert frame.loc["C1.2", "source"] == "Fig. 2"


def test_records_write_nested_settings_as_json_objects():
    @dataclass(frozen=True)
    class Inner:
        lr: float = 1e-3

    @dataclass(frozen=True)
    class Outer:
        n: int = 2
        train: Inner = field(default_factory=Inner)

    assert _jsonable(Outer().__dict__) == {"n": 2, "train": {"lr": 1e-3}}
    assert _jsonable(Outer) != _jsonable(Outer())  # a class is not an instance


def test_a_record_in_another_profiles_folder_is_an_error(tmp_path, write_record):
    from helpers.records import recorded

    write_record(tmp_path / "results" / "standard" / "01_x", "01_x", "quick")
    with pytest.raises(ValueError, match=r"records profile 'quick' but sits in the folder of 'standard'"):
        recorded("01_x", root=tmp_path)
