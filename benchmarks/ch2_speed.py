"""Chapter 2's fast training step against today's, side by side in one run (issue 39).

    python -m benchmarks.ch2_speed [--profile standard] [--repeats 7] [--threads N] [--out DIR]
        [--sweeps "Table 1, rff, full" "Table 1, relu"]

For each sweep (``benchmarks.ch2_step.sweeps``: the ``InvariantNet`` its part trains, the same members, sizes and
S) two copies of the model are updated on the same mini-batch of real images: the baseline, the step every
committed chapter-2 part was trained with (``neg_elbo(fast=False)``, per-tensor Adam), and the fast step that
``fit_sweep`` now takes (``TrainConfig.step == "fast"``: ``neg_elbo(fast=True)``, fused Adam;
``helpers.experiments.ch2.fast_step``). The two are timed alternately, ``--repeats`` times each after a warm-up
step, so that other load on the machine falls on both; the minimum and the median are kept.

Also measured in the same run: the float32 and bfloat16 matrix-product peaks of this machine (a 2048^3 product,
best of 5; the CPU's AMX / AVX-512 flags are recorded beside them) and each step's matrix-product work (the first layer's product, its input gradient for the members whose
eta is learned, the ReLU net's weight gradient, the output layer), so that ``gflops_per_s`` is that work over the
step's time and ``fraction_of_*_peak`` compares it with the peaks. Writes
``DIR/ch2-step-speed-<profile>-<device>-<threads>t.json``.
"""
from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import statistics
import time
from pathlib import Path

import torch

from helpers.experiments.ch2.invariant_weights import InvariantNet
from helpers.experiments.ch2.settings import SETTINGS, TrainConfig
from helpers.provenance import device_name, versions

from .ch2_step import _batch, sweeps

__all__ = ["matmul_peak", "step_flops", "make_step", "compare", "main"]


def matmul_peak(dtype: torch.dtype, n: int = 2048, repeats: int = 5) -> dict:
    """GFLOP/s of an ``n x n x n`` matrix product in ``dtype`` on the CPU, best of ``repeats``: ``{"wall", "cpu_time"}``
    (the latter from the process's CPU time per thread, what an unshared core gives where others share the machine)."""
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    a @ b
    wall = cpu = float("inf")
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        a @ b
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, (time.process_time() - c0) / torch.get_num_threads())
    return {"wall": 2 * n**3 / wall / 1e9, "cpu_time": 2 * n**3 / cpu / 1e9}


def step_flops(model: InvariantNet, batch: int, samples: int) -> float:
    """Matrix-product FLOPs of one fast training step: the first layer ``2 M S B P D``, its input gradient for the
    members that learn eta, the ReLU net's weight gradient, and the output layer's three products."""
    M, D, K = model.members, model.hidden, model.classes
    P = model.W1.shape[-1]
    rows = M * samples * batch
    learned = int(model.learn.bool().any(-1).sum())
    flops = 2 * rows * P * D + 2 * learned * samples * batch * P * D + 3 * 2 * rows * D * K
    if model.kind == "relu":
        flops += 2 * rows * P * D
    return float(flops)


