"""Paper claims, their rules fixed before any result, and the *paper vs ours* table every chapter ends with.

A ``Claim`` states what the paper says (its value typed in and cited by table or figure), the measured
quantity, the rule and tolerance with a one-line reason, and what "partly" means for it. Its verdict is always
computed, by ``Claim.judge(ours)``:

- ``kind="reproduction"`` compares with a number or an effect the paper reports; only these count towards a
  chapter's score. ``kind="verification"`` holds by construction unless there is a bug (a weight-tied model is
  exactly invariant); it is shown in a table of its own.
- ``relation="approx"``: reproduced if ``|ours - target| <= tolerance``, partly within twice that.
- ``relation=">="`` / ``"<="``: reproduced if the inequality holds, partly if it holds after moving the target by
  ``tolerance`` against us. ``ours`` may be a number or ``noise.Seeds`` (judged by its mean, shown with its spread).
- ``relation="effect"``: ``ours`` is a ``noise.Effect`` (the paper says ``a > b``): reproduced beyond noise
  (difference > 2 SE), not reproduced when the opposite holds beyond noise, else *inconclusive* (always with one
  seed).
- ``relation="correlation"``: ``ours`` is a ``noise.Correlation``, ``target`` the paper's sign (+1 or -1):
  reproduced when the 95 % interval excludes 0 on that side, not reproduced on the other side, else inconclusive.
- ``relation="holds"``: ``ours`` lists the sub-checks (bools, ``Effect`` s or outcome strings): reproduced if all
  hold; *partly* if at least half hold and none contradicts the paper beyond noise; not reproduced if one does;
  inconclusive if fewer than half hold but those within noise could make it half.

Beyond these: ``None`` is "not run" (the profile skipped it, or the data could not be had); ``Undecided(reason)``
is "inconclusive" for a reason the chapter states (e.g. chapter 2's η never moved); a NaN or inf anywhere in
``ours`` is "diverged" -- never a pass and never "not run". Every verdict other than "reproduced" comes with a
one-line *why*.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from .noise import Correlation, Effect, Seeds, outcome_of

__all__ = ["VERDICTS", "KINDS", "Claim", "ClaimResult", "ClaimTable", "Undecided", "fraction_true"]

VERDICTS = ("reproduced", "partly", "inconclusive", "not reproduced", "diverged", "not run")
KINDS = ("reproduction", "verification")
_RELATIONS = ("approx", ">=", "<=", "holds", "effect", "correlation")


@dataclass(frozen=True)
class Undecided:
    """A measured claim that cannot be judged, and why (its verdict is "inconclusive")."""

    reason: str
    ours: Any = None


@dataclass(frozen=True)
class Claim:
    """One claim of a paper, with its rule.

    Attributes:
        id: e.g. ``"C1.2"``.
        statement: the measured quantity, in words.
        source: where the paper shows it, e.g. ``"Table 1"`` or ``"Fig. 4"``.
        paper: the paper's value as printed (number or text), or None for a purely qualitative claim.
        relation: ``approx``, ``>=``, ``<=``, ``holds``, ``effect`` or ``correlation`` (module docstring).
        target: the number compared with (default: ``paper`` when it is a number); for ``correlation``, the
            paper's sign (+1 or -1).
        tolerance: absolute tolerance for ``approx`` / slack for ``>=`` and ``<=``.
        kind: ``reproduction`` or ``verification``.
        reason: one line on why the tolerance is what it is (the paper's spread, a scale argument, or "the paper
            gives no spread; we use X").
        partly: what "partly" means for this claim (default: from the relation).
        not_run: why the claim is not measured, where that holds in every profile (its *why* when ``ours`` is
            None; default "not measured in this profile").
    """

    id: str
    statement: str
    source: str
    paper: Any = None
    relation: str = "approx"
    target: float | None = None
    tolerance: float = 0.0
    kind: str = "reproduction"
    reason: str = ""
    partly: str = ""
    not_run: str = ""

    def __post_init__(self):
        if self.relation not in _RELATIONS:
            raise ValueError(f"claim {self.id}: unknown relation {self.relation!r}; valid: {list(_RELATIONS)}")
        if self.kind not in KINDS:
            raise ValueError(f"claim {self.id}: unknown kind {self.kind!r}; valid: {list(KINDS)}")
        if self.relation in ("approx", ">=", "<=") and self._target() is None:
            raise ValueError(f"claim {self.id}: relation {self.relation!r} needs a numeric target or paper value")
        if self.relation == "correlation" and self.target not in (1, -1):
            raise ValueError(f"claim {self.id}: a correlation claim's target is the paper's sign, +1 or -1, "
                             f"got {self.target!r}")
        if not self.tolerance >= 0:
            raise ValueError(f"claim {self.id}: tolerance must be >= 0, got {self.tolerance}")

    def _target(self) -> float | None:
        if self.target is not None:
            return float(self.target)
        if isinstance(self.paper, (int, float)) and not isinstance(self.paper, bool):
            return float(self.paper)
        return None

    def _number(self) -> float:
        """The number an ``approx``, ``>=`` or ``<=`` claim compares with (``__post_init__`` checks there is one)."""
        t = self._target()
        assert t is not None, f"claim {self.id}: relation {self.relation!r} without a numeric target"
        return t

    def rule(self) -> str:
        """The rule in one line: what reproduces, what is partly, and the tolerance's reason."""
        tol, r = self.tolerance, self.relation
        if r == "approx":
            t = self._number()
            text = f"|ours − {t:.4g}| ≤ {tol:.4g}"
            partly = self.partly or f"≤ {2 * tol:.4g}"
        elif r in (">=", "<="):
            t = self._number()
            text = f"ours {'≥' if r == '>=' else '≤'} {t:.4g}"
            partly = self.partly or (f"{'≥' if r == '>=' else '≤'} {t - tol if r == '>=' else t + tol:.4g}"
                                     if tol else "")
        elif r == "effect":
            text, partly = "difference > 2 SE in the paper's direction (≥ 2 seeds)", self.partly
        elif r == "correlation":
            text, partly = f"95 % interval of ρ excludes 0, sign {'+' if self.target == 1 else '−'}", self.partly
        else:
            text = "every sub-check holds"
            partly = self.partly or "≥ half hold, none against the paper beyond noise"
        return text + (f"; partly: {partly}" if partly else "") + (f" ({self.reason})" if self.reason else "")

    def judge(self, ours: Any) -> "ClaimResult":
        """The verdict for a measured value (None: not run; see the module docstring)."""
        verdict, why = _verdict(self, ours)
        return ClaimResult(self, ours, verdict, why)


def _nonfinite(ours: Any) -> bool:
    if isinstance(ours, (Seeds, Effect, Correlation)):
        return not ours.finite
    if isinstance(ours, (list, tuple)):
        return any(_nonfinite(c) for c in ours)
    if isinstance(ours, (bool, np.bool_, str, Undecided)):
        return False
    if isinstance(ours, (int, float, np.floating, np.integer)):
        return not math.isfinite(float(ours))
    return False


def _verdict(c: Claim, ours: Any) -> tuple[str, str]:
    if ours is None:
        return "not run", c.not_run or "not measured in this profile"
    if isinstance(ours, Undecided):
        return "inconclusive", ours.reason
    if _nonfinite(ours):
        return "diverged", "a measured value is NaN or infinite"
    r = c.relation
    if r == "holds":
        return _holds(c, ours)
    if r == "effect":
        if not isinstance(ours, Effect):
            raise TypeError(f"claim {c.id}: an 'effect' claim is judged on a noise.Effect, got {type(ours).__name__}")
        o = ours.outcome()
        if o == "holds":
            return "reproduced", ""
        if ours.n < 2:
            return "inconclusive", f"n = {ours.n}: one seed cannot separate the effect from noise"
        if o == "contradicts":
            return "not reproduced", f"opposite to the paper beyond noise (Δ {ours.diff:.3g}, SE {ours.se:.2g})"
        return "inconclusive", f"within noise: Δ {ours.diff:.3g} with SE {ours.se:.2g} (n = {ours.n})"
    if r == "correlation":
        if not isinstance(ours, Correlation):
            raise TypeError(f"claim {c.id}: a 'correlation' claim is judged on a noise.Correlation, "
                            f"got {type(ours).__name__}")
        o, (lo, hi) = ours.outcome(c.target), ours.interval
        if o == "holds":
            return "reproduced", ""
        if o == "contradicts":
            return "not reproduced", f"ρ {ours.rho:.2f}, interval [{lo:.2f}, {hi:.2f}] on the other side of 0"
        return "inconclusive", f"ρ {ours.rho:.2f}, 95 % interval [{lo:.2f}, {hi:.2f}] includes 0 (n = {ours.n})"
    if isinstance(ours, (Effect, Correlation)) or isinstance(ours, (list, tuple)):
        raise TypeError(f"claim {c.id}: relation {r!r} is judged on a number or noise.Seeds, got {ours!r}")
    x, t, tol = float(ours), c._number(), c.tolerance
    if r == "approx":
        err = abs(x - t)
        return ("reproduced", "") if err <= tol else \
            ("partly", f"off by {err:.3g}, within twice the tolerance") if err <= 2 * tol else \
            ("not reproduced", f"off by {err:.3g} (tolerance {tol:.3g})")
    ok = x >= t if r == ">=" else x <= t
    near = x >= t - tol if r == ">=" else x <= t + tol
    side = "below" if r == ">=" else "above"
    return ("reproduced", "") if ok else \
        ("partly", f"{x:.4g} {side} {t:.4g}, within the tolerance {tol:.3g}") if near else \
        ("not reproduced", f"{x:.4g} {side} {t:.4g}" + (f" by more than {tol:.3g}" if tol else ""))


def _holds(c: Claim, ours: Any) -> tuple[str, str]:
    if isinstance(ours, (bool, np.bool_, int, float, np.floating)):     # a record's fraction or one bool
        frac = float(ours)
        if not 0.0 <= frac <= 1.0:
            raise ValueError(f"claim {c.id}: 'holds' needs sub-checks, a bool or a fraction in [0, 1], got {ours!r}")
        return ("reproduced", "") if frac == 1 else \
            ("partly", f"{frac:.0%} of the sub-checks hold") if frac >= 0.5 else \
            ("not reproduced", f"{frac:.0%} of the sub-checks hold")
    if isinstance(ours, (Seeds, Undecided)) or not isinstance(ours, (list, tuple)):
        raise TypeError(f"claim {c.id}: a 'holds' claim is judged on a list of sub-checks, got {ours!r}")
    if not ours:
        raise ValueError(f"claim {c.id}: 'holds' needs at least one sub-check")
    out = [outcome_of(x) for x in ours]
    n, k = len(out), {o: out.count(o) for o in ("holds", "contradicts", "inconclusive", "fails")}
    tally = f"{k['holds']} of {n} hold" + "".join(f", {k[o]} {w}" for o, w in (
        ("contradicts", "against the paper beyond noise"), ("inconclusive", "undecided"), ("fails", "fail"))
        if k[o])
    if k["holds"] == n:
        return "reproduced", ""
    if k["contradicts"]:
        return "not reproduced", tally
    if 2 * k["holds"] >= n:
        return "partly", tally
    if k["inconclusive"] and 2 * (k["holds"] + k["inconclusive"]) >= n:   # the undecided could make it partly
        return "inconclusive", tally
    return "not reproduced", tally


def fraction_true(checks) -> float:
    """The fraction of sub-checks that hold (bools or outcomes)."""
    checks = list(checks)
    if not checks:
        raise ValueError("fraction_true needs at least one check")
    return sum(outcome_of(c) == "holds" for c in checks) / len(checks)


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    ours: Any
    verdict: str
    why: str = ""

    def headline(self) -> Any:
        """The number shown as *ours*: a mean, a difference, ρ or the fraction of sub-checks that hold."""
        o = self.ours
        if isinstance(o, Undecided):
            o = o.ours
        if isinstance(o, (Seeds, Effect, Correlation)):
            return float(o)
        if isinstance(o, (list, tuple)):
            return fraction_true(o)
        return _plain(o)

    def to_dict(self) -> dict:
        c, o = self.claim, self.ours
        d = {"id": c.id, "kind": c.kind, "statement": c.statement, "source": c.source, "paper": c.paper,
             "relation": c.relation, "target": c.target, "tolerance": c.tolerance, "rule": c.rule(),
             "ours": _plain(self.headline())}
        if isinstance(o, Undecided):
            d["undecided"] = o.reason
            o = o.ours
        if isinstance(o, (Seeds, Effect, Correlation)):
            d |= o.to_dict()
        elif isinstance(o, (list, tuple)):
            d["checks"] = [outcome_of(x) for x in o]
        return d | {"verdict": self.verdict, "why": self.why}


def _plain(v: Any) -> Any:
    if hasattr(v, "item") and getattr(v, "ndim", 1) == 0:
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)          # JSON has no NaN / inf
    return v


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.4g}"
    return str(v)


