"""Where a training step of chapter 2's sweeps spends its time, and what a profile's training then costs (issue 26).

    python -m benchmarks.ch2_step [--device cuda] [--profile standard|paper|quick] [--steps 3] [--out DIR]

For each kind of sweep of the profile (Table 1's RFF and ReLU nets, Table 2's ReLU nets on MNIST, Table 3's on
CIFAR-10), builds the ``InvariantNet`` its part trains (the same members, sizes and S) and times ``--steps`` steps
of ``fit_sweep``'s update (eq. 9's minus ELBO on one mini-batch of real images, backward, Adam) under
``torch.profiler``: ms per step, the operators by self time (device time on CUDA), and the training time of one
sweep at the profile's epochs and training-set size (ms per step x steps; evaluation not included). Writes the
same as JSON to ``DIR/ch2-step-<profile>-<device>.json``.

``--compare`` also times, in the same run, the way the paper states it (Sec. 3.2): every weight image warped by
every sampled transformation (``InvariantNet.first_layer``, ``transform_weights``) and then multiplied with the
inputs, against ours, the adjoint warp of the inputs (``warp_inputs``; the same numbers, tested).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from helpers import data
from helpers.experiments.ch2.invariant_weights import InvariantNet, invariance_mask
from helpers.experiments.ch2.settings import SETTINGS, Settings, TrainConfig
from helpers.experiments.ch2.sweeps import feature_scale, rotation_members
from helpers.provenance import device_name
from helpers.training import default_device

from .timing import sync

__all__ = ["sweeps", "time_steps", "weight_space_features", "main"]


def weight_space_features(net: InvariantNet, x: torch.Tensor, matrices: torch.Tensor | None) -> torch.Tensor:
    """``InvariantNet.features`` the way Sec. 3.2 states it: the warped weights ``(M, S, D, P)``, then a product
    with the inputs; ``(M, S, B, D)``."""
    W = net.first_layer(matrices)  # (M, S, D, P)
    pre = torch.matmul(W, x.flatten(1).T).transpose(-1, -2) + net.b1.unsqueeze(1).unsqueeze(1)  # (M, S, B, D)
    return net.feature_scale * (torch.cos(pre) if net.kind == "rff" else torch.relu(pre))


@contextlib.contextmanager
def _weight_space():
    ours = InvariantNet.features
    InvariantNet.features = weight_space_features
    try:
        yield
    finally:
        InvariantNet.features = ours


def sweeps(s: Settings) -> dict[str, tuple[InvariantNet, TrainConfig, int, int, str]]:
    """``{kind: (model, its TrainConfig, training images, sweeps of that kind in the profile, dataset)}``, one per
    kind of sweep the profile's parts train (on CPU; ``main`` moves them)."""
    out = {}
    for net in s.table1_nets:  # the RFF net on fully rotated MNIST also holds Fig. 5's ML members
        for name, with_ml, count in (((f"Table 1, {net}, full", True, 1), (f"Table 1, {net}", False, 2))
                                     if net == "rff" else ((f"Table 1, {net}", False, 3),)):
            eta, learn, bayes, _ = rotation_members(s, with_ml)
            out[name] = (InvariantNet(net, (1, 28, 28), s.hidden, 10, eta, learn, bayes, sigma=s.sigma,
                                      alpha=s.alpha, blur_sigma=s.blur_sigma, feature_scale=feature_scale(s, s.hidden),
                                      init_std=s.init_std), s.train, s.n_train, count, "mnist")
    mask = torch.stack([invariance_mask(i) for i in s.table2_invariances])  # (I, 6)
    for name, shape, hidden, cfg, n, dataset in (
            ("Table 2", (1, 28, 28), s.hidden, s.table2, s.n_train, "mnist"),
            ("Table 3", (3, 32, 32), s.cifar_hidden, s.cifar, s.cifar_n_train, "cifar10")):
        if n > 0:
            out[name] = (InvariantNet("relu", shape, hidden, 10, s.table2_eta_init * mask, mask,
                                      torch.ones(len(mask)), alpha=s.alpha, blur_sigma=s.blur_sigma,
                                      feature_scale=feature_scale(s, hidden), init_std=s.init_std),
                         cfg, n, len(s.table2_datasets) * s.table2_seeds, dataset)
    return out


