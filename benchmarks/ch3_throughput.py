"""Chapter 3's networks on ONE CPU thread: ms per training step in float32 and bfloat16 autocast, channels-last or not,
(CPU time of the process, and wall time), and the cost of the measure (eqs. 4 and 7) and of a validation pass, for pricing the ``steps`` profile (issue 40).

    OMP_NUM_THREADS=1 python -m benchmarks.ch3_throughput [--nets convnet7 resnet44 wrn1 ...] [--out DIR]
    python -m benchmarks.ch3_throughput --plan A.json [B.json ...] [--profile steps]   # per-part CPU hours

For each network (the MNIST6 7-layer CNN, ResNet-44, WRN-40-k for k = 1, 2, 4, 8) and each of four step variants
(``fp32``, ``fp32-cl``: float32 in channels-last layout, ``bf16-cl``: what ``FitConfig(precision="bf16")`` runs,
autocast with channels-last, ``bf16``: autocast without channels-last) it times training steps of a batch of 128 on
random inputs of the network's shape with the optimiser the chapter uses (Adam for the CNN, SGD with momentum for
the CIFAR nets), after ``--warmup`` warm-up steps (3): ``--steps`` steps or as many as fit in ``--budget-s`` seconds, at least 3.
It also times, in float32, one validation pass over ``--n-val`` images (``fit`` does one per epoch) and one call of
``ch3.measure`` on ``--n-eval`` images with the chapter's transforms (rotations by 90/180/270° for the CNN,
diagonal shifts of 4, 8, 12, 16 px for the CIFAR nets), and the chapter's batch augmentations per batch of 128.
Writes ``DIR/<--name>.json`` (``ch3-throughput-cpu1``). The machine's load average at the start and the end is
recorded: on a shared machine the times are upper bounds.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from helpers.experiments import ch3
from helpers.provenance import device_name, versions

__all__ = ["NETS", "step_ms", "interleaved_ms", "plan", "main"]

NETS = {"convnet7": ("MNIST6 7-layer CNN", lambda: ch3.ConvNet7(6), (1, 28, 28), 6, "adam"),
        "resnet44": ("ResNet-44", lambda: ch3.CifarResNet(7), (3, 32, 32), 10, "sgd"),
        **{f"wrn{k}": (f"WRN-40-{k}", (lambda k=k: ch3.CifarResNet(6, k)), (3, 32, 32), 10, "sgd")
           for k in (1, 2, 4, 8)}}
VARIANTS = ("fp32", "fp32-cl", "bf16-cl", "bf16")


def _opt(model, kind: str):
    if kind == "adam":
        return torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)


def step_ms(make, shape, classes: int, opt_kind: str, variant: str, batch: int = 128, steps: int = 30,
            budget_s: float = 60.0, warmup: int = 3) -> tuple[float, float, int]:
    """``(wall ms per training step, CPU ms per step, steps timed)`` of ``make()`` in ``variant`` (``VARIANTS``) on
    random inputs. The CPU time (``time.process_time``, this process's threads) is what one thread of an idle core
    would take; on a machine shared with other jobs the wall time is longer."""
    torch.manual_seed(0)
    model = make().train()
    if variant.endswith("-cl"):
        model = model.to(memory_format=torch.channels_last)
    opt = _opt(model, opt_kind)
    x = torch.rand(batch, *shape)
    if variant.endswith("-cl"):
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, classes, (batch,))
    bf16 = variant.startswith("bf16")

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16, cache_enabled=False):
            loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    for _ in range(warmup):
        step()
    t0, c0, n = time.perf_counter(), time.process_time(), 0
    while n < 3 or (n < steps and time.perf_counter() - t0 < budget_s):
        step()
        n += 1
    return (time.perf_counter() - t0) / n * 1e3, (time.process_time() - c0) / n * 1e3, n


def interleaved_ms(make, shape, classes: int, opt_kind: str, variants=("fp32", "fp32-cl"), batch: int = 128,
                   rounds: int = 8, warmup: int = 1) -> dict[str, float]:
    """CPU ms per training step of each of ``variants``, their steps interleaved (one step of each per round), so a
    change of the machine's load falls on all alike: the fair A/B on a shared machine."""
    steps = {}
    for v in variants:
        torch.manual_seed(0)
        model = make().train()
        if v.endswith("-cl"):
            model = model.to(memory_format=torch.channels_last)
        opt = _opt(model, opt_kind)
        x = torch.rand(batch, *shape)
        x = x.contiguous(memory_format=torch.channels_last) if v.endswith("-cl") else x
        y = torch.randint(0, classes, (batch,))

        def step(model=model, opt=opt, x=x, y=y, bf16=v.startswith("bf16")):
            opt.zero_grad(set_to_none=True)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16, cache_enabled=False):
                loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        for _ in range(warmup):
            step()
        steps[v] = step
    total = dict.fromkeys(variants, 0.0)
    for _ in range(rounds):
        for v, step in steps.items():
            c0 = time.process_time()
            step()
            total[v] += time.process_time() - c0
    return {v: t / rounds * 1e3 for v, t in total.items()}