def _fmt_ours(r: ClaimResult) -> str:
    o = r.ours.ours if isinstance(r.ours, Undecided) else r.ours
    if isinstance(o, Seeds):
        return f"{o.mean:.4g} ± {o.spread:.2g} (n = {o.n})" if o.n > 1 else f"{o.mean:.4g} (n = 1)"
    if isinstance(o, Effect):
        return f"Δ {o.diff:.4g} ± {o.se:.2g} SE (n = {o.n})" if o.n > 1 else f"Δ {o.diff:.4g} (n = 1)"
    if isinstance(o, Correlation):
        lo, hi = o.interval
        return f"ρ {o.rho:.2f} [{lo:.2f}, {hi:.2f}] (n = {o.n})"
    if isinstance(o, (list, tuple)):
        out = [outcome_of(x) for x in o]
        return f"{out.count('holds')} of {len(out)} hold"
    return _fmt(_plain(o))


_COLOURS = {"reproduced": "#d4edda", "partly": "#fff3cd", "inconclusive": "#e8e0f0", "not reproduced": "#f8d7da",
            "diverged": "#dc3545; color: white", "not run": "#e2e3e5"}
_COLUMNS = ["id", "kind", "claim", "paper", "ours", "rule", "verdict", "why"]


class ClaimTable:
    """The *paper vs ours* table: judged claims, rendered as HTML (reproductions, then verifications) and saved in
    results.json."""

    def __init__(self, results: Sequence[ClaimResult] = ()):
        self.results = list(results)

    def add(self, claim: Claim, ours: Any) -> ClaimResult:
        """Judge ``claim`` against ``ours`` and append it."""
        if any(r.claim.id == claim.id for r in self.results):
            raise ValueError(f"claim {claim.id} is already in the table")
        r = claim.judge(ours)
        self.results.append(r)
        return r

    @classmethod
    def of(cls, claims: Mapping[str, Claim], values: Mapping[str, Any]) -> "ClaimTable":
        """A table judging each ``values[id]`` against ``claims[id]``, in the order of ``values``."""
        unknown = [cid for cid in values if cid not in claims]
        if unknown:
            raise ValueError(f"no claim defined for {unknown}; defined: {list(claims)}")
        table = cls()
        for cid, value in values.items():
            table.add(claims[cid], value)
        return table

    def to_records(self) -> list[dict]:
        return [r.to_dict() for r in self.results]

    def to_frame(self, kind: str | None = None):
        """A pandas DataFrame (id, kind, claim, paper with its source, ours with spread and n, rule, verdict,
        why), of one ``kind`` or all."""
        import pandas as pd

        if kind is not None and kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; valid: {list(KINDS)}")
        rows = [{"id": r.claim.id, "kind": r.claim.kind, "claim": r.claim.statement,
                 "paper": f"{_fmt(r.claim.paper)} ({r.claim.source})", "ours": _fmt_ours(r),
                 "rule": r.claim.rule(), "verdict": r.verdict, "why": r.why}
                for r in self.results if kind is None or r.claim.kind == kind]
        return pd.DataFrame(rows, columns=_COLUMNS)

    def counts(self, kind: str | None = "reproduction") -> dict[str, int]:
        """How many claims of ``kind`` (default: reproductions, the chapter's score; None: all) got each verdict."""
        rs = [r for r in self.results if kind is None or r.claim.kind == kind]
        return {v: sum(r.verdict == v for r in rs) for v in VERDICTS}

    def score(self) -> str:
        """The chapter's score: reproductions only, e.g. ``"5 of 9 reproduced, 2 partly, 2 not reproduced"`` (the
        failures named as plainly as the rest)."""
        c = self.counts()
        n = sum(c.values())
        return f"{c['reproduced']} of {n} reproduced, {c['partly']} partly" + \
            "".join(f", {c[v]} {v}" for v in ("not reproduced", "inconclusive", "diverged", "not run") if c[v])

    def summary(self):
        """The verdicts at a glance, for the top of a page: an IPython ``Markdown`` line."""
        from IPython.display import Markdown

        ver = self.counts("verification")
        n_ver = sum(ver.values())
        text = f"**Verdicts** (the claims, each judged by its rule in the table near the end): {self.score()}"
        if n_ver:
            text += f"; {ver['reproduced']} of {n_ver} verifications hold"
        return Markdown(text + ".")

    def _html(self, kind: str) -> str:
        frame = self.to_frame(kind)
        if frame.empty:
            return ""
        styled = frame.drop(columns="kind").style.hide(axis="index").map(
            lambda v: f"background-color: {_COLOURS.get(v, '')}", subset=["verdict"])
        return styled.to_html()

    def _repr_html_(self) -> str:
        rep, ver = self._html("reproduction"), self._html("verification")
        return (f"<p><b>Reproductions</b> ({self.score()})</p>" + rep if rep else "") + \
            ("<p><b>Verifications</b> (hold by construction unless there is a bug; not counted)</p>" + ver
             if ver else "")

    def __repr__(self) -> str:
        return self.to_frame().to_string(index=False)
