"""The budget ladder's readings (issue 39, item 4), fixed before any ladder result exists.

The ladder trains Table 1's RFF sweep on partially and fully rotated MNIST at budgets x4 apart (``ladder-<dataset>-
<steps>`` parts, and the ``t1-rff-<dataset>`` part of the steps profile as the top rung, the paper's 46,900
steps), on 3 seeds each; at the paper's steps the fixed 45 and 90 degree members of partially rotated MNIST are also
trained at several widths D and samples S (``var-partial-d<D>-s<S>``). For each claim's quantity the page draws
the seed mean +- its standard error against steps on a log axis, with the paper's value as a line.

``TREND_RULE`` (pre-registered, committed before the results it reads):

- the **gap** of a rung is ``|mean over seeds of the quantity - the paper's value|``, its SE the seeds' standard
  error of the mean (``std / sqrt(n)``, ``n`` >= 2);
- over the **last three rungs** (2,931, 11,725 and 46,900 steps), the quantity is **moving towards the paper** when
  each gap is smaller than the one before by more than 2 SE (the two rungs' SEs in quadrature), **moving away**
  when each is larger by more than 2 SE, and **no trend** otherwise;
- for the ELBO's choice among fixed eta (C2.1: the paper picks 90 degrees on partially rotated MNIST), the quantity
  is the ELBO per point of the argmax member minus that of the paper's choice, per seed (0 where they agree; the
  paper's value is 0);
- **which of steps, S and width moves the ELBO's choice**: at the paper's steps, the 45 - 90 degree ELBO difference
  per seed at each (D, S) of the variations; S (or D) moves it when the difference at S = 32 (D = 1,024) and at
  S = 8 (D = 256) differ by more than 2 SE, and its sign says towards which member.

A claim's verdict (item 6, judged with the chapter's rules) then says whether it holds at the paper's steps, and
``trend`` which way it was moving.
"""
from __future__ import annotations

import math
import re
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .paper import PAPER_BEST_FIXED, PAPER_TABLE1

__all__ = ["TREND_RULE", "LAST_RUNGS", "QUANTITIES", "gap", "trend", "elbo_choice_gap", "variation_effect", "rungs",
           "rung_summary"]

TREND_RULE = ("over the last three budgets the gap to the paper shrinks (grows) at each step by more than 2 SE: "
              "moving towards (away from) the paper; otherwise no trend")
#: How many of the highest budgets the trend reads.
LAST_RUNGS = 3


def gap(values: Sequence[float], paper: float) -> tuple[float, float]:
    """``(|mean - paper|, SE)`` of one rung's per-seed ``values`` (SE = std / sqrt(n), ddof 1).

    Raises:
        ValueError: fewer than 2 seeds (no spread to judge a trend by).
    """
    v = np.asarray(values, dtype=float)
    if v.ndim != 1 or len(v) < 2:
        raise ValueError(f"a rung needs >= 2 per-seed values, got {v.tolist()}")
    return float(abs(v.mean() - paper)), float(v.std(ddof=1) / math.sqrt(len(v)))


def trend(rungs: Sequence[Sequence[float]], paper: float) -> str:
    """``TREND_RULE`` on the per-seed values of each rung, in increasing budget order.

    Returns:
        ``"towards"``, ``"away"`` or ``"no trend"``.

    Raises:
        ValueError: fewer than ``LAST_RUNGS`` rungs.
    """
    if len(rungs) < LAST_RUNGS:
        raise ValueError(f"the trend reads the last {LAST_RUNGS} rungs, got {len(rungs)}")
    gaps = [gap(r, paper) for r in rungs[-LAST_RUNGS:]]
    steps = [(g1 - g0, 2 * math.hypot(s0, s1)) for (g0, s0), (g1, s1) in zip(gaps, gaps[1:])]
    if all(d < -t for d, t in steps):
        return "towards"
    if all(d > t for d, t in steps):
        return "away"
    return "no trend"


def elbo_choice_gap(elbo: np.ndarray, degrees: Sequence[float], paper_degrees: float) -> np.ndarray:
    """Per seed, the ELBO of the argmax fixed member minus that of the paper's choice (>= 0; 0 where they agree).

    Args:
        elbo: ``(seeds, members)`` ELBO per point of the fixed members; degrees: their eta in degrees.
    """
    elbo = np.asarray(elbo, dtype=float)
    if elbo.ndim != 2 or elbo.shape[1] != len(degrees):
        raise ValueError(f"elbo must be (seeds, {len(degrees)}), got {elbo.shape}")
    if paper_degrees not in degrees:
        raise ValueError(f"the paper's choice {paper_degrees} is not among the members {list(degrees)}")
    return elbo.max(1) - elbo[:, list(degrees).index(paper_degrees)]


def variation_effect(diff_high: Sequence[float], diff_low: Sequence[float]) -> str:
    """Whether a setting moves the 45 - 90 degree ELBO difference: ``"moves"`` when its per-seed values at the paper's
    setting (``diff_high``) and at the smallest (``diff_low``) differ in mean by more than 2 SE, else ``"no
    effect"``."""
    (_, sh), (_, sl) = gap(diff_high, 0.0), gap(diff_low, 0.0)  # the SEs (and >= 2 seeds each)
    mh, ml = float(np.mean(diff_high)), float(np.mean(diff_low))
    return "moves" if abs(mh - ml) > 2 * math.hypot(sh, sl) else "no effect"


