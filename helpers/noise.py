"""Measured values with their noise, for claims judged beyond seed spread.

A claim that compares two methods, or reads a correlation, is only reproduced when the effect lies in the
paper's direction *beyond noise*. The values here carry what that needs:

- ``Seeds``: one quantity measured per seed (mean, sample spread, standard error).
- ``Effect``: the difference ``a - b`` that the paper says is positive, per seed (paired) or as two samples;
  it *holds* when the mean difference exceeds twice its standard error, *contradicts* the paper when it is
  below minus twice its standard error, and is *inconclusive* otherwise (always with one seed).
- ``Correlation``: Spearman's ρ with a 95 % interval from Fisher's z (standard error ``1.03/sqrt(n-3)``,
  Fieller, Hartley & Pearson 1957); it holds when the interval excludes 0 on the paper's side.

Every value knows whether it is finite: a NaN or inf anywhere makes the claim "diverged".
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

__all__ = ["OUTCOMES", "Seeds", "Effect", "Correlation", "outcome_of", "Z95", "K_SE"]

OUTCOMES = ("holds", "contradicts", "inconclusive", "fails")
Z95 = 1.959964   # two-sided 95 % normal quantile
K_SE = 2.0       #: "beyond noise": a difference larger than K_SE times its standard error


def _floats(v: Iterable[float] | float, name: str) -> tuple[float, ...]:
    a = np.asarray(v, dtype=float).reshape(-1)
    if a.size == 0:
        raise ValueError(f"{name} is empty: a measured value needs at least one seed")
    return tuple(float(x) for x in a)


def _finite(*xs: Sequence[float]) -> bool:
    return all(math.isfinite(x) for s in xs for x in s)


@dataclass(frozen=True)
class Seeds:
    """One quantity, measured once per seed: ``values`` ``(n,)``."""

    values: tuple[float, ...]

    def __init__(self, values: Iterable[float] | float):
        object.__setattr__(self, "values", _floats(values, "Seeds.values"))

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def finite(self) -> bool:
        return _finite(self.values)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def spread(self) -> float:
        """The sample standard deviation over seeds (0 with one seed)."""
        return float(np.std(self.values, ddof=1)) if self.n > 1 else 0.0

    @property
    def se(self) -> float:
        return self.spread / math.sqrt(self.n)

    def __float__(self) -> float:
        return self.mean

    def to_dict(self) -> dict:
        return {"ours": self.mean, "spread": self.spread, "n": self.n, "seeds": list(self.values)}


@dataclass(frozen=True)
class Effect:
    """The paper says ``a > b``: ``a``, ``b`` per seed, ``(n,)`` each.

    ``paired=True`` (the default) takes the seed-wise differences ``a_i - b_i`` (the same seed, data order and
    initialisation draw for both), else two independent samples (Welch's standard error).
    """

    a: tuple[float, ...]
    b: tuple[float, ...]
    paired: bool = True

    def __init__(self, a: Iterable[float] | float, b: Iterable[float] | float, paired: bool = True):
        a, b = _floats(a, "Effect.a"), _floats(b, "Effect.b")
        if len(b) == 1 and len(a) > 1:      # a constant reference (a threshold): paired with every seed
            b, paired = b * len(a), True
        elif len(a) == 1 and len(b) > 1:
            a, paired = a * len(b), True
        if paired and len(a) != len(b):
            raise ValueError(f"a paired Effect needs as many values of a as of b, got {len(a)} and {len(b)}")
        object.__setattr__(self, "a", a)
        object.__setattr__(self, "b", b)
        object.__setattr__(self, "paired", bool(paired))

    @property
    def n(self) -> int:
        return min(len(self.a), len(self.b))

    @property
    def finite(self) -> bool:
        return _finite(self.a, self.b)

    @property
    def diff(self) -> float:
        """The mean difference ``mean(a) - mean(b)``."""
        return float(np.mean(self.a) - np.mean(self.b))

    @property
    def se(self) -> float:
        """Its standard error (paired: over the seed-wise differences; else Welch)."""
        if self.paired:
            d = np.subtract(self.a, self.b)
            return float(np.std(d, ddof=1) / math.sqrt(len(d))) if len(d) > 1 else math.inf
        if len(self.a) < 2 or len(self.b) < 2:
            return math.inf
        return float(math.sqrt(np.var(self.a, ddof=1) / len(self.a) + np.var(self.b, ddof=1) / len(self.b)))

    def outcome(self) -> str:
        """``holds`` (diff > 2 SE), ``contradicts`` (diff < -2 SE) or ``inconclusive``; one seed: inconclusive."""
        if not self.finite:
            raise ValueError("a non-finite Effect has no outcome: the claim diverged")
        if self.n < 2:
            return "inconclusive"
        d, se = self.diff, self.se
        return "holds" if d > K_SE * se else "contradicts" if d < -K_SE * se else "inconclusive"

    def __float__(self) -> float:
        return self.diff

    def to_dict(self) -> dict:
        return {"ours": self.diff, "spread": self.se, "n": self.n, "a": list(self.a), "b": list(self.b),
                "paired": self.paired}


@dataclass(frozen=True)
class Correlation:
    """The rank (Spearman) correlation of ``x`` and ``y``, ``(n,)`` each; ``sign`` (+1 / -1) is the paper's, for a
    correlation used as a sub-check (a claim's own sign is its ``target``)."""

    x: tuple[float, ...]
    y: tuple[float, ...]
    sign: int = 0

    def __init__(self, x: Iterable[float], y: Iterable[float], sign: int = 0):
        x, y = _floats(x, "Correlation.x"), _floats(y, "Correlation.y")
        if len(x) != len(y):
            raise ValueError(f"Correlation needs x and y of one length, got {len(x)} and {len(y)}")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)
        if sign not in (0, 1, -1):
            raise ValueError(f"a correlation's expected sign is +1 or -1 (0: none), got {sign!r}")
        object.__setattr__(self, "sign", sign)

    @property
    def n(self) -> int:
        return len(self.x)

    @property
    def finite(self) -> bool:
        return _finite(self.x, self.y)

    @property
    def rho(self) -> float:
        from scipy import stats

        if np.ptp(self.x) == 0 or np.ptp(self.y) == 0:
            return 0.0    # a constant has no ordering: no evidence of a correlation
        return float(stats.spearmanr(self.x, self.y).statistic)

    @property
    def interval(self) -> tuple[float, float]:
        """The 95 % interval of ρ (Fisher's z); ``(-1, 1)`` with fewer than 4 points."""
        if self.n < 4:
            return (-1.0, 1.0)
        z = math.atanh(float(np.clip(self.rho, -0.999999, 0.999999)))
        se = 1.03 / math.sqrt(self.n - 3)
        return (math.tanh(z - Z95 * se), math.tanh(z + Z95 * se))

    def outcome(self, sign: float | None = None) -> str:
        """``holds`` if the interval excludes 0 on the side of ``sign`` (default: ``self.sign``), ``contradicts``
        on the other side, else ``inconclusive``."""
        sign = self.sign if sign is None else sign
        if sign not in (1, -1):
            raise ValueError("a correlation's outcome needs the paper's sign, +1 or -1")
        if not self.finite:
            raise ValueError("a non-finite Correlation has no outcome: the claim diverged")
        lo, hi = self.interval
        if lo > 0 or hi < 0:
            return "holds" if (lo > 0) == (sign > 0) else "contradicts"
        return "inconclusive"

    def __float__(self) -> float:
        return self.rho

    def to_dict(self) -> dict:
        return {"ours": self.rho, "interval": list(self.interval), "n": self.n, "x": list(self.x),
                "y": list(self.y), "method": "spearman", "sign": self.sign}


def outcome_of(check) -> str:
    """The outcome of one sub-check: a bool (``holds`` / ``fails``), an ``Effect`` or a ``Correlation`` with its
    sign (their outcome), or one of
    ``OUTCOMES`` as a string (as records store them)."""
    if isinstance(check, (bool, np.bool_)):
        return "holds" if check else "fails"
    if isinstance(check, (Effect, Correlation)):
        return check.outcome()
    if isinstance(check, str) and check in OUTCOMES:
        return check
    raise ValueError(f"a sub-check is a bool, an Effect or one of {list(OUTCOMES)}, got {check!r}")
