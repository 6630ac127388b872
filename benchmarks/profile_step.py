"""Where a training step of ch1's MLP ensemble spends its time (issue 7: find why ``fit_ensemble`` misses 3x).

    python -m benchmarks.profile_step [--device cuda] [--members 4] [--batch 512] [--out DIR]

Runs one warm-up epoch, then profiles one epoch of ``fit_ensemble`` and of ``members`` sequential ``fit``
calls (the benchmark's setting: 10k Transforming-MNIST images, R4 augmentation) with ``torch.profiler``.
Prints, per way of training, the wall time per step, the operators by self time, and the count of
host-device copies, synchronisations and kernel launches per step; writes the same as JSON to ``DIR``.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from helpers.models import MLP
from helpers.provenance import device_name
from helpers.training import FitConfig, build_models, default_device, fit, fit_ensemble

from .timing import sync
from .training import rot4_batch, transforming_mnist_train

__all__ = ["profile_epoch", "main"]

# CUDA runtime calls counted per step (names as the profiler reports them)
_RUNTIME = {"copies": ("cudaMemcpyAsync", "cudaMemcpy"), "syncs": ("cudaStreamSynchronize", "cudaDeviceSynchronize"),
            "launches": ("cudaLaunchKernel", "cuLaunchKernel", "cudaLaunchKernelExC", "cuLaunchKernelEx",
                         "cudaGraphLaunch")}


def profile_epoch(fn, device: torch.device, steps: int, top: int = 15) -> dict:
    """Profile one call of ``fn`` (one epoch of ``steps`` optimiser steps): ms per step, top operators by
    self time (CPU, and CUDA where there is one), runtime calls per step."""
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    sync(device)
    t0 = time.perf_counter()
    with profile(activities=acts) as prof:
        fn()
        sync(device)
    wall = time.perf_counter() - t0
    events = prof.key_averages()
    dev_attr = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    rows = sorted(events, key=lambda e: getattr(e, dev_attr, 0.0), reverse=True)[:top]
    host = sorted(events, key=lambda e: e.self_cpu_time_total, reverse=True)[:top]
    counts = {k: sum(e.count for e in events if e.key in names) / steps for k, names in _RUNTIME.items()}
    return {"ms_per_step_profiled": 1e3 * wall / steps,
            "runtime_calls_per_step": counts,
            "top_by_device_time": [{"op": e.key, "ms": getattr(e, dev_attr, 0.0) / 1e3, "calls": e.count}
                                   for e in rows],
            "top_by_host_time": [{"op": e.key, "ms": e.self_cpu_time_total / 1e3, "calls": e.count} for e in host]}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile_step", description=__doc__.splitlines()[0])
    p.add_argument("--device", default=None, help="default: cuda when available, else cpu")
    p.add_argument("--members", type=int, default=4)
    p.add_argument("--n", type=int, default=10_000, help="training images")
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--out", default=None, help="folder for the JSON (default: _build/benchmarks)")
    a = p.parse_args(argv)
    if a.members < 1 or a.n < a.batch or a.batch < 1:
        raise SystemExit(f"error: need members >= 1 and n >= batch >= 1, got {a.members}, {a.n}, {a.batch}")
    device = torch.device(a.device) if a.device else default_device()
    x, y = transforming_mnist_train(a.n)
    cfg = FitConfig(epochs=1, batch_size=a.batch, lr=8e-4)
    seeds = list(range(a.members))
    models = [m.to(device) for m in build_models(lambda: MLP(36 * 36, [128] * 4, 9), seeds)]
    steps = -(-a.n // a.batch)
    ways = {"fit_ensemble": lambda: fit_ensemble(models, (x, y), None, cfg, seeds=seeds, augment=rot4_batch)}
    if device.type == "cuda":  # the same without the CUDA-graph replay of its steps
        ways["fit_ensemble, eager steps"] = lambda: fit_ensemble(models, (x, y), None, cfg, seeds=seeds,
                                                                 augment=rot4_batch, graphs=False)
    ways["sequential fit"] = lambda: [fit(m, (x, y), None, cfg, seed=s, augment=rot4_batch)
                                      for m, s in zip(models, seeds)]
    out = {"device": device_name(device), "members": a.members, "n": a.n, "batch": a.batch, "steps": steps}
    for name, fn in ways.items():
        fn()  # warm-up
        n_steps = steps * (a.members if name == "sequential fit" else 1)
        out[name] = profile_epoch(fn, device, n_steps)
        r = out[name]
        print(f"\n{name}: {r['ms_per_step_profiled']:.2f} ms per step (profiled), runtime calls per step: "
              + ", ".join(f"{k} {v:.1f}" for k, v in r["runtime_calls_per_step"].items()))
        for e in r["top_by_host_time"][:10]:
            print(f"  {e['op'][:60]:60s} {e['ms']:9.2f} ms {e['calls']:7d} calls")
    path = Path(a.out or "_build/benchmarks")
    path.mkdir(parents=True, exist_ok=True)
    f = path / f"profile-step-{device.type}.json"
    f.write_text(json.dumps(out, indent=1) + "\n")
    print(f"written: {f}")
    return out


if __name__ == "__main__":
    main()