#: The claims' quantities the ladder draws: column of ``rungs`` -> (label, the paper's value per dataset).
QUANTITIES: dict[str, tuple[str, dict[str, float]]] = {
    "choice_gap": ("C2.1: ELBO gap, argmax − paper's η", {v: 0.0 for v in PAPER_BEST_FIXED}),
    "learned_deg": ("C2.2: learned η_rot from 5° (°)", dict(PAPER_BEST_FIXED)),
    "acc": ("test accuracy, learned from 5° (%)",
            {v: a for v, (_, a) in PAPER_TABLE1["learned (5 init)"].items()}),
}
_RUNG = re.compile(r"^(?:ladder-(?P<v>[a-z]+)-\d+|t1-rff-(?P<t>[a-z]+))$")


def rungs(results: Mapping[str, dict]) -> pd.DataFrame:
    """The ladder's stored rungs, one row per dataset, rung and seed: the ``ladder-<dataset>-<steps>`` parts and, as
    the top rung, a ``t1-rff-<dataset>`` part trained on several seeds (the steps profile's, at the paper's steps).

    Args:
        results: ``{part name: result}`` (other parts are ignored).

    Returns:
        Columns ``dataset, steps, seed, argmax_deg`` (the ELBO's choice among the fixed members), ``choice_gap``
        (``elbo_choice_gap`` against Table 1's choice), ``learned_deg`` (final |eta_rot| of "learned (5 init)"),
        ``acc`` and ``acc_sampled`` (its test accuracy, %, with the posterior-mean W2 and with the sampled
        predictive; NaN where the part predates the sampled one), sorted by dataset and steps.
    """
    rows = []
    for name, r in results.items():
        m = _RUNG.match(name)
        if m is None or "per_seed" not in r or (m["t"] or m["v"]) not in PAPER_BEST_FIXED:
            continue
        v, ps, names = m["t"] or m["v"], r["per_seed"], list(r["names"])
        fixed = [i for i, n in enumerate(names) if n.startswith("fixed ")]
        degrees = [float(names[i].split()[1]) for i in fixed]
        elbo = np.asarray(ps["elbo"], dtype=float)  # (S, M)
        gaps = elbo_choice_gap(elbo[:, fixed], degrees, PAPER_BEST_FIXED[v])  # (S,)
        learned = names.index("learned (5 init)")
        sampled = np.asarray(ps["test_acc_sampled"], dtype=float) if "test_acc_sampled" in ps else None
        for k, seed in enumerate(np.asarray(ps["seeds"]).tolist()):
            rows.append({"dataset": v, "steps": int(np.asarray(r["steps"])[-1]), "seed": int(seed),
                         "argmax_deg": degrees[int(elbo[k, fixed].argmax())], "choice_gap": float(gaps[k]),
                         "learned_deg": float(np.asarray(ps["eta_deg_final"])[k, learned]),
                         "acc": float(np.asarray(ps["test_acc"])[k, learned]),
                         "acc_sampled": float(sampled[k, learned]) if sampled is not None else float("nan")})
    cols = ["dataset", "steps", "seed", "argmax_deg", "choice_gap", "learned_deg", "acc", "acc_sampled"]
    return pd.DataFrame(rows, columns=cols).sort_values(["dataset", "steps", "seed"], ignore_index=True)


def rung_summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and rung of ``rungs(...)``: the seeds, the ELBO's choices (degrees, per seed), and each of
    ``QUANTITIES`` and ``acc_sampled`` as seed mean and standard error (``gap``'s SE; NaN with one seed); then per
    dataset the ``trend`` of each quantity over its last ``LAST_RUNGS`` rungs (``"needs 3 rungs"`` before), in the
    columns ``trend <quantity>``."""
    out = []
    for (v, steps), g in frame.groupby(["dataset", "steps"], sort=True):
        row = {"dataset": v, "steps": steps, "seeds": len(g), "ELBO's choice (°)": ", ".join(
            f"{d:g}" for d in g["argmax_deg"])}
        for q in (*QUANTITIES, "acc_sampled"):
            x = g[q].to_numpy(dtype=float)
            row[q] = float(x.mean()) if np.isfinite(x).all() else float("nan")
            row[f"{q} SE"] = float(x.std(ddof=1) / math.sqrt(len(x))) if len(x) > 1 else float("nan")
        out.append(row)
    summary = pd.DataFrame(out)
    for q, (_, paper) in QUANTITIES.items():
        col = []
        for v, g in summary.groupby("dataset", sort=False):
            per = [frame[(frame.dataset == v) & (frame.steps == s)][q].to_numpy() for s in g["steps"]]
            ok = len(per) >= LAST_RUNGS and all(len(x) >= 2 for x in per[-LAST_RUNGS:])
            col += [trend(per, paper[v]) if ok else f"needs {LAST_RUNGS} rungs"] * len(g)
        summary[f"trend {q}"] = col
    return summary
