"""What one chapter-2 part of a profile costs with the fast step, from timed steps (issue 39).

    python -m benchmarks.ch2_part_time [--profile steps] [--hidden D] [--samples S] [--steps 50] [--threads 1]
        [--out DIR]

For each kind of sweep of the profile (``benchmarks.ch2_step.sweeps``; ``--hidden`` / ``--samples`` override the
profile's width and S with ``settings.reduced_settings``), times ``--steps`` consecutive updates of the fast step
(``fit_sweep``'s: ``neg_elbo(fast=True)``, fused Adam, a new mini-batch of real images each step) after two warm-up
steps, and extrapolates from the process's CPU time per step (on one thread the cost of a step on an unshared core;
the wall time, longer where other work shares the cores, is kept too): a sweep's training = ms per step x the
profile's steps per sweep; a part = that x its seeds (Table 1: ``table1_seeds``, Tables 2 / 3: ``table2_seeds``). Evaluation (one pass over the training and test
images, about a third of an epoch's work) is not included. Writes
``DIR/ch2-step-part-time-<profile>-D<D>-S<S>-<t>t.json``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import time
from pathlib import Path

import torch

from helpers import data
from helpers.experiments.ch2.settings import SETTINGS, reduced_settings
from helpers.provenance import device_name, versions

from .ch2_speed import make_step
from .ch2_step import sweeps

__all__ = ["main"]

#: Which parts train each kind of sweep of ``sweeps`` (names as ``parts.all_parts`` gives them).
PARTS = {"Table 1, rff, full": ["t1-rff-full"], "Table 1, rff": ["t1-rff-partial", "t1-rff-regular"],
         "Table 1, relu": ["t1-relu-full", "t1-relu-partial", "t1-relu-regular"],
         "Table 2": ["t2-full", "t2-translated", "t2-scaled", "t2-regular"],
         "Table 3": ["t3-full", "t3-translated", "t3-scaled", "t3-regular"]}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="python -m benchmarks.ch2_part_time", description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="steps", choices=sorted(SETTINGS))
    p.add_argument("--hidden", type=int, default=None)
    p.add_argument("--samples", type=int, default=None)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--kinds", nargs="*", default=None, help="sweep kinds to time (default: all of the profile)")
    p.add_argument("--out", default=None, help="folder for the JSON (default: _build/benchmarks)")
    a = p.parse_args(argv)
    if a.steps < 1 or a.threads < 1:
        raise SystemExit(f"error: --steps and --threads must be >= 1, got {a.steps}, {a.threads}")
    torch.set_num_threads(a.threads)
    s = SETTINGS[a.profile]
    if a.hidden or a.samples:
        s = reduced_settings(s, a.hidden or s.hidden, a.samples or s.train.samples, s.train.epochs)
    out = {"device": device_name(torch.device("cpu")), "versions": versions(), "threads": a.threads,
           "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "profile": a.profile,
           "hidden": s.hidden, "samples": s.train.samples, "timed_steps": a.steps, "kinds": {}}
    for kind, (model, cfg, n, count, dataset) in sweeps(s).items():
        if a.kinds and kind not in a.kinds:
            continue
        x_all, y_all = data.load(dataset, train=True)
        x_all = data.to_unit(x_all[:4096])
        x_all = x_all if x_all.ndim == 4 else x_all[:, None]  # (n, C, H, W)
        batches = [(x_all[i:i + cfg.batch_size], y_all[i:i + cfg.batch_size])
                   for i in range(0, len(x_all) - cfg.batch_size + 1, cfg.batch_size)]
        xb, yb = batches[0][0].clone(), batches[0][1].clone()  # the step's batch, refilled before every step
        step = make_step(model, cfg, xb, yb, n, fast=True)
        for k in range(2):  # warm-up
            step()
        t0, c0 = time.perf_counter(), time.process_time()
        for k in range(a.steps):
            bx, by = batches[k % len(batches)]
            xb.copy_(bx)
            yb.copy_(by)
            step()
        ms_wall = 1e3 * (time.perf_counter() - t0) / a.steps
        ms = 1e3 * (time.process_time() - c0) / a.steps  # CPU time: on one thread, what the step costs unshared
        steps = cfg.epochs * math.ceil(n / cfg.batch_size)
        seeds = s.table1_seeds if kind.startswith("Table 1") else s.table2_seeds
        r = {"members": model.members, "ms_per_step": ms, "ms_per_step_wall": ms_wall, "steps_per_sweep": steps,
             "seeds_per_part": seeds,
             "train_h_per_sweep": ms * steps / 3.6e6, "train_h_per_part": ms * steps * seeds / 3.6e6,
             "parts": PARTS.get(kind, [])}
        out["kinds"][kind] = r
        print(f"{kind}: {model.members} members, D = {s.hidden if kind != 'Table 3' else s.cifar_hidden}, "
              f"S = {cfg.samples}: {ms:.0f} ms CPU per step on {a.threads} thread(s) ({ms_wall:.0f} ms wall); "
              f"{steps} steps a sweep -> {r['train_h_per_sweep']:.1f} h a sweep, {r['train_h_per_part']:.1f} h a part "
              f"({seeds} seeds)", flush=True)
        del model, step
    path = Path(a.out or "_build/benchmarks")
    path.mkdir(parents=True, exist_ok=True)
    f = path / f"ch2-step-part-time-{a.profile}-D{s.hidden}-S{s.train.samples}-{a.threads}t.json"
    f.write_text(json.dumps(out, indent=1) + "\n")
    print(f"written: {f}")
    return out


if __name__ == "__main__":
    main()
