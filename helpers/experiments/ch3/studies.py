"""Chapter 3's committed studies beside its parts, as the page shows them (read, never judged here): the earlier
whole-run records of the standard settings (``gpu_parts.json``, ``cpu_parts.json``, ``cpu_widths.json``) with their
claims as the chapter's frozen table holds them (``helpers.records.frozen``); ``h100_partial.json``, a notebook run
on an H100 stopped in the width study; the bf16-vs-fp32 records of ``benchmarks.mixed_precision``; and the
standard page record's claims under both readings of eq. 7 (``readings``).
"""
from __future__ import annotations

import json

import pandas as pd

from ...records import frozen, frozen_table, recorded, results_root
from .claims import MATCHING, READS_EQUIVARIANCE
from .settings import STEM
from .views import show_experiments

__all__ = ["PARTIAL", "show_earlier", "partial_frame", "mixed_precision", "readings", "readings_frame"]

PARTIAL = "h100_partial.json"


def show_earlier(root=None) -> None:
    """Display each earlier record of the frozen table: one line (label, file, device, date, its experiments'
    seconds), its claims judged by today's rules under each reading of eq. 7 (best channel c' shared over X, then per
    image), and ``views.show_experiments`` of its numbers (figures ``fig-ch3-record-<file>-<experiment>``)."""
    from IPython.display import Markdown, display

    for e in frozen(STEM, root):
        rec = recorded(STEM, root, name=e["record"])[e["profile"]]
        took = ", ".join(f"{k} {v:.0f} s" for k, v in e["seconds"].items())  # every earlier record timed its parts
        display(Markdown(f"**{e['label']} ({e['record']}): {e['device']}, {e['date']}: {took}**"))
        for reading, key in (("shared", "claims"), ("per image", "claims_per_image")):
            display(Markdown(f"Its claims judged by today's rules, best channel c' {reading}:"))
            display(frozen_table(e[key]))
        show_experiments(rec["numbers"], "fig-ch3-record-" + e["record"].removesuffix(".json").replace("_", "-"),
                         f"Recorded run \"{e['label']}\" ({e['record']}, {rec.get('device', '?')})")


def partial_frame(rec: dict) -> pd.DataFrame:
    """The digest of a stopped notebook run (``h100_partial.json``) as a table: each cell's first line, status,
    seconds and the first line it printed."""
    rows = [{"cell": c["first_line"][:60], "status": c["status"], "seconds": c["seconds"],
             "printed": (c.get("text") or "").strip().split("\n")[0][:140]} for c in rec["cells"]]
    return pd.DataFrame(rows)


def mixed_precision(root=None) -> dict[str, pd.DataFrame]:
    """The committed ``benchmarks.mixed_precision`` records (one per device) as tables: per seed, ResNet-44's
    validation accuracy in fp32 and bf16; per measure, the two precisions' mean depth-part curves against float32's
    seed spread, with the rule's verdict; and each CIFAR net's step times (empty when none is committed)."""
    out = {}
    for path in sorted((results_root(root) / "benchmarks").glob("mixed-precision-*.json")):
        rec = json.loads(path.read_text())
        c, dev = rec["compare"], rec["device"]
        out[f"{dev}: validation accuracy (%) per seed, ResNet-44, {rec['n_train']:,} images, {rec['epochs']} epochs"] = (
            pd.DataFrame({"fp32": c["acc_fp32"], "bf16": c["acc_bf16"]},
                         index=pd.Index(rec["seed_list"], name="seed")).round(1))
        rows = {"accuracy (points)": {"bf16 - fp32": c["acc_diff"], "rule's bound": max(2 * c["acc_diff_se"], 1.0),
                                      "holds": c["accuracy_holds"]}}
        for m, v in c["measures"].items():
            rows[f"{m}: mean |difference| of the depth-part curves"] = {
                "bf16 - fp32": v["mean_abs_diff"], "rule's bound": v["fp32_seed_sd"], "holds": v["holds"]}
        out[f"{dev}: the rule (adopt bf16: {c['adopt_bf16']})"] = pd.DataFrame.from_dict(rows, orient="index").round(3)
        if rec.get("step_ms"):
            out[f"{dev}: ms per training step of 128 images"] = pd.DataFrame(rec["step_ms"]).T.round(2)
    return out


def readings(rec: dict) -> dict[str, dict[str, dict]]:
    """The verdicts of a page record (``results.json``) under both readings of eq. 7 (``"claims"``, the chapter's,
    and ``numbers["claims_per_image"]``): ``{claim id: {"shared": claim record, "per image": claim record}}`` for the
    claims that read equivariance and that the record holds in both. Raises ``ValueError`` for a record whose claims
    do not name their reading, or name another."""
    second = {c["id"]: c for c in rec.get("numbers", {}).get("claims_per_image", [])}
    out = {c["id"]: {"shared": c, "per image": second[c["id"]]} for c in rec.get("claims", [])
           if c["id"] in READS_EQUIVARIANCE and c["id"] in second}
    for cid, r in out.items():
        if (r["shared"].get("matching"), r["per image"].get("matching")) != (MATCHING, "sample"):
            raise ValueError(f"claim {cid}: the record's readings are {r['shared'].get('matching')!r} and "
                             f"{r['per image'].get('matching')!r}, not {MATCHING!r} and 'sample'")
    return out


def readings_frame(rec: dict) -> pd.DataFrame:
    """``readings`` as a table: per claim, the value, verdict and why under eq. 7 with c' shared over X (the
    chapter's verdict) and with c' per image (the second reading), read from the record, never retyped."""
    def ours(v):
        return f"{v:.3g}" if isinstance(v, float) else ("—" if v is None else str(v))

    rows = [{"claim": cid, **{f"{reading}: {k}": ours(c.get("ours")) if k == "ours" else c[k]
                              for reading, c in r.items() for k in ("ours", "verdict", "why")}}
            for cid, r in readings(rec).items()]
    return pd.DataFrame(rows).set_index("claim") if rows else pd.DataFrame()
