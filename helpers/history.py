"""The earlier whole-run records, judged once by today's claim rules into a frozen table per chapter.

Before the chapters ran as parts, a chapter ran as one notebook and wrote one JSON of everything it measured
(``EARLIER``: ``results/standard/<chapter>/h100_results.json``, ...). ``python -m helpers freeze-records`` (``write``)
judges each by today's rules and writes ``results/history/<chapter>.json``, which the pages, the landing table and
``captions.recorded`` read (``records.frozen``): nothing on the render path judges an old record, and nothing in
``helpers`` imports this module but ``__main__``. ``tests/test_rejudged_records.py`` fails while a committed table
is not what today's rules give. How a record is judged:

- chapters 1 and 4: each claim entry the record kept, by today's rule of that claim (``rejudge``);
- chapter 2: today's claim values from the record's Tables 1-3 (its ``cpu_reduced*.json`` kept no claims, its H100
  record 7 of today's 11); the Table-2 runs started off eta = 0 decide only C2.5 and C2.6;
- chapter 3: today's claim values from the record's experiments, under both readings of eq. 7.

A frozen table: ``{"chapter", "made_by", "records": [{"record": file, "profile", "label", "device", "date",
"wall_time_s", "seconds", "claims": [ClaimResult.to_dict() | {"recorded_verdict"}], "claims_per_image" (ch3)}]}``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from .claims import Claim, ClaimResult, ClaimTable, Undecided, _nonfinite
from .noise import Correlation, Effect
from .records import FROZEN_DIR, recorded, results_root, value_from_record

__all__ = ["EARLIER", "rejudge", "freeze", "write"]

#: The earlier whole-run records of each chapter: ``{stem: {file name: label}}`` (a file not committed is left out).
EARLIER: dict[str, dict[str, str]] = {
    "01_genuine_invariance": {"h100_results.json": "H100, one notebook run",
                              "cpu_results.json": "CPU, one notebook run"},
    "02_invariant_weights": {"h100_results.json": "H100 record", "cpu_reduced.json": "CPU record",
                             "cpu_reduced_t2_init.json": "cpu_reduced_t2_init",
                             "cpu_reduced_t2_init_lr.json": "cpu_reduced_t2_init_lr"},
    "03_learned_equivariance_depth": {"h100_results.json": "H100, one notebook run",
                                      "gpu_parts.json": "H100, every experiment",
                                      "cpu_parts.json": "CPU, all but the widths",
                                      "cpu_widths.json": "CPU, widths 1 and 2"},
    "04_liegg": {"h100_results.json": "H100, one notebook run", "cpu_results.json": "CPU, one notebook run"},
}


def rejudge(claim: Claim, entry: Mapping) -> ClaimResult:
    """``claim`` (today's rule) judged on the numbers a record's claim entry kept. A record that kept only a number
    for a claim now judged on seeds (an effect or a correlation), or only the fraction of sub-checks that held, is
    "inconclusive": the numbers stay, and they cannot show the effect is beyond noise."""
    value = value_from_record(entry)
    if claim.relation in ("effect", "correlation") and not isinstance(value, (Effect, Correlation, Undecided)):
        if value is None or _nonfinite(value):
            return claim.judge(value)
        return ClaimResult(claim, value, "inconclusive",
                           "this record kept one number, not the per-seed values this rule needs")
    if claim.relation == "holds" and not isinstance(value, (list, tuple, Undecided)) and value is not None \
            and not _nonfinite(value):
        return ClaimResult(claim, value, "inconclusive", "this record kept the fraction of sub-checks that held, "
                                                         "not the outcomes (beyond noise or not) this rule needs")
    if claim.relation != "holds" and isinstance(value, (list, tuple)):
        return ClaimResult(claim, value, "inconclusive", "this record kept sub-checks, not the number this rule needs")
    return claim.judge(value)


_CH2_ARRAYS = ("elbo", "kl_per_n", "test_acc", "test_ll", "eta_deg_final", "eta_deg", "eta")


def _ch2(rec: Mapping, name: str) -> dict[str, list[dict]]:
    """Chapter 2: today's claim values from the record's Tables 1-3, as arrays in ``parts.collect``'s layout."""
    from .experiments.ch2.claims import CLAIMS, claim_checks, claim_values

    def arrays(r: dict | None) -> dict | None:
        return None if r is None else {k: np.asarray(v) if k in _CH2_ARRAYS else v for k, v in r.items()}

    n = rec["numbers"]
    t1 = {net: {v: arrays(r) for v, r in per.items()} for net, per in (n.get("table1") or {}).items()}
    t2, t3 = arrays(n.get("table2")), arrays(n.get("table3"))
    values = claim_values(claim_checks(t1, t2, t3), t2, t3)
    ids = ("C2.5", "C2.6") if name.startswith("cpu_reduced_t2_init") else values
    return {"claims": ClaimTable.of(CLAIMS, {k: values[k] for k in ids}).to_records()}


def _ch3(rec: Mapping, name: str) -> dict[str, list[dict]]:
    """Chapter 3: today's claim values from the record's experiments under both readings of eq. 7, the claims the
    record decides (C3.6a/b only where it measured the pretrained models)."""
    from .experiments.ch3.claims import CLAIMS, ReadingTable, claim_values

    n = rec["numbers"]
    toy = {k: {f: np.asarray(v) if isinstance(v, list) else v for f, v in r.items()} for k, r in n["toy"].items()} \
        if n.get("toy") else None
    wid = {int(k): v for k, v in n["widths"].items()} if n.get("widths") else None
    pre = n.get("pretrained") if isinstance(n.get("pretrained"), dict) else None
    out = {}
    for key, matching in (("claims", "shared"), ("claims_per_image", "sample")):
        vals = claim_values(n.get("similarity_demo"), n.get("fig2b"), toy, n.get("mnist6"), n.get("augmentations"),
                            wid, pre, matching)
        out[key] = ReadingTable.judge({c: v for c, v in vals.items() if v is not None and c in CLAIMS},
                                      matching).to_records()
    return out


def _judge(stem: str) -> Callable[[Mapping, str], dict[str, list[dict]]]:
    """How ``stem``'s earlier records are judged (module docstring)."""
    if stem == "02_invariant_weights":
        return _ch2
    if stem == "03_learned_equivariance_depth":
        return _ch3
    from .registry import chapter_module

    claims = chapter_module(stem).claims.CLAIMS
    # chapters 1 and 4: the claim entries the record kept that are still defined, each judged again
    return lambda rec, name: {"claims": [rejudge(claims[c["id"]], c).to_dict() for c in rec.get("claims", [])
                                         if c["id"] in claims]}


def freeze(stem: str, root: str | os.PathLike | None = None) -> dict:
    """``stem``'s frozen table (module docstring): its ``EARLIER`` records committed under ``root`` (default: this
    checkout), in that order, judged by today's rules."""
    judge, out = _judge(stem), []
    for name, label in EARLIER[stem].items():
        for profile, rec in recorded(stem, root, name).items():
            kept = {c["id"]: c.get("verdict") for c in rec.get("claims", [])}
            entry: dict[str, Any] = {"record": name, "profile": profile, "label": label, "device": rec.get("device"),
                                     "date": rec.get("date", "")[:10], "wall_time_s": rec.get("wall_time_s")}
            if isinstance(rec.get("numbers", {}).get("seconds"), dict):
                entry["seconds"] = rec["numbers"]["seconds"]
            for key, claims in judge(rec, name).items():
                entry[key] = [c | {"recorded_verdict": kept.get(c["id"])} if key == "claims" else c for c in claims]
            out.append(entry)
    return {"chapter": stem, "made_by": "python -m helpers freeze-records", "records": out}


def write(root: str | os.PathLike | None = None, out: str | os.PathLike | None = None) -> dict[str, bool]:
    """Freeze every chapter of ``EARLIER`` and write ``<out>/<stem>.json`` (default ``out``:
    ``<root>/results/history``). Returns ``{stem: True where the file changed}``."""
    folder = Path(out) if out is not None else results_root(root) / FROZEN_DIR
    folder.mkdir(parents=True, exist_ok=True)
    changed = {}
    for stem in EARLIER:
        text = json.dumps(freeze(stem, root), indent=1, ensure_ascii=False) + "\n"
        path = folder / f"{stem}.json"
        changed[stem] = not path.exists() or path.read_text() != text
        if changed[stem]:
            path.write_text(text)
    return changed
