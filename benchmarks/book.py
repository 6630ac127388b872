"""Whole book: compute time per chapter and profile, read from run records (nothing is re-run here), and how long
each page takes to render from stored parts (``page_times``, which renders them).

Sources of ``wall_times``: the committed records ``results/<profile>/<chapter>/results.json`` (a page's record: the
summed wall time of its parts) and the local runs ``_build/runs/<profile>/<chapter>/results.json`` that
``python -m helpers run`` / ``make book`` write. Per (profile, device) the newest record of each chapter counts;
the total is their sum.
"""
from __future__ import annotations

import json
from pathlib import Path

from helpers.registry import repo_root

__all__ = ["wall_times", "format_table", "page_times"]


def wall_times(root: Path | None = None) -> list[dict]:
    """One row per (profile, device, chapter) with the newest record's wall time and where it came from."""
    root = root or repo_root()
    newest: dict[tuple[str, str, str], dict] = {}
    for base in (root / "results", root / "_build" / "runs"):
        for path in sorted(base.glob("*/*/results.json")):
            rec = json.loads(path.read_text())
            key = (rec["profile"], rec["device"], rec["chapter"])
            row = {"profile": rec["profile"], "device": rec["device"], "chapter": rec["chapter"],
                   "wall_time_s": rec["wall_time_s"], "date": rec.get("date", ""), "source": str(path.relative_to(root))}
            if key not in newest or row["date"] > newest[key]["date"]:
                newest[key] = row
    return sorted(newest.values(), key=lambda r: (r["profile"], r["device"], r["chapter"]))


def format_table(rows: list[dict]) -> str:
    """A plain-text table, with a total per (profile, device)."""
    lines = [f"{'profile':9s} {'device':34s} {'chapter':32s} {'wall time':>10s}"]
    groups: dict[tuple[str, str], float] = {}
    for r in rows:
        lines.append(f"{r['profile']:9s} {r['device'][:34]:34s} {r['chapter']:32s} {r['wall_time_s']:9.1f}s")
        groups[(r["profile"], r["device"])] = groups.get((r["profile"], r["device"]), 0.0) + r["wall_time_s"]
    for (p, d), t in groups.items():
        lines.append(f"{p:9s} {d[:34]:34s} {'TOTAL (chapters recorded)':32s} {t:9.1f}s")
    return "\n".join(lines)


def page_times(profile: str = "best", keys=None) -> list[dict]:
    """Render each chapter's page (papermill, a fresh kernel) from the stores and time it.

    Parts missing from every store are computed first and timed apart (``parts_s``); ``page_s`` is the page alone:
    kernel start, loading the stored parts, drawing and writing the executed notebook.
    """
    import tempfile

    from helpers import chapters, registry

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for ch in registry.get_chapters(keys):
            (row,) = chapters.run_chapters([ch.key], profile, Path(tmp), progress=None)
            rows.append({"chapter": ch.stem, "profile": row["profile"], "parts computed": len(row["computed"]),
                         "parts_s": row["parts_s"], "page_s": row["page_s"]})
    return rows
