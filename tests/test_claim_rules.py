"""Each claim rule with a case that passes and one that fails, NaN and inf included (issue 21)."""
import json
import math

import numpy as np
import pytest

from helpers.claims import Claim, ClaimTable, Undecided
from helpers.history import rejudge
from helpers.noise import Correlation, Effect, Seeds, outcome_of
from helpers.records import value_from_record


def _c(relation, **kw):
    return Claim("C9.1", "x", "Table 9", relation=relation, **kw)


@pytest.mark.parametrize("relation,kw,good,bad", [
    ("approx", dict(paper=94.0, tolerance=1.0), Seeds([94.2, 93.9, 94.4]), Seeds([80.0, 81.0, 79.0])),
    (">=", dict(paper=0.95, tolerance=0.05), Seeds([0.96, 0.97]), 0.5),
    ("<=", dict(paper=0.02, tolerance=0.01), 0.0, 0.5),
    ("effect", {}, Effect([3.0, 3.1, 2.9], [1.0, 1.1, 0.9]), Effect([1.0, 1.1, 0.9], [3.0, 3.1, 2.9])),
    ("correlation", dict(target=-1), Correlation(range(20), -np.arange(20.0) + 0.1 * np.sin(np.arange(20))),
     Correlation(range(20), np.arange(20.0))),
    ("holds", {}, [True, Effect([2, 2.1, 1.9], [1, 1, 1])], [True, Effect([1, 1.1, 0.9], [2, 2, 2])]),
])
def test_every_rule_passes_one_case_and_fails_another(relation, kw, good, bad):
    c = _c(relation, **kw)
    assert c.judge(good).verdict == "reproduced" and c.judge(good).why == ""
    r = c.judge(bad)
    assert r.verdict == "not reproduced" and r.why    # every verdict but "reproduced" says why


@pytest.mark.parametrize("relation,kw,nan,inf", [
    ("approx", dict(paper=1.0, tolerance=0.1), float("nan"), Seeds([1.0, math.inf])),
    (">=", dict(paper=1.0), float("nan"), math.inf),         # inf on a >= claim is no pass
    ("<=", dict(paper=1.0), Seeds([0.5, math.nan]), -math.inf),
    ("effect", {}, Effect([1.0, math.nan], [0.0, 0.0]), Effect([math.inf, 1.0], [0.0, 0.0])),
    ("correlation", dict(target=1), Correlation([1, 2, 3, 4, 5], [1, 2, math.nan, 4, 5]),
     Correlation([1, 2, 3, 4, math.inf], [1, 2, 3, 4, 5])),
    ("holds", {}, [True, Effect([math.nan, 1], [0, 0])], [Effect([math.inf, 1], [0, 0])]),
])
def test_nan_and_inf_are_diverged_never_a_pass_or_not_run(relation, kw, nan, inf):
    c = _c(relation, **kw)
    for v in (nan, inf):
        assert c.judge(v).verdict == "diverged"
    assert c.judge(None).verdict == "not run"


def test_effects_need_seeds_and_must_clear_twice_their_standard_error():
    c = _c("effect")
    one = c.judge(Effect([5.0], [1.0]))
    assert one.verdict == "inconclusive" and "n = 1" in one.why
    noisy = Effect([1.0, 3.0, 2.0], [1.5, 1.0, 2.0])         # mean difference 0.5, paired SE 0.5
    assert c.judge(noisy).verdict == "inconclusive" and "within noise" in c.judge(noisy).why
    assert Effect([1.0, 3.0, 2.0], [1.5, 1.0, 2.0], paired=False).outcome() == "inconclusive"
    assert Effect(0.6, [0.1, 0.2, 0.15]).outcome() == "holds"   # a constant threshold against seeds
    with pytest.raises(ValueError, match="as many values"):
        Effect([1, 2], [1, 2, 3])
    with pytest.raises(TypeError, match="noise.Effect"):
        c.judge(0.5)


def test_correlations_need_an_interval_that_excludes_zero():
    c = _c("correlation", target=1)
    weak = Correlation(range(10), [0, 2, 1, 3, 5, 4, 3, 2, 6, 1])
    assert weak.interval[0] < 0 < weak.interval[1] and c.judge(weak).verdict == "inconclusive"
    assert c.judge(Correlation([1, 2, 3], [1, 2, 3])).verdict == "inconclusive"   # 3 points: no interval
    assert Correlation([1, 2, 3, 4], [5, 5, 5, 5]).rho == 0.0                      # a constant has no order
    with pytest.raises(ValueError, match="sign"):
        _c("correlation", target=0.5)
    with pytest.raises(ValueError, match="one length"):
        Correlation([1, 2], [1, 2, 3])