def eval_costs(make, shape, transforms, n_val: int, n_eval: int) -> dict:
    """CPU seconds (``time.process_time``) of one validation pass over ``n_val`` images (batches of 1000) and of
    ``ch3.measure`` on ``n_eval``, with their wall seconds."""
    torch.manual_seed(0)
    model = make().eval()
    xv = torch.rand(n_val, *shape)
    t0, c0 = time.perf_counter(), time.process_time()
    with torch.no_grad():
        for xb in xv.split(1000):
            model(xb)
    val = (time.perf_counter() - t0, time.process_time() - c0)
    t0, c0 = time.perf_counter(), time.process_time()
    ch3.measure(model, xv[:n_eval], transforms)
    return {"val_pass_s": val[1], "val_pass_wall_s": val[0], "n_val": n_val,
            "measure_s": time.process_time() - c0, "measure_wall_s": time.perf_counter() - t0, "n_eval": n_eval}


def augment_ms(batch: int = 128, reps: int = 20) -> dict:
    """ms per batch of 128 CIFAR images of each batch augmentation (CutMix is in the loss: negligible)."""
    x, out = torch.rand(batch, 3, 32, 32), {}
    for name in ("random crop", "horizontal flip", "RandAugment"):
        fn, gen = ch3.augmenter(name), torch.Generator().manual_seed(0)
        fn(x, gen)
        t0 = time.perf_counter()
        for _ in range(reps):
            fn(x, gen)
        out[name] = (time.perf_counter() - t0) / reps * 1e3
    return out


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="python -m benchmarks.ch3_throughput", description=__doc__.splitlines()[0])
    p.add_argument("--nets", nargs="+", default=list(NETS), choices=list(NETS))
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (the wide nets: fewer)")
    p.add_argument("--budget-s", type=float, default=60.0, help="seconds of timed steps per net and variant")
    p.add_argument("--n-val", type=int, default=2000)
    p.add_argument("--n-eval", type=int, default=1000)
    p.add_argument("--out", default=None, help="folder for the JSON (default: _build/benchmarks)")
    p.add_argument("--name", default="ch3-throughput-cpu1", help="the JSON's file name, without .json")
    p.add_argument("--plan", nargs="+", default=None, metavar="JSON", help="print the per-part CPU hours of "
                   "--profile from these records (merged) and time nothing")
    p.add_argument("--profile", default="steps")
    p.add_argument("--interleave", type=int, default=0, metavar="ROUNDS",
                   help="also time --variants interleaved, ROUNDS steps each (the fair A/B on a loaded machine)")
    a = p.parse_args(argv)
    if a.plan:
        parts = plan([json.loads(Path(f).read_text()) for f in a.plan], a.profile)
        total = 0.0
        for name, c in parts.items():
            total += c["hours"]
            print(f"{name:22s} {c['hours']:6.1f} h  ({c['per_seed_h']:.2f} h a seed, {c['per_epoch_min']:.2f} min an "
                  f"epoch of {c['steps_per_epoch']} steps at {c['step_ms']:.0f} ms, {c['variant']}) {c['note']}")
        print(f"{'all':22s} {total:6.1f} h of one CPU thread")
        return parts
    torch.set_num_threads(1)
    import os

    out = {"load_average_start": os.getloadavg(), "device": device_name(torch.device("cpu")), "threads": torch.get_num_threads(), "versions": versions(),
           "batch": 128, "steps_max": a.steps, "budget_s": a.budget_s, "warmup": a.warmup, "step_ms": {},
           "step_wall_ms": {}, "steps_timed": {},
           "eval": {}, "augment_ms": augment_ms()}
    print(f"augmentations, ms per batch: {out['augment_ms']}", flush=True)
    rots = [ch3.rotation(k) for k in (1, 2, 3)]
    shifts = [ch3.diagonal_shift(s) for s in (4, 8, 12, 16)]
    for key in a.nets:
        label, make, shape, classes, opt = NETS[key]
        out["step_ms"][label], out["step_wall_ms"][label], out["steps_timed"][label] = {}, {}, {}
        for v in a.variants:
            wall, cpu, n = step_ms(make, shape, classes, opt, v, steps=a.steps, budget_s=a.budget_s, warmup=a.warmup)
            out["step_ms"][label][v], out["step_wall_ms"][label][v], out["steps_timed"][label][v] = cpu, wall, n
            print(f"{label:20s} {v:8s} {cpu:9.1f} CPU ms/step, {wall:9.1f} wall ({n} steps)", flush=True)
        if a.interleave:
            out.setdefault("interleaved_ms", {})[label] = ab = interleaved_ms(make, shape, classes, opt, a.variants,
                                                                              rounds=a.interleave)
            print(f"{label:20s} interleaved, CPU ms/step: " + ", ".join(f"{v} {ms:.0f}" for v, ms in ab.items()),
                  flush=True)
        out["eval"][label] = eval_costs(make, shape, rots if key == "convnet7" else shifts, a.n_val, a.n_eval)
        print(f"{label:20s} validation pass {out['eval'][label]['val_pass_s']:.1f} CPU s ({a.n_val} images), "
              f"measure {out['eval'][label]['measure_s']:.1f} CPU s ({a.n_eval} images)", flush=True)
    out["load_average_end"] = os.getloadavg()
    path = Path(a.out or "_build/benchmarks")
    path.mkdir(parents=True, exist_ok=True)
    f = path / f"{a.name}.json"
    f.write_text(json.dumps(out, indent=1) + "\n")
    print(f"written: {f}")
    return out