def _batch(dataset: str, n: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = data.load(dataset, train=True)
    x = data.to_unit(x[:n])  # (n, H, W) or (n, C, H, W) in [0, 1]
    return (x if x.ndim == 4 else x[:, None]).to(device), y[:n].to(device)  # (n, C, H, W), (n,)


def time_steps(model: InvariantNet, cfg: TrainConfig, x: torch.Tensor, y: torch.Tensor, n_data: int, steps: int,
               device: torch.device, top: int = 12) -> dict:
    """Profile ``steps`` update steps of ``fit_sweep`` (the same optimiser groups and rates) on one batch."""
    q = model.posterior
    first = [p for n, p in model.named_parameters() if n in ("W1", "b1")]
    opt = torch.optim.Adam([{"params": [model.eta], "lr": cfg.lr_eta}, {"params": [q.mu, q.log_diag], "lr": cfg.lr},
                            {"params": [q.off], "lr": cfg.lr_cov}] + ([{"params": first, "lr": cfg.lr_w1}] if first else []))
    gen = torch.Generator().manual_seed(0)

    def step():
        loss = model.neg_elbo(x, y, n_data, cfg.samples, gen)  # (M,)
        opt.zero_grad(set_to_none=True)
        loss.sum().backward()
        opt.step()

    step()  # warm-up
    sync(device)
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    t0 = time.perf_counter()
    with profile(activities=acts) as prof:
        for _ in range(steps):
            step()
        sync(device)
    wall = time.perf_counter() - t0
    attr = "self_device_time_total" if device.type == "cuda" else "self_cpu_time_total"
    events = sorted(prof.key_averages(), key=lambda e: getattr(e, attr, 0.0), reverse=True)
    total = sum(getattr(e, attr, 0.0) for e in events) or 1.0
    return {"ms_per_step": 1e3 * wall / steps, "members": model.members,
            "top": [{"op": e.key, "ms_per_step": getattr(e, attr, 0.0) / 1e3 / steps,
                     "share": getattr(e, attr, 0.0) / total} for e in events[:top]]}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(prog="python -m benchmarks.ch2_step", description=__doc__.splitlines()[0])
    p.add_argument("--device", default=None, help="default: cuda when available, else cpu")
    p.add_argument("--profile", default="standard", choices=sorted(SETTINGS))
    p.add_argument("--steps", type=int, default=3, help="profiled steps per sweep (after one warm-up step)")
    p.add_argument("--out", default=None, help="folder for the JSON (default: _build/benchmarks)")
    p.add_argument("--compare", action="store_true", help="also time the weight-space warp of Sec. 3.2")
    a = p.parse_args(argv)
    if a.steps < 1:
        raise SystemExit(f"error: --steps must be >= 1, got {a.steps}")
    device = torch.device(a.device) if a.device else default_device()
    s = SETTINGS[a.profile]
    out = {"device": device_name(device), "profile": a.profile, "threads": torch.get_num_threads(), "sweeps": {}}
    for kind, (model, cfg, n, count, dataset) in sweeps(s).items():
        model = model.to(device)
        x, y = _batch(dataset, cfg.batch_size, device)
        r = time_steps(model, cfg, x, y, n, a.steps, device)
        if a.compare:
            with _weight_space():
                usual = time_steps(model, cfg, x, y, n, a.steps, device)
            r["weight_space"] = {"ms_per_step": usual["ms_per_step"], "top": usual["top"]}
            r["speedup"] = usual["ms_per_step"] / r["ms_per_step"]
        steps = cfg.epochs * math.ceil(n / cfg.batch_size)
        r |= {"batch": cfg.batch_size, "samples": cfg.samples, "steps_per_sweep": steps, "sweeps": count,
              "train_s_per_sweep": r["ms_per_step"] * steps / 1e3}
        out["sweeps"][kind] = r
        print(f"\n{kind}: {r['members']} members, S = {cfg.samples}, batch {cfg.batch_size}: "
              f"{r['ms_per_step']:.1f} ms per step; {steps} steps a sweep -> {r['train_s_per_sweep'] / 60:.1f} min "
              f"of training per sweep, {count} sweeps in the profile")
        for e in r["top"][:8]:
            print(f"  {e['op'][:50]:50s} {e['ms_per_step']:9.2f} ms/step  {100 * e['share']:5.1f} %")
        if a.compare:
            print(f"  the weight-space warp of Sec. 3.2: {r['weight_space']['ms_per_step']:.1f} ms per step "
                  f"(ours {r['speedup']:.2f}x faster)")
        del model
    total = sum(r["train_s_per_sweep"] * r["sweeps"] for r in out["sweeps"].values())
    out["train_s_total"] = total
    print(f"\n{a.profile} profile on {out['device']}: about {total / 3600:.2f} h of training in its sweeps "
          "(evaluation and the ablation not included)")
    path = Path(a.out or "_build/benchmarks")
    path.mkdir(parents=True, exist_ok=True)
    f = path / f"ch2-step-{a.profile}-{device.type}.json"
    f.write_text(json.dumps(out, indent=1) + "\n")
    print(f"written: {f}")
    return out


if __name__ == "__main__":
    main()