def test_partly_needs_half_the_checks_and_no_contradiction():
    c = _c("holds")
    up, down, flat = Effect([2, 2.1, 1.9], [1, 1, 1]), Effect([1, 1.1, 0.9], [2, 2, 2]), Effect([1, 2, 3], [2, 2, 2])
    assert c.judge([up, up, False]).verdict == "partly"
    assert c.judge([up, up, up, down]).verdict == "not reproduced"      # one against the paper beyond noise
    assert c.judge([up, False, False, False]).verdict == "not reproduced"
    assert c.judge([up, flat, flat, False]).verdict == "inconclusive"   # the undecided could make it half
    assert c.judge([flat]).verdict == "inconclusive"
    assert c.judge(1.0).verdict == "reproduced" and c.judge(0.5).verdict == "partly"   # a record's fraction
    with pytest.raises(ValueError, match="at least one"):
        c.judge([])
    with pytest.raises(ValueError, match="sub-check is"):
        outcome_of("maybe")


def test_undecided_kinds_and_the_score():
    rep = _c(">=", paper=1.0)
    ver = Claim("C9.2", "y", "Prop. 1", paper=0.0, relation="<=", target=1e-6, kind="verification")
    t = ClaimTable()
    t.add(rep, Undecided("η never moved", 0.0))
    t.add(ver, 0.0)
    assert t.results[0].verdict == "inconclusive" and t.results[0].why == "η never moved"
    assert t.counts() == {"reproduced": 0, "partly": 0, "inconclusive": 1, "not reproduced": 0, "diverged": 0,
                          "not run": 0}                     # verifications do not count
    assert t.score() == "0 of 1 reproduced, 0 partly, 1 inconclusive"
    html = t._repr_html_()
    assert html.index("Reproductions") < html.index("Verifications")
    assert list(t.to_frame().columns) == ["id", "kind", "claim", "paper", "ours", "rule", "verdict", "why"]
    with pytest.raises(ValueError, match="unknown kind"):
        Claim("C1", "x", "y", paper=1.0, kind="check")


@pytest.mark.parametrize("claim,value", [
    (_c("approx", paper=1.0, tolerance=0.1), Seeds([1.0, 1.05, 0.98])),
    (_c("effect"), Effect([2.0, 2.2, 2.1], [1.0, 1.3, 1.1], paired=False)),
    (_c("correlation", target=-1), Correlation(range(8), [8, 7, 6, 5, 5, 3, 2, 1])),
    (_c("holds"), [True, Effect([2, 2.1, 1.9], [1, 1, 1]), "inconclusive"]),
    (_c("<=", paper=1.0), float("inf")),
    (_c("holds"), Undecided("one run", [True, False])),
])
def test_a_record_is_judged_again_from_what_it_kept(claim, value):
    """``to_dict`` keeps what the rule needs: through JSON and back, today's rule gives the same verdict."""
    first = claim.judge(value)
    entry = json.loads(json.dumps(first.to_dict()))
    again = rejudge(claim, entry)
    assert (again.verdict, again.why) == (first.verdict, first.why)
    assert entry["rule"] == claim.rule() and entry["kind"] == claim.kind


def test_an_old_record_with_one_number_is_inconclusive_under_a_seed_rule():
    entry = {"id": "C9.1", "ours": True, "verdict": "reproduced"}
    r = rejudge(_c("effect"), entry)
    assert r.verdict == "inconclusive" and "per-seed" in r.why
    assert rejudge(_c("effect"), {"id": "C9.1", "ours": None}).verdict == "not run"
    legacy = rejudge(_c("holds"), {"id": "C9.1", "ours": 1.0, "verdict": "reproduced"})    # a fraction, no checks
    assert legacy.verdict == "inconclusive" and "fraction" in legacy.why
    assert value_from_record({"ours": "nan"}) != value_from_record({"ours": "nan"})     # NaN comes back as NaN


def test_a_claim_says_why_it_is_not_run():
    from helpers.claims import Claim
    plain = Claim("X.1", "x", "y", paper=1.0, tolerance=0.1)
    said = Claim("X.2", "x", "y", paper=1.0, tolerance=0.1, not_run="the data cannot be had offline")
    assert (plain.judge(None).verdict, plain.judge(None).why) == ("not run", "not measured in this profile")
    assert (said.judge(None).verdict, said.judge(None).why) == ("not run", "the data cannot be had offline")
    assert said.judge(1.05).verdict == "reproduced"


def test_the_score_names_the_failures():
    from helpers.claims import Claim, ClaimTable
    claims = {c.id: c for c in [Claim("X.1", "x", "y", paper=1.0, tolerance=0.1),
                                Claim("X.2", "x", "y", paper=1.0, tolerance=0.1)]}
    t = ClaimTable.of(claims, {"X.1": 1.0, "X.2": 5.0})
    assert t.score() == "1 of 2 reproduced, 0 partly, 1 not reproduced"
