"""Chapter 4's earlier whole-run records: the tables of a ``results.json`` written when the chapter ran as one
notebook execution (kept under ``results/standard/04_liegg/`` as e.g. ``h100_results.json``)."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ...records import recorded, rejudged

__all__ = ["EARLIER", "record_frames", "earlier_records"]

#: The files that may hold a whole-run record (``results.json`` only while it is still one).
EARLIER = ("results.json", "h100_results.json", "cpu_results.json")


def record_frames(rec: Mapping) -> dict:
    """A run's numbers behind the chapter's discussion, as tables (seed means unless noted).

    Args:
        rec: a chapter-4 whole-run ``results.json`` (or ``{"numbers": ...}`` of the same layout).
    Returns:
        ``{"rotation": by net (test accuracy, bias of the smallest singular vector),
        "sweep": by depth (test accuracy over all widths and seeds),
        "sample_complexity": by (task, fraction) (bias), "cifar": by seed (test accuracy, bias)}``.
    """
    import pandas as pd

    n = rec["numbers"]
    rot = pd.DataFrame({net: {"test accuracy (%)": 100 * float(np.mean(n["rotation"][net]["test_acc"])),
                              "bias": float(np.mean([b[0] for b in n["rotation"][net]["bias"]]))}
                        for net in ("shallow", "deep")}).T
    sweep = pd.DataFrame(n["sweep"]["rows"]).assign(**{"test accuracy (%)": lambda d: 100 * d["test_acc"]}) \
        .groupby("depth")[["test accuracy (%)"]].mean()
    sc = pd.DataFrame([{"task": task, "fraction": float(f), "bias": float(np.mean(b))}
                       for task, v in n["sample_complexity"].items()
                       for f, b in zip(v["fractions"], v["bias"])]).set_index(["task", "fraction"])
    cifar = n["cifar"]
    cif = (pd.DataFrame({"test accuracy (%)": 100 * np.asarray(cifar["test_acc"]), "bias": [b[0] for b in cifar["bias"]]})
           if "bias" in cifar else pd.DataFrame())
    cif.index.name = "seed"
    return {"rotation": rot, "sweep": sweep, "sample_complexity": sc, "cifar": cif}


def _claims_frame(rec: Mapping):
    """The record's claims judged by today's rules (``records.rejudged``), beside the verdict it recorded."""
    import pandas as pd

    from .claims import CLAIMS

    rows = [{"claim": c["id"], "ours": f"{c['ours']:.3g}" if isinstance(c.get("ours"), float) else c.get("ours"),
             "verdict": c.get("verdict"), "why": c.get("why", ""), "recorded verdict": c.get("recorded_verdict")}
            for c in rejudged(dict(rec), CLAIMS)]
    return pd.DataFrame(rows).set_index("claim") if rows else pd.DataFrame()


def earlier_records(stem: str = "04_liegg", root=None) -> dict[str, dict]:
    """The committed whole-run records of the chapter's longer profiles (files of ``EARLIER`` whose numbers hold
    the sweep; the quick profile's is left out, its page recomputes it in a minute).

    Returns:
        ``{caption: {"claims": DataFrame, **record_frames(rec)}}``; the caption names the profile, device, date,
        wall time and file. Empty when none is committed (or the package runs without a checkout).
    """
    out = {}
    for name in EARLIER:
        for profile, rec in recorded(stem, root, name=name).items():
            if profile == "quick" or "sweep" not in rec.get("numbers", {}):
                continue  # the quick profile's record, or a parts-based one: its evidence is the page itself
            caption = (f"{profile} on {rec['device']}, {rec.get('date', '')[:10]}, {rec['wall_time_s']:.0f} s "
                       f"of wall time ({name})")
            out[caption] = {"claims": _claims_frame(rec), **record_frames(rec)}
    return out
