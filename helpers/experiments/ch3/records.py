"""Chapter 3's earlier records: the committed studies under ``results/standard/03_learned_equivariance_depth/``
made before the chapter ran as parts, read through ``helpers.records.recorded`` and shown on the page.

- ``gpu_parts.json``: every experiment of the standard settings on an H100 (parts run side by side, merged);
- ``cpu_parts.json``, ``cpu_widths.json``: the experiments that fit on the 2-core CPU;
- ``h100_results.json`` (when present): a whole notebook run of the standard profile before the parts;
- ``h100_partial.json``: the digest of a notebook run on an H100 stopped in the width study;
- ``results/benchmarks/mixed-precision-<device>.json``: bf16 against fp32 training of the CIFAR nets
  (``benchmarks.mixed_precision``), the evidence for the chapter's mixed precision.

Their ``numbers`` hold ``{"mnist6", "augmentations", "widths"}`` in ``parts.collect``'s layout (widths keyed by
strings), ``similarity_demo``, ``toy``, ``fig2b``, and the claim values they computed.
"""
from __future__ import annotations

import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ...claims import ClaimTable
from ...records import _results_root, recorded
from .claims import CLAIMS, MATCHING, READS_EQUIVARIANCE, ReadingTable, claim_values
from .settings import STEM
from .views import accuracies, curves, frames, plateau_frame, plot_mnist6, plot_translation

__all__ = ["STEM", "EARLIER", "PARTIAL", "earlier", "record_frames", "record_claim_values", "record_summary",
           "record_claim_tables", "record_values", "record_figures", "partial_frame", "mixed_precision", "show_so_far",
           "readings", "readings_frame"]

#: The committed earlier records of the standard settings, by label (a missing file is left out).
EARLIER = {"H100, one notebook run": "h100_results.json", "H100, every experiment": "gpu_parts.json",
           "CPU, all but the widths": "cpu_parts.json", "CPU, widths 1 and 2": "cpu_widths.json"}
PARTIAL = "h100_partial.json"


def earlier(profile: str = "standard") -> dict[str, tuple[str, dict]]:
    """``{label: (file name, record)}`` of the ``EARLIER`` records committed in this checkout."""
    out = {}
    for label, name in EARLIER.items():
        rec = recorded(STEM, name=name).get(profile)
        if rec is not None:
            out[label] = (name, rec)
    return out


def record_frames(rec: dict) -> dict:
    """A record's per-part numbers as tables (``views.frames`` of its ``numbers``)."""
    return frames(rec["numbers"])


def record_claim_values(n: dict, matching: str = "shared") -> dict:
    """``claims.claim_values`` recomputed from a record's ``numbers``. C3.6a/b (pretrained) stay None unless the
    record measured the pretrained models."""
    arrays = lambda r: {k: np.asarray(v) if isinstance(v, list) else v for k, v in r.items()}  # noqa: E731
    toy = {name: arrays(r) for name, r in n["toy"].items()} if n.get("toy") else None
    wid = {int(k): v for k, v in n["widths"].items()} if n.get("widths") else None
    pre = n.get("pretrained") if isinstance(n.get("pretrained"), dict) else None
    return claim_values(n.get("similarity_demo"), n.get("fig2b"), toy, n.get("mnist6"), n.get("augmentations"), wid,
                        pre, matching)


def record_values(rec: dict) -> dict | None:
    """Today's claim values (eq. 7, c' shared over X) from a whole-run record's numbers; None for a page record."""
    n = rec.get("numbers", {})
    if not any(k in n for k in ("mnist6", "augmentations", "widths", "toy")):
        return None
    return record_claim_values(n)


def record_summary(label: str, name: str, rec: dict) -> str:
    """One line: the record's label, file, device, date and its experiments' seconds (or its wall time)."""
    secs = rec["numbers"].get("seconds")
    took = (", ".join(f"{k} {v:.0f} s" for k, v in secs.items()) if secs
            else f"{rec.get('wall_time_s', float('nan')):.0f} s in all")
    return f"{label} ({name}): {rec.get('device', '?')}, {rec.get('date', '')[:10]}: {took}"


def record_claim_tables(rec: dict) -> dict[str, ClaimTable]:
    """``{"shared": table, "per image": table}``: the claim values recomputed from the record's numbers and judged
    by today's ``CLAIMS`` (the numbers stay, the verdicts follow today's rules), the claims it did not decide left
    out."""
    n, out = rec["numbers"], {}
    for matching, label in (("shared", "shared"), ("sample", "per image")):
        vals = record_claim_values(n, matching)
        out[label] = ReadingTable.judge({c: v for c, v in vals.items() if v is not None and c in CLAIMS}, matching)
    return out


def record_figures(rec: dict) -> list[plt.Figure]:
    """Figs. 5, 6a and 6b of a record, those of the experiments it ran."""
    n, where = rec["numbers"], f"recorded, {rec.get('profile', 'standard')} settings, {rec.get('device', '?')}"
    figs = []
    if n.get("mnist6"):
        figs.append(plot_mnist6(n["mnist6"], f"{where}: MNIST6 (cf. Fig. 5)"))
    if n.get("augmentations"):
        figs.append(plot_translation(n["augmentations"], f"{where}: data augmentation (cf. Fig. 6a)"))
    if n.get("widths"):
        figs.append(plot_translation({f"k={k}": v for k, v in n["widths"].items()},
                                     f"{where}: WRN-40 widths (cf. Fig. 6b)"))
    return figs


