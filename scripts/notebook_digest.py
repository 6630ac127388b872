"""Digest of an executed (possibly unfinished) chapter notebook: per code cell, papermill's status and
seconds and the text it printed. For runs that were stopped before the chapter wrote its results.json
(e.g. at the GPU machine's 10-minute limit), so that what did run is kept as a record:

    python scripts/notebook_digest.py RUN.ipynb --device "NVIDIA H100 80GB HBM3" --note "..." --out FILE.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def digest(nb: dict, max_chars: int = 4000) -> list[dict]:
    """One entry per code cell that papermill started: the first source line, status, seconds, text."""
    cells = []
    for c in nb["cells"]:
        if c["cell_type"] != "code":
            continue
        pm = c.get("metadata", {}).get("papermill", {})
        if pm.get("status") in (None, "pending"):
            continue
        src = "".join(c["source"]).strip().splitlines()
        text = "".join("".join(o.get("text", "")) for o in c.get("outputs", []) if o.get("output_type") == "stream")
        if "inspect.getsource" in "".join(src):
            text = "(a source listing, left out)"
        errors = [f"{o['ename']}: {o['evalue']}" for o in c.get("outputs", []) if o.get("output_type") == "error"]
        cells.append({"first_line": src[0] if src else "", "status": pm["status"],
                      "seconds": None if pm.get("duration") is None else round(pm["duration"], 1),
                      "text": text[:max_chars], **({"errors": errors} if errors else {})})
    return cells


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("notebook", type=Path)
    p.add_argument("--device", required=True)
    p.add_argument("--note", required=True, help="how the run was made and why it stopped")
    p.add_argument("--out", type=Path, required=True)
    a = p.parse_args()
    nb = json.loads(a.notebook.read_text())
    pm = nb.get("metadata", {}).get("papermill", {})
    rec = {"chapter": a.notebook.stem, "kind": "partial run (digest of the executed notebook)",
           "device": a.device, "parameters": pm.get("parameters"), "started": pm.get("start_time"),
           "note": a.note, "cells": digest(nb)}
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(rec, indent=1, ensure_ascii=False) + "\n")
    print(f"written: {a.out} ({len(rec['cells'])} cells)")


if __name__ == "__main__":
    main()
