"""One chapter's parts computed three ways, in one run on one machine: in this process one after another (torch's
default threads, then one thread), and as Ray tasks on a local Ray with N CPU workers (one thread each).

    python -m benchmarks.cluster [--chapter 1] [--profile quick] [--cpus 2] [--out _build/benchmarks]

Each way is a fresh ``python -m helpers run --no-pages`` into an empty store, timed as a whole (Python and Ray
start-up included), so the ratios are what a user sees. Writes ``cluster-<date>.json``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from helpers.provenance import device_name, versions

__all__ = ["time_run", "main"]


def time_run(chapter: str, profile: str, store: Path, extra: list[str], cpus: int) -> float:
    """Wall time of one ``python -m helpers run`` computing every part of ``chapter`` into the empty ``store``."""
    env = os.environ | {"HELPERS_PROGRESS": "0", "HELPERS_RAY_CPUS": str(cpus)}
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "helpers", "run", "--chapter", chapter, "--profile", profile,
                        "--no-pages", "--ignore-committed", "--store", str(store), *extra], env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"helpers run {extra} failed:\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}")
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> Path:
    p = argparse.ArgumentParser(prog="python -m benchmarks.cluster", description=__doc__.splitlines()[0])
    p.add_argument("--chapter", default="1")
    p.add_argument("--profile", default="quick")
    p.add_argument("--cpus", type=int, default=os.cpu_count() or 2, help="CPUs of the local Ray")
    p.add_argument("--out", default="_build/benchmarks")
    args = p.parse_args(argv)
    ways = {"in process, one after another (default threads)": [],
            "in process, one after another (1 thread)": ["--threads", "1"],
            f"local Ray, {args.cpus} CPU workers (1 thread each)": ["--cluster", "ray"]}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, (way, extra) in enumerate(ways.items()):
            seconds = time_run(args.chapter, args.profile, Path(tmp) / f"s{i}", extra, args.cpus)
            rows.append({"way": way, "seconds": round(seconds, 1)})
            print(f"{way:55s} {seconds:7.1f} s", flush=True)
    base = rows[0]["seconds"]
    for r in rows:
        r["x_of_first"] = round(base / r["seconds"], 2)
    stamp = dt.datetime.now(dt.timezone.utc)
    record = {"what": f"chapter {args.chapter}, {args.profile} parts, three ways", "device": device_name("cpu"),
              "cpus": os.cpu_count(), "date": stamp.isoformat(timespec="seconds"), "versions": versions(), "rows": rows}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"cluster-{stamp:%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(record, indent=2) + "\n")
    print(f"written: {path}")
    return path


if __name__ == "__main__":
    main()
