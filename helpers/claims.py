"""Paper claims and the *paper vs ours* table every chapter ends with.

A ``Claim`` holds what the paper says (its value, typed in and cited by table/figure) and how a
measured value is judged. The verdict is always computed by ``Claim.judge(ours)``:

- ``relation="approx"``: reproduced if ``|ours - target| <= tolerance``, partly within twice that.
- ``relation=">="`` / ``"<="``: reproduced if the inequality holds, partly if it holds after
  moving the target by ``tolerance`` against us.
- ``relation="holds"``: ``ours`` is the fraction of sub-checks that hold (or a bool): 1 ->
  reproduced, above 0 -> partly, 0 -> not reproduced. For qualitative claims ("every IR variant
  has smaller sigma_max than DA"), the chapter computes the sub-checks from its results.
- ``ours is None``: "not run" (the profile skipped it, or data could not be had).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

__all__ = ["VERDICTS", "Claim", "ClaimResult", "ClaimTable", "fraction_true"]

VERDICTS = ("reproduced", "partly", "not reproduced", "not run")
_RELATIONS = ("approx", ">=", "<=", "holds")


@dataclass(frozen=True)
class Claim:
    """One claim of a paper.

    Attributes:
        id: e.g. ``"C1.2"``.
        statement: the claim in words.
        source: where the paper shows it, e.g. ``"Table 1"`` or ``"Fig. 4"``.
        paper: the paper's value as printed (number or text), or None for a purely qualitative claim.
        relation: how ``ours`` is compared: ``approx``, ``>=``, ``<=`` or ``holds``.
        target: the number compared with; defaults to ``paper`` when that is a number.
        tolerance: absolute tolerance for ``approx`` / slack for ``>=`` and ``<=``.
    """

    id: str
    statement: str
    source: str
    paper: Any = None
    relation: str = "approx"
    target: float | None = None
    tolerance: float = 0.0

    def __post_init__(self):
        if self.relation not in _RELATIONS:
            raise ValueError(f"claim {self.id}: unknown relation {self.relation!r}; valid: {list(_RELATIONS)}")
        if self.relation != "holds" and self._target() is None:
            raise ValueError(f"claim {self.id}: relation {self.relation!r} needs a numeric target or paper value")
        if self.tolerance < 0:
            raise ValueError(f"claim {self.id}: tolerance must be >= 0, got {self.tolerance}")

    def _target(self) -> float | None:
        if self.target is not None:
            return float(self.target)
        if isinstance(self.paper, (int, float)) and not isinstance(self.paper, bool):
            return float(self.paper)
        return None

    def judge(self, ours: Any) -> "ClaimResult":
        """Compute the verdict for a measured value (None: not run)."""
        return ClaimResult(self, ours, _verdict(self, ours))


def _verdict(c: Claim, ours: Any) -> str:
    if ours is None or (isinstance(ours, float) and math.isnan(ours)):
        return "not run"
    if c.relation == "holds":
        frac = float(ours)
        if not 0.0 <= frac <= 1.0:
            raise ValueError(f"claim {c.id}: 'holds' needs a fraction in [0, 1] or a bool, got {ours!r}")
        return "reproduced" if frac == 1.0 else "partly" if frac > 0 else "not reproduced"
    x, t, tol = float(ours), c._target(), c.tolerance
    if c.relation == "approx":
        err = abs(x - t)
        return "reproduced" if err <= tol else "partly" if err <= 2 * tol else "not reproduced"
    if c.relation == ">=":
        return "reproduced" if x >= t else "partly" if x >= t - tol else "not reproduced"
    return "reproduced" if x <= t else "partly" if x <= t + tol else "not reproduced"


def fraction_true(checks: Iterable[bool]) -> float:
    """The fraction of sub-checks that hold, for ``relation="holds"`` claims."""
    checks = [bool(c) for c in checks]
    if not checks:
        raise ValueError("fraction_true needs at least one check")
    return sum(checks) / len(checks)


@dataclass(frozen=True)
class ClaimResult:
    claim: Claim
    ours: Any
    verdict: str

    def to_dict(self) -> dict:
        c = self.claim
        return {"id": c.id, "statement": c.statement, "source": c.source, "paper": c.paper,
                "relation": c.relation, "tolerance": c.tolerance, "ours": _plain(self.ours),
                "verdict": self.verdict}


def _plain(v: Any) -> Any:
    if hasattr(v, "item") and getattr(v, "ndim", 1) == 0:
        return v.item()
    return v


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


_COLOURS = {"reproduced": "#d4edda", "partly": "#fff3cd", "not reproduced": "#f8d7da", "not run": "#e2e3e5"}


class ClaimTable:
    """The *paper vs ours* table: judged claims, rendered as HTML in notebooks and saved in results.json."""

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

    def to_frame(self):
        """A pandas DataFrame: id, claim, source, paper, ours, verdict."""
        import pandas as pd

        rows = [{"id": r.claim.id, "claim": r.claim.statement, "source": r.claim.source,
                 "paper": _fmt(r.claim.paper), "ours": _fmt(_plain(r.ours)), "verdict": r.verdict}
                for r in self.results]
        return pd.DataFrame(rows, columns=["id", "claim", "source", "paper", "ours", "verdict"])

    def counts(self) -> dict[str, int]:
        return {v: sum(r.verdict == v for r in self.results) for v in VERDICTS}

    def _repr_html_(self) -> str:
        frame = self.to_frame()
        styled = frame.style.hide(axis="index").map(
            lambda v: f"background-color: {_COLOURS.get(v, '')}", subset=["verdict"])
        return styled.to_html()

    def __repr__(self) -> str:
        return self.to_frame().to_string(index=False)
