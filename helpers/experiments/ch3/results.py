"""Chapter 3's stored results reshaped as the claims and the page read them (pure: it trains nothing): the parts'
results by experiment (``collect``), the per-part tables (``frames``), the widths at a matched accuracy
(``matched_widths``) and a curve's plateau (``plateau``).

**The matched-accuracy rule** (fixed before any ``steps`` result, issue 40 item 4):

- Each width's networks are measured at the settings' ``track_epochs`` (and where a network stops, see
  ``stop_acc``), each point holding the epoch, the validation accuracy (%) and the depth-part means of every measure.
- The common accuracy ``A*`` is the lowest, over the widths and their seeds, of each network's highest accuracy at a
  tracked point: every network of the comparison reaches it at some tracked point.
- A network's value at ``A*`` is read at its FIRST tracked point with accuracy >= ``A*``: interpolated linearly in
  accuracy between that point and the tracked point before it (the earlier of the two is below ``A*``); at the
  network's first tracked point, that point's value itself.
- The narrowest and the widest width are then compared as C3.5 compares them at the end (Middle and Late, eq. 7's
  shared equivariance, an effect beyond twice its standard error over seeds, unpaired).

A network has **plateaued** when its validation accuracy changed by less than 1 point over the last 10 % of its
epochs (``plateau``).
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ...metrics.similarity import PARTS as DEPTH_PARTS
from .settings import MEASURES, MNIST6_TASKS, Settings, aug_part, mnist6_part, width_part

__all__ = ["collect", "mean_parts", "measured", "matched_widths", "common_accuracy", "at_accuracy", "plateau",
           "PLATEAU_POINTS", "frames"]

PLATEAU_POINTS = 1.0  #: the largest change (points of validation accuracy) over the last 10 % of epochs of a plateau


# --------------------------------------------------------------------------- the results by experiment
def collect(ev: Mapping, s: Settings, stored_only: bool = False) -> dict:
    """The trained parts' results in ``ev`` (part results by name) by experiment, as the figures and claims read
    them: ``{"mnist6": {task: result}, "augmentations": {aug: result}, "widths": {k: result}}`` (each result has
    ``"acc"`` and ``"runs"``; width 1 is the ``aug-baseline`` result where ``width_part`` says so). ``stored_only``:
    leave out the models whose part ``ev`` lacks (a profile in progress) instead of raising ``KeyError``.
    """
    names: dict[str, dict[Any, str]] = {"mnist6": {t: mnist6_part(t) for t in MNIST6_TASKS},
             "augmentations": {a: aug_part(a) for a in s.augmentations},
             "widths": {int(k): width_part(s, k) for k in s.widths}}
    return {key: {model: ev[name] for model, name in per.items() if not stored_only or name in ev}
            for key, per in names.items()}


def mean_parts(runs: list[dict], key: str) -> np.ndarray:
    """The seed mean of ``{key}_parts`` over ``runs`` (measure results): ``(5,)``."""
    return np.mean([r[f"{key}_parts"] for r in runs], 0)


def measured(runs: list[dict]) -> list[str]:
    """The ``MEASURES`` keys that ``runs`` (measure results) hold per part (an earlier record lacks eq. 7's shared
    reading)."""
    return [m for m in MEASURES if f"{m}_parts" in runs[0]]


def frames(n: dict) -> dict:
    """Per-part numbers (seed means) of the trained experiments in ``n`` (``collect``'s layout, also the ``numbers``
    of the chapter's earlier records) as tables: for each experiment present, a DataFrame indexed by (model, measure)
    with one column per depth part and ``accuracy`` (%); and ``"seconds"`` where every run is timed: training and
    measuring seconds per model (seeds summed), indexed by (experiment, model)."""
    out = {}
    for key, label in (("mnist6", "task"), ("augmentations", "augmentation"), ("widths", "width")):
        if not n.get(key):
            continue
        rows = [{label: model if key != "widths" else f"k={model}", "measure": m,
                 **dict(zip(DEPTH_PARTS, mean_parts(r["runs"], m).tolist())), "accuracy": float(np.mean(r["acc"]))}
                for model, r in n[key].items() for m in measured(r["runs"])]
        out[key] = pd.DataFrame(rows).set_index([label, "measure"])
    times = [{"experiment": key, "model": model if key != "widths" else f"k={model}",
              **{f"{phase} s": sum(x["seconds"][phase] for x in r["runs"]) for phase in ("train", "measure")}}
             for key in ("mnist6", "augmentations", "widths") for model, r in (n.get(key) or {}).items()
             if all("seconds" in x for x in r["runs"])]
    if times:
        out["seconds"] = pd.DataFrame(times).set_index(["experiment", "model"])
    return out


# --------------------------------------------------------------------------- the matched-accuracy rule
def matched_widths(wid: dict, eq: str = "equivariance_shared") -> dict | None:
    """The widths at the common validation accuracy of the rule (module docstring): ``{"acc": A* (%), "values": {k: (seeds,
    5) {eq}_parts at A*}}``; None unless every network of every width has tracked points."""
    ks = sorted(wid)
    runs = [r for k in ks for r in wid[k]["runs"]]
    if len(ks) < 2 or not all(len(r.get("track") or []) for r in runs):
        return None
    acc = common_accuracy([r["track"] for r in runs])
    return {"acc": acc, "values": {k: np.stack([at_accuracy(r["track"], acc, eq) for r in wid[k]["runs"]])
                                   for k in ks}}


def common_accuracy(nets: list[list[dict]]) -> float:
    """``A*`` of the rule (module docstring): the lowest over ``nets`` (each a network's tracked points) of each
    network's highest tracked accuracy. Raises ``ValueError`` for a network without tracked points."""
    empty = [i for i, pts in enumerate(nets) if not pts]
    if empty or not nets:
        raise ValueError(f"networks {empty} have no tracked points; the matched-accuracy rule needs every network's")
    return float(min(max(p["acc"] for p in pts) for pts in nets))


def at_accuracy(points: list[dict], acc: float, key: str) -> np.ndarray:
    """A network's ``{key}_parts`` ``(5,)`` at validation accuracy ``acc`` by the rule (module docstring): at its
    first tracked point with accuracy >= ``acc``, interpolated linearly in accuracy from the point before it."""
    pts = sorted(points, key=lambda p: p["epoch"])
    i = next((j for j, p in enumerate(pts) if p["acc"] >= acc), None)
    if i is None:
        raise ValueError(f"the network never reaches {acc:.2f} % at a tracked point (best "
                         f"{max((p['acc'] for p in pts), default=math.nan):.2f} %)")
    hi = np.asarray(pts[i][f"{key}_parts"], float)
    if i == 0:
        return hi
    lo, a0, a1 = np.asarray(pts[i - 1][f"{key}_parts"], float), pts[i - 1]["acc"], pts[i]["acc"]
    return lo + (acc - a0) / (a1 - a0) * (hi - lo)


def plateau(curve) -> dict:
    """Whether a validation curve (% per epoch) plateaued: ``{"change": last − value 10 % of the epochs before
    the end (points), "window": epochs, "plateaued": |change| < PLATEAU_POINTS}``."""
    c = np.asarray(curve, float)
    if len(c) < 2:
        raise ValueError(f"a curve needs >= 2 epochs to judge a plateau, got {len(c)}")
    w = max(1, int(round(0.1 * len(c))))
    change = float(c[-1] - c[-1 - w])
    return {"change": change, "window": w, "plateaued": abs(change) < PLATEAU_POINTS}