def _cpu_flags() -> list[str]:
    """The CPU's matrix-relevant feature flags (AMX, AVX-512 bf16 / fp16), from /proc/cpuinfo where there is one."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    flags = next((ln.split(":", 1)[1].split() for ln in text.splitlines() if ln.startswith("flags")), [])
    return sorted(f for f in flags if f.startswith("amx") or f in ("avx512_bf16", "avx512_fp16", "avx512f"))


def make_step(model: InvariantNet, cfg: TrainConfig, x: torch.Tensor, y: torch.Tensor, n_data: int, fast: bool):
    """One update of ``fit_sweep`` (its optimiser groups and rates; fused Adam for the fast step) as a closure."""
    q = model.posterior
    first = [p for n, p in model.named_parameters() if n in ("W1", "b1")]
    groups = [{"params": [model.eta], "lr": cfg.lr_eta}, {"params": [q.mu, q.log_diag], "lr": cfg.lr},
              {"params": [q.off], "lr": cfg.lr_cov}] + ([{"params": first, "lr": cfg.lr_w1}] if first else [])
    opt = torch.optim.Adam(groups, fused=True) if fast else torch.optim.Adam(groups)
    gen = torch.Generator().manual_seed(0)

    def step():
        loss = model.neg_elbo(x, y, n_data, cfg.samples, gen, fast=fast)  # (M,)
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        opt.step()

    return step


def compare(model: InvariantNet, cfg: TrainConfig, x: torch.Tensor, y: torch.Tensor, n_data: int,
            repeats: int) -> dict:
    """Time the baseline and the fast step alternately (``repeats`` each, after one warm-up step each)."""
    steps = {"baseline": make_step(copy.deepcopy(model), cfg, x, y, n_data, False),
             "fast": make_step(copy.deepcopy(model), cfg, x, y, n_data, True)}
    times: dict[str, list[float]] = {k: [] for k in steps}
    cpu: dict[str, list[float]] = {k: [] for k in steps}
    for fn in steps.values():
        fn()
    for _ in range(repeats):
        for k, fn in steps.items():
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            times[k].append(1e3 * (time.perf_counter() - t0))
            cpu[k].append(1e3 * (time.process_time() - c0))
    return {k: {"ms_min": min(v), "ms_median": statistics.median(v), "ms_all": v, "cpu_ms_min": min(cpu[k]),
                "cpu_ms_median": statistics.median(cpu[k])} for k, v in times.items()}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="python -m benchmarks.ch2_speed", description=__doc__.splitlines()[0])
    p.add_argument("--profile", default="standard", choices=sorted(SETTINGS))
    p.add_argument("--sweeps", nargs="*", default=["Table 1, rff, full", "Table 1, relu"])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--out", default=None, help="folder for the JSON (default: _build/benchmarks)")
    a = p.parse_args(argv)
    if a.repeats < 1:
        raise SystemExit(f"error: --repeats must be >= 1, got {a.repeats}")
    if a.threads is not None:
        if a.threads < 1:
            raise SystemExit(f"error: --threads must be >= 1, got {a.threads}")
        torch.set_num_threads(a.threads)
    device = torch.device("cpu")
    s = SETTINGS[a.profile]
    all_sweeps = sweeps(s)
    unknown = [k for k in a.sweeps if k not in all_sweeps]
    if unknown:
        raise SystemExit(f"error: unknown sweep(s) {unknown}; valid: {list(all_sweeps)}")
    threads = torch.get_num_threads()
    out = {"device": device_name(device), "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
           "versions": versions(), "profile": a.profile, "threads": threads, "repeats": a.repeats,
           "peak_gflops_per_s": {"fp32": matmul_peak(torch.float32), "bf16": matmul_peak(torch.bfloat16)},
           "cpu_flags": _cpu_flags(),
           "sweeps": {}}
    for kind in a.sweeps:
        model, cfg, n, count, dataset = all_sweeps[kind]
        x, y = _batch(dataset, cfg.batch_size, device)
        r = compare(model, cfg, x, y, n, a.repeats)
        flops = step_flops(model, cfg.batch_size, cfg.samples)
        fast_s = r["fast"]["ms_min"] / 1e3
        r |= {"members": model.members, "samples": cfg.samples, "batch": cfg.batch_size, "hidden": model.hidden,
              "matmul_gflop_per_step": flops / 1e9, "gflops_per_s": flops / fast_s / 1e9,
              "baseline_gflops_per_s": flops / (r["baseline"]["ms_min"] / 1e3) / 1e9,
              "speedup_vs_baseline": r["baseline"]["ms_min"] / r["fast"]["ms_min"],
              "speedup_vs_baseline_median": r["baseline"]["ms_median"] / r["fast"]["ms_median"],
              "speedup_vs_baseline_cpu_time": r["baseline"]["cpu_ms_min"] / r["fast"]["cpu_ms_min"],
              "gflops_per_s_cpu_time": flops / (r["fast"]["cpu_ms_min"] / 1e3 / threads) / 1e9}
        for k, v in out["peak_gflops_per_s"].items():
            r[f"fraction_of_{k}_peak"] = r["gflops_per_s"] / v["wall"]
            r[f"fraction_of_{k}_peak_cpu_time"] = r["gflops_per_s_cpu_time"] / v["cpu_time"]
        out["sweeps"][kind] = r
        b, f = r["baseline"], r["fast"]
        print(f"{kind}: {model.members} members, S = {cfg.samples}, D = {model.hidden}: baseline "
              f"{b['ms_min']:.0f} ms (median {b['ms_median']:.0f}), fast {f['ms_min']:.0f} ms "
              f"(median {f['ms_median']:.0f}): {r['speedup_vs_baseline']:.2f}x (CPU time "
              f"{b['cpu_ms_min']:.0f} / {f['cpu_ms_min']:.0f} ms: {r['speedup_vs_baseline_cpu_time']:.2f}x); "
              f"{r['gflops_per_s']:.0f} GFLOP/s")
    print("matrix-product peaks: " + ", ".join(f"{k} {v['wall']:.0f} GFLOP/s ({v['cpu_time']:.0f} by CPU time)"
                                               for k, v in out["peak_gflops_per_s"].items()))
    path = Path(a.out or "_build/benchmarks")
    path.mkdir(parents=True, exist_ok=True)
    f = path / f"ch2-step-speed-{a.profile}-cpu-{threads}t.json"
    if f.exists() and Path(a.out or "").resolve().name == "benchmarks" and "results" in f.parts:
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
        f = path / f"ch2-step-speed-{a.profile}-cpu-{threads}t-{stamp}.json"  # committed evidence is not replaced
    f.write_text(json.dumps(out, indent=1) + "\n")
    print(f"written: {f}")
    return out


if __name__ == "__main__":
    main()
