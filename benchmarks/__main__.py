"""python -m benchmarks [--device cpu|cuda] [--out results/benchmarks] : print a table, write JSON."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
from pathlib import Path

import torch

from helpers.provenance import device_name, versions
from helpers.training import default_device

from . import book, liegg, metrics, training


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument("--device", default=None, help="default: cuda when available, else cpu")
    p.add_argument("--out", default=None, help="folder for the JSON (default: _build/benchmarks)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--liegg-epochs", type=int, default=5,
                   help="epochs of the LieGG pipeline benchmark (the authors' notebook trains 200)")
    p.add_argument("--only", nargs="*", default=None, choices=["training", "liegg", "metrics", "book", "pages"],
                   help="run only these ('pages' renders every chapter's page from the stores and times it)")
    args = p.parse_args()
    device = torch.device(args.device) if args.device else default_device()
    os.environ.setdefault("HELPERS_PROGRESS", "0")
    rows = []
    if args.only is None or "training" in args.only:
        rows += training.run(device, repeats=args.repeats)
    if args.only is None or "liegg" in args.only:
        rows += liegg.run(device, epochs=args.liegg_epochs)
    if args.only is None or "metrics" in args.only:
        rows += metrics.run(device, repeats=args.repeats)
    print(f"device: {device_name(device)}")
    print(f"{'benchmark':48s} {'method':22s} {'seconds':>9s} {'samples/s':>11s} {'x ours':>8s}")
    for r in rows:
        print(f"{r['benchmark']:48s} {r['method']:22s} {r['seconds']:9.3f} {r['samples_per_s']:11.0f} "
              f"{r['slowdown']:8.2f}")
    chapters = book.wall_times() if args.only is None or "book" in args.only else []
    if chapters:
        print()
        print(book.format_table(chapters))
    pages = book.page_times() if args.only is None or "pages" in args.only else []
    for r in pages:
        print(f"page {r['chapter']:32s} {r['profile']:9s} rendered in {r['page_s']:6.1f} s "
              f"({r['parts computed']} parts computed first, {r['parts_s']:.1f} s)")
    out = Path(args.out or "_build/benchmarks")
    out.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc)
    record = {"device": device_name(device), "date": stamp.isoformat(timespec="seconds"), "versions": versions(),
              "repeats": args.repeats, "rows": rows, "chapters": chapters, "pages": pages}
    path = out / f"bench-{device.type}-{stamp:%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"written: {path}")


if __name__ == "__main__":
    main()