def partial_frame(rec: dict):
    """The digest of a stopped notebook run (``h100_partial.json``) as a table: each cell's first line, status,
    seconds and the first line it printed."""
    import pandas as pd

    rows = [{"cell": c["first_line"][:60], "status": c["status"], "seconds": c["seconds"],
             "printed": (c.get("text") or "").strip().split("\n")[0][:140]} for c in rec["cells"]]
    return pd.DataFrame(rows)


def mixed_precision(root=None) -> dict[str, pd.DataFrame]:
    """The committed ``benchmarks.mixed_precision`` records (one per device), as tables: per seed, the validation
    accuracy of ResNet-44 in fp32 and bf16; per measure, the two precisions' mean depth-part curves against
    float32's seed spread, with the rule's verdict; and the step times of each CIFAR net. Empty when none is
    committed (e.g. a pip-installed ``helpers``)."""
    out = {}
    for path in sorted((_results_root(root) / "benchmarks").glob("mixed-precision-*.json")):
        rec = json.loads(path.read_text())
        c, dev = rec["compare"], rec["device"]
        seeds = rec.get("seed_list", list(range(rec["seeds"])))
        out[f"{dev}: validation accuracy (%) per seed, ResNet-44, {rec['n_train']:,} images, {rec['epochs']} epochs"] = (
            pd.DataFrame({"fp32": c["acc_fp32"], "bf16": c["acc_bf16"]}, index=pd.Index(seeds, name="seed")).round(1))
        rows = {"accuracy (points)": {"bf16 - fp32": c["acc_diff"], "rule's bound": max(2 * c["acc_diff_se"], 1.0),
                                      "holds": c["accuracy_holds"]}}
        for m, v in c["measures"].items():
            rows[f"{m}: mean |difference| of the depth-part curves"] = {
                "bf16 - fp32": v["mean_abs_diff"], "rule's bound": v["fp32_seed_sd"], "holds": v["holds"]}
        out[f"{dev}: the rule (adopt bf16: {c['adopt_bf16']})"] = pd.DataFrame.from_dict(rows, orient="index").round(3)
        if rec.get("step_ms"):
            out[f"{dev}: ms per training step of 128 images"] = pd.DataFrame(rec["step_ms"]).T.round(2)
    return out


def show_so_far(ev) -> None:
    """Display the stored trained parts of a profile in progress (``runner.stored_so_far``): their provenance, then
    Fig. 5 (MNIST6), Figs. 6a and 6b for the augmentations and widths stored so far (with their validation curves
    and plateau tables where the parts kept them), and their per-part tables."""
    from IPython.display import Markdown, display

    from .parts import collect

    display(ev)
    exp = collect(ev, ev.settings, stored_only=True)
    if exp["mnist6"]:
        plot_mnist6(exp["mnist6"], f"the {ev.profile} profile so far: rotation in/equivariance per part (cf. Fig. 5)")
        plt.show()
    for key, label, fig in (("augmentations", "", "6a"), ("widths", "k=", "6b")):
        if exp[key]:
            variants = {f"{label}{k}": r for k, r in exp[key].items()}
            print("validation accuracy: " + accuracies(variants))
            plot_translation(variants, f"the {ev.profile} profile so far: {key} (cf. Fig. {fig})")
            plt.show()
            if any("curve" in r for v in variants.values() for r in v["runs"]):
                curves(variants, f"the {ev.profile} profile so far: validation curves, {key}")
                plt.show()
                display(plateau_frame(variants).round(2))
    for name, frame in frames(exp).items():
        display(Markdown(f"**{name}**"))  # a heading in the page's order (printed text would gather above)
        display(frame.round(3))


def readings(rec: dict) -> dict[str, dict[str, dict]]:
    """The verdicts of a page record (``results.json``) under both readings of eq. 7, by claim:
    ``{claim id: {"shared": claim record, "per image": claim record}}``, for the claims that read equivariance
    and that the record holds in both (``"claims"`` is the shared reading, the chapter's;
    ``numbers["claims_per_image"]`` the second). Empty for a record made before the second reading was kept.

    Raises:
        ValueError: a record whose claims do not name their reading, or name another than the chapter's.
    """
    second = {c["id"]: c for c in rec.get("numbers", {}).get("claims_per_image", [])}
    out = {}
    for c in rec.get("claims", []):
        if c["id"] not in READS_EQUIVARIANCE or c["id"] not in second:
            continue
        if c.get("matching") != MATCHING or second[c["id"]].get("matching") != "sample":
            raise ValueError(f"claim {c['id']}: the record's readings are {c.get('matching')!r} and "
                             f"{second[c['id']].get('matching')!r}, not {MATCHING!r} and 'sample'")
        out[c["id"]] = {"shared": c, "per image": second[c["id"]]}
    return out


def readings_frame(rec: dict) -> pd.DataFrame:
    """``readings`` as a table: per claim, the value, verdict and why under eq. 7 with c' shared over X (the
    chapter's verdict) and with c' per image (the second reading), read from the record, never retyped."""
    def ours(c):
        v = c.get("ours")
        return f"{v:.3g}" if isinstance(v, float) else ("—" if v is None else str(v))

    rows = [{"claim": cid, "shared: ours": ours(r["shared"]), "shared: verdict": r["shared"]["verdict"],
             "shared: why": r["shared"]["why"], "per image: ours": ours(r["per image"]),
             "per image: verdict": r["per image"]["verdict"], "per image: why": r["per image"]["why"]}
            for cid, r in readings(rec).items()]
    return pd.DataFrame(rows).set_index("claim") if rows else pd.DataFrame()