def plan(recs: list[dict], profile: str = "steps", variant: str | None = None) -> dict:
    """Per-part CPU hours of a chapter-3 profile from throughput records (``main``'s JSONs, merged).

    Each trained part: seeds x (epochs x (steps per epoch x (step + augmentation) + a validation pass) + the tracked
    and final measures), with the measured one-thread CPU times of the profile's precision (``variant``: default
    ``fp32-cl`` for the CIFAR nets of settings with ``channels_last``, else ``fp32`` for float32 settings (the MNIST6
    CNN always: its code path is contiguous), ``bf16-cl`` for bf16), validation passes and measures scaled linearly to the
    profile's image counts. Widths that stop at an accuracy (``width_stop_acc``) are priced for the whole schedule
    and per epoch (when they stop is not known before they run).

    Returns:
        ``{part: {"hours", "per_seed_h", "per_epoch_min", "step_ms", "epochs", "steps_per_epoch", "note"}}``.
    """
    import math

    from helpers import data as hdata  # noqa: F401  (the subsets' sizes come from the settings)

    s = ch3.SETTINGS[profile]
    merged: dict = {"step_ms": {}, "eval": {}, "augment_ms": {}}
    for r in recs:
        for k in merged:
            merged[k].update(r.get(k, {}))
    n_cifar_val = min(s.cifar_val, 1017)  # the offline CIFAR-10 test subset has 1,017 images
    n_mnist_train, n_mnist_val = min(s.mnist6_train, 35_566), min(s.mnist6_val, 2000)  # MNIST6's training images

    def cost(label, fit, n_train, n_val, n_eval, seeds, aug_ms=0.0, n_measures=1, stop=None, cl=False):
        v = variant or ("bf16-cl" if fit.precision == "bf16" else "fp32-cl" if cl else "fp32")
        step = merged["step_ms"][label][v] / 1e3
        ev = merged["eval"][label]
        spe = math.ceil(n_train / fit.batch_size)
        epoch_s = spe * (step + aug_ms / 1e3) + ev["val_pass_s"] * n_val / ev["n_val"]
        measure_s = ev["measure_s"] * n_eval / ev["n_eval"]
        seed_s = fit.epochs * epoch_s + n_measures * measure_s
        return {"hours": len(seeds) * seed_s / 3600, "per_seed_h": seed_s / 3600, "per_epoch_min": epoch_s / 60,
                "step_ms": step * 1e3, "variant": v, "epochs": fit.epochs, "steps_per_epoch": spe,
                "note": f"stops at {stop} % validation accuracy: hours are the whole schedule's" if stop else ""}

    out = {}
    for t in ch3.MNIST6_TASKS:
        out[ch3.settings.mnist6_part(t)] = cost("MNIST6 7-layer CNN", s.mnist6_fit, n_mnist_train, n_mnist_val,
                                             min(s.n_eval, n_mnist_val), s.seeds)
    aug_ms = {"random crop": merged["augment_ms"].get("random crop", 0.0),
              "horizontal flip": merged["augment_ms"].get("horizontal flip", 0.0),
              "RandAugment": merged["augment_ms"].get("RandAugment", 0.0)}
    n_track_aug = len(s.track_epochs) if s.track_augmentations else 0
    for a in s.augmentations:
        out[ch3.settings.aug_part(a)] = cost("ResNet-44", s.cifar_fit, s.cifar_train, n_cifar_val,
                                          min(s.n_eval, n_cifar_val), s.cifar_seed_list, aug_ms.get(a, 0.0),
                                          1 + n_track_aug, cl=s.channels_last)
    for k in s.widths:
        name = ch3.settings.width_part(s, k)
        if name.startswith("width-") and f"WRN-40-{k}" in merged["step_ms"]:
            out[name] = cost(f"WRN-40-{k}", s.cifar_fit, s.cifar_train, n_cifar_val, min(s.n_eval, n_cifar_val),
                             s.cifar_seed_list, 0.0, 1 + len(s.track_epochs), s.stop_acc(k), cl=s.channels_last)
    return out


if __name__ == "__main__":
    main()
