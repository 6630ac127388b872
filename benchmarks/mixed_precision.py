"""Does bfloat16 mixed precision change what chapter 3 measures, and how much faster is it? (``FitConfig.precision``)

    python -m benchmarks.mixed_precision [--device cpu|cuda] [--seeds 3] [--n-train 4000] [--epochs 8] [--out DIR]
    python -m benchmarks.mixed_precision --first-seed 3 --with results/benchmarks/mixed-precision-cpu.json ...

``--first-seed K --with FILE`` trains seeds K, K+1, ... and judges them together with the seeds of an earlier
run's JSON (same sizes), e.g. to add seeds where three leave an effect undecided.

Trains chapter 3's CIFAR ResNet-44 (the ``aug-baseline`` part's network and recipe, ``ch3.runs.augmentation``) on
the real CIFAR-10 subset at reduced size, once per seed in float32 and once in bfloat16 mixed precision, and compares
what the chapter reads from it: validation accuracy and the per-layer translation invariance and equivariance
(eqs. 4 and 7, the depth parts' means). Also times one training step of each network the chapter trains on CIFAR
(ResNet-44 and WRN-40-k for k = 1, 2, 4, 8) in both precisions, in the same run. Writes
``DIR/mixed-precision-<device>.json``.

The rule, fixed before the first run: chapter 3 trains its CIFAR networks in bfloat16 only if, over the seeds,
(a) the mean accuracy of the two precisions differs by less than twice its standard error (Welch) or by less than
1 point, and (b) for each of the chapter's measures (invariance, equivariance, shared equivariance), the mean
absolute difference between the two precisions' seed-mean depth-part curves is below the mean standard deviation
over seeds of the float32 curves (the two precisions differ less than two float32 seeds do).
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from helpers.experiments import ch3
from helpers.experiments.ch3.models import CifarResNet
from helpers.noise import Effect
from helpers.provenance import device_name
from helpers.training import default_device
from helpers.training.basics import mixed_precision

from .timing import sync

__all__ = ["step_ms", "compare", "main"]

_MEASURES = ("invariance", "equivariance", "equivariance_shared")


def step_ms(make, precision: str, device: torch.device, batch: int = 128, steps: int = 3) -> float:
    """Milliseconds of one SGD training step of ``make()`` on a random ``(batch, 3, 32, 32)`` batch, after one
    warm-up step, with the step ``fit`` runs at ``precision``."""
    torch.manual_seed(0)
    model = make().to(device).train()
    cfg = replace(ch3.SETTINGS["standard"].cifar_fit, precision=precision)
    x, y = torch.rand(batch, 3, 32, 32, device=device), torch.randint(0, 10, (batch,), device=device)
    loss = mixed_precision(lambda xb, yb: F.cross_entropy(model(xb), yb), cfg, device, [model])
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        opt.zero_grad()
        loss(x, y).backward()
        opt.step()
    step()
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    sync(device)
    return (time.perf_counter() - t0) / steps * 1e3


def compare(runs: dict[str, dict]) -> dict:
    """The rule of the module docstring on ``{"fp32": part result, "bf16": part result}``: the accuracy effect,
    each measure's difference against float32's seed spread, and the verdict."""
    acc = {p: np.asarray(runs[p]["acc"], float) for p in runs}
    effect = Effect(acc["bf16"], acc["fp32"], paired=False)
    out = {"acc_fp32": acc["fp32"].tolist(), "acc_bf16": acc["bf16"].tolist(),
           "acc_diff": float(acc["bf16"].mean() - acc["fp32"].mean()), "acc_diff_se": float(effect.se)}
    ok = abs(out["acc_diff"]) < max(2 * out["acc_diff_se"], 1.0)
    out["measures"] = {}
    for m in _MEASURES:
        curves = {p: np.stack([np.asarray(r[f"{m}_parts"], float) for r in runs[p]["runs"]]) for p in runs}  # (S, 5)
        diff = float(np.abs(curves["bf16"].mean(0) - curves["fp32"].mean(0)).mean())
        spread = float(curves["fp32"].std(0, ddof=1).mean())
        out["measures"][m] = {"fp32": curves["fp32"].mean(0).tolist(), "bf16": curves["bf16"].mean(0).tolist(),
                              "mean_abs_diff": diff, "fp32_seed_sd": spread, "holds": diff < spread}
        ok = ok and diff < spread
    out["accuracy_holds"] = abs(out["acc_diff"]) < max(2 * out["acc_diff_se"], 1.0)
    out["adopt_bf16"] = bool(ok)
    return out


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="python -m benchmarks.mixed_precision", description=__doc__.splitlines()[0])
    p.add_argument("--device", default=None, help="default: cuda when available, else cpu")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--n-train", type=int, default=4000)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--out", default=None, help="folder for the JSON (default: _build/benchmarks)")
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--with", dest="earlier", default=None, help="an earlier run's JSON whose seeds are judged too")
    p.add_argument("--no-steps", action="store_true", help="skip the step timings")
    a = p.parse_args(argv)
    if a.seeds < 2 or a.n_train < 256 or a.epochs < 1:
        raise SystemExit(f"error: need --seeds >= 2, --n-train >= 256, --epochs >= 1; got {a.seeds}, {a.n_train}, "
                         f"{a.epochs}")
    device = torch.device(a.device) if a.device else default_device()
    std = ch3.SETTINGS["standard"]
    milestones = (round(a.epochs * 8 / 15), round(a.epochs * 12 / 15))  # the standard schedule's places
    s = replace(std, seeds=tuple(range(a.first_seed, a.first_seed + a.seeds)), cifar_seeds=None, cifar_train=a.n_train, cifar_val=1000,
                n_eval=500, cifar_fit=replace(std.cifar_fit, epochs=a.epochs, milestones=milestones))
    out = {"device": device_name(device), "threads": torch.get_num_threads(), "n_train": a.n_train,
           "epochs": a.epochs, "seeds": a.seeds, "rule": __doc__.split("The rule, fixed before the first run: ")[1]
           .replace("\n", " ").strip(), "step_ms": {}, "parts": {}}
    for precision in ("fp32", "bf16"):
        t0 = time.perf_counter()
        r = ch3.runs.augmentation(replace(s, cifar_fit=replace(s.cifar_fit, precision=precision)), device, "baseline")
        out["parts"][precision] = {"acc": r["acc"], "wall_s": time.perf_counter() - t0,
                                   "runs": [{f"{m}_parts": np.asarray(run[f"{m}_parts"]).tolist() for m in _MEASURES}
                                            for run in r["runs"]]}
        print(f"{precision}: accuracy {np.round(r['acc'], 1).tolist()} %, {out['parts'][precision]['wall_s']:.0f} s",
              flush=True)
    out["seed_list"] = list(s.seeds)
    if a.earlier:
        before = json.loads(Path(a.earlier).read_text())
        if (before["n_train"], before["epochs"]) != (a.n_train, a.epochs):
            raise SystemExit(f"error: {a.earlier} ran {before['n_train']} images, {before['epochs']} epochs; this run "
                             f"{a.n_train}, {a.epochs}")
        out["seed_list"] = before.get("seed_list", list(range(before["seeds"]))) + out["seed_list"]
        for prec, part in out["parts"].items():
            old_part = before["parts"][prec]
            part["acc"] = old_part["acc"] + part["acc"]
            part["runs"] = old_part["runs"] + part["runs"]
            part["wall_s"] += old_part["wall_s"]
        out["step_ms"] = before.get("step_ms", {})
        out["seeds"] = len(out["seed_list"])
    out["compare"] = compare(out["parts"])
    nets = {} if a.no_steps else {"ResNet-44": lambda: CifarResNet(std.resnet_blocks),
            **{f"WRN-40-{k}": (lambda k=k: CifarResNet(std.wrn_blocks, k)) for k in (1, 2, 4, 8)}}
    for name, make in nets.items():
        fp32, bf16 = (step_ms(make, prec, device, steps=1 if name == "WRN-40-8" else 3) for prec in ("fp32", "bf16"))
        out["step_ms"][name] = {"fp32": fp32, "bf16": bf16, "speedup": fp32 / bf16}
        print(f"{name}: {fp32:.0f} ms fp32, {bf16:.0f} ms bf16 a step of 128 ({fp32 / bf16:.2f}x)", flush=True)
    c = out["compare"]
    print(f"accuracy: bf16 - fp32 = {c['acc_diff']:+.2f} points (SE {c['acc_diff_se']:.2f}); "
          + "; ".join(f"{m}: |diff| {v['mean_abs_diff']:.4f} vs fp32 seed sd {v['fp32_seed_sd']:.4f}"
                      for m, v in c["measures"].items())
          + f"; adopt bf16: {c['adopt_bf16']}")
    path = Path(a.out or "_build/benchmarks")
    path.mkdir(parents=True, exist_ok=True)
    f = path / f"mixed-precision-{device.type}.json"
    f.write_text(json.dumps(out, indent=1) + "\n")
    print(f"written: {f}")
    return out


if __name__ == "__main__":
    main()
