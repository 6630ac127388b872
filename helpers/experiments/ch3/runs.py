"""Chapter 3's runs, one per part (``parts``; ``pretrained`` is ``pretrained.run_pretrained``): each
trains what it measures and returns numbers and arrays. The trained ones train one network per seed, each seed
kept as a piece (``_seed_run``) so that a part stopped part-way goes on from its finished seeds.
"""
from __future__ import annotations

import time
from functools import partial
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor, nn

from ... import data
from ...checkpoint import active
from ...metrics.similarity import feature_similarity, layer_in_equivariance
from ...training import FitConfig, fit, test_accuracy
from .augment import CutMixLoss, augmenter
from .data import cifar10, mnist6
from .equivariance import diagonal_shift, measure, rotation
from .models import CifarResNet, ConvNet7, toy_cnns
from .settings import Settings, aug_part, mnist6_part
from .track import StopTraining, Tracker

__all__ = ["run_similarity_demo", "run_toy", "train_and_measure", "mnist6_task", "augmentation", "width", "fig2b"]

# --------------------------------------------------------------------------- Figs. 2a and 3
def run_similarity_demo(seed: int = 0, size: int = 8, n: int = 1000) -> dict:
    """Fig. 2a: random maps and a noisy copy, compared before and after adding 0.5 to both: ``{kind: {"plain",
    "shifted"}}`` (means over ``n`` pairs) and one ``example`` pair ``(a (size, size), b (size, size))``."""
    gen = torch.Generator().manual_seed(seed)
    a = torch.rand(n, size, size, generator=gen)  # (n, size, size)
    b = a + 0.5 * torch.randn(n, size, size, generator=gen)  # a noisy copy
    out: dict[str, Any] = {k: {"plain": float(feature_similarity(a, b, k).mean()),
               "shifted": float(feature_similarity(a + 0.5, b + 0.5, k).mean())} for k in ("correlation", "cosine")}
    out["example"] = (a[0], b[0])
    return out


def run_toy(n: int = 16, seed: int = 0) -> dict:
    """Fig. 3: rotation in/equivariance per layer of the three toy CNNs on ``n`` real MNIST test digits
    (90/180/270°). Returns ``{"invariant" | "equivariant" | "random": measure(...)}``."""
    x, _ = data.load("mnist", train=False)
    x = data.to_unit(x[:n])[:, None]  # (n, 1, 28, 28)
    rots = [rotation(k) for k in (1, 2, 3)]
    return {name: measure(m, x, rots) for name, m in toy_cnns(seed=seed).items()}


# --------------------------------------------------------------------------- trained networks
def train_and_measure(make: Callable[[], nn.Module], ds: dict, cfg: FitConfig, seed: int, device, xe: Tensor,
                      transforms: list, desc: str = "", checkpoint_key: str | None = None, augment=None, loss_fn=None,
                      track_epochs: tuple[int, ...] | None = None, stop_acc: float | None = None,
                      channels_last: bool = False) -> tuple[float, dict, nn.Module]:
    """Build a network after seeding with ``seed`` (in channels-last layout where ``channels_last``), train it
    (``fit``; inside a part its training resumes from checkpoints under ``checkpoint_key``), and measure it on ``xe``.
    With ``track_epochs`` (the CIFAR networks), a ``track.Tracker`` rides inside ``fit``: the same training and
    numbers, plus the validation curve and the measure at ``track_epochs`` (and, with ``stop_acc``, a stop once the
    validation accuracy reaches it; a stopped network keeps its weights at the stop and is measured there).

    Returns:
        ``(validation accuracy in %, measure(...), the trained model)``; the measure's dict also holds ``seconds =
        {"train", "measure"}`` (both end on a host read, so GPU work is counted) and, tracked, ``curve`` (validation
        accuracy in % per epoch), ``track`` (the tracked points: epoch, accuracy, ``{measure}_parts``), ``epochs``,
        ``stopped`` and ``seconds["track"]``.
    """
    torch.manual_seed(seed)
    model = make()
    torch.manual_seed(seed)
    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    tracker = None if track_epochs is None else Tracker(model, xe, transforms, track_epochs, loss_fn, stop_acc)
    stopped = False
    try:
        res = fit(model, ds["train"], ds["val"], cfg, augment=augment, loss_fn=tracker or loss_fn,
                  score_fn=tracker.score if tracker else None, seed=seed, device=device, desc=desc,
                  checkpoint_key=checkpoint_key)
    except StopTraining:
        stopped = True
    model.eval()  # fit leaves it so; a stopped one too
    t_fit = time.perf_counter()
    acc = 100 * float(test_accuracy(model, ds["val"], batch_size=1000)[0])
    t1 = time.perf_counter()
    run = measure(model, xe, transforms)
    if tracker is None:
        # training time with the earlier runs a checkpoint resumed from (fit's wall_time_s), not this run's alone
        run["seconds"] = {"train": res.wall_time_s + t1 - t_fit, "measure": time.perf_counter() - t1}
        return acc, run, model
    tr = tracker.result()
    run |= {"curve": tr["curve"], "track": tr["track"], "epochs": len(tr["curve"]), "stopped": stopped,
            "seconds": {"train": tracker.train_s() + t1 - t_fit, "measure": time.perf_counter() - t1,
                        "track": tr["track_s"]}}
    return acc, run, model


def _seed_run(key: str, train: Callable[[], tuple[float, dict, nn.Module]],
              first: Callable[[nn.Module], dict] | None = None) -> dict:
    """One seed of a part: its piece ``key`` if an earlier run (any session, any machine) kept it under these
    settings (``helpers.checkpoint``), else ``train()``'s network measured and kept as that piece: ``{"acc": %,
    "run": measure(...)}``, plus ``"first": first(model)`` where ``first`` is given (what a part measures on the
    network of its first seed, which a piece does not keep)."""
    ckpt = active()
    got = ckpt.piece(key)
    if got is None:
        acc, run, model = train()
        got = {"acc": acc, "run": run}
        if first is not None:
            got["first"] = first(model)
        ckpt.keep(key, got)
    return got


def mnist6_task(s: Settings, device: torch.device, task: str) -> dict:
    """Fig. 5, one task: the 7-layer CNN of each seed of ``s.seeds`` on it; rotation in/equivariance:
    ``{"task", "classes", "acc": [% per seed], "runs": [measure(...) per seed]}``."""
    ds = mnist6(task, s.mnist6_train, s.mnist6_val)
    xe = ds["val"][0][: s.n_eval].to(device)  # (n_eval, 1, 28, 28)
    rots = [rotation(k) for k in (1, 2, 3)]
    accs, runs = [], []
    for sd in s.seeds:
        key = f"{mnist6_part(task)}-s{sd}"
        got = _seed_run(key, lambda: train_and_measure(partial(ConvNet7, ds["classes"]), ds, s.mnist6_fit, sd, device,
                                                       xe, rots, desc=f"{task} seed {sd}", checkpoint_key=key,
                                                       channels_last=s.channels_last))
        accs.append(got["acc"])
        runs.append(got["run"])
    return {"task": task, "classes": ds["classes"], "acc": accs, "runs": runs}


def _cifar_runs(s: Settings, device, make, aug: str = "baseline", label: str = "", key: str = "cifar",
                first: Callable[[Any, Tensor], dict] | None = None, track_epochs=(),
                stop_acc: float | None = None) -> tuple[dict, dict | None]:
    """Train ``make()`` with augmentation ``aug`` for every CIFAR seed (checkpoints and pieces ``<key>-s<seed>``;
    tracked: curves, and measures at ``track_epochs``, a stop at ``stop_acc``): the part's dict and ``first(model,
    xe)`` on the first seed's network (None without ``first``), ``xe`` the evaluation images ``(n_eval, 3, 32, 32)``."""
    ds: dict[str, Any] = cifar10(s.cifar_train, s.cifar_val)
    xe = ds["val"][0][: s.n_eval].to(device)  # (n_eval, 3, 32, 32)
    shifts = [diagonal_shift(p) for p in s.shifts]
    out: dict[str, Any] = {"n_train": ds["n_train"], "acc": [], "runs": []}
    extra: dict | None = None
    for i, sd in enumerate(s.cifar_seed_list):
        loss = CutMixLoss(sd) if aug == "CutMix" else None
        got = _seed_run(f"{key}-s{sd}",
                        lambda: train_and_measure(make, ds, s.cifar_fit, sd, device, xe, shifts, f"{label} seed {sd}",
                                                  f"{key}-s{sd}", augment=augmenter(aug), loss_fn=loss,
                                                  track_epochs=track_epochs, stop_acc=stop_acc,
                                                  channels_last=s.channels_last),
                        (lambda m: first(m, xe)) if first is not None and i == 0 else None)
        out["acc"].append(got["acc"])
        out["runs"].append(got["run"])
        extra = got.get("first", extra)
    return out, extra


def augmentation(s: Settings, device: torch.device, aug: str) -> dict:
    """Fig. 6a, one augmentation: the CIFAR ResNet (``resnet_blocks`` per stage) of each CIFAR seed trained with
    it; translation in/equivariance: ``{"augmentation", "n_train", "acc": [% per seed], "runs": [measure(...) per
    seed]}``, and for the baseline ``"fig2b"`` (``fig2b`` on its first seed's network)."""
    out, f2b = _cifar_runs(s, device, lambda: CifarResNet(s.resnet_blocks), aug, aug, aug_part(aug),
                           first=fig2b if aug == "baseline" else None,
                           track_epochs=s.track_epochs if s.track_augmentations else ())
    if aug == "baseline":
        out["fig2b"] = f2b
    return {"augmentation": aug, **out}


def width(s: Settings, device: torch.device, k: int) -> dict:
    """Fig. 6b, one width: WRN-k (``wrn_blocks`` per stage) of each CIFAR seed, no augmentation; translation
    in/equivariance. Returns ``{"width", "n_train", "acc": [% per seed], "runs": [measure(...) per seed]}``."""
    out, _ = _cifar_runs(s, device, lambda: CifarResNet(s.wrn_blocks, k), label=f"WRN k={k}",
                         key=f"width-{k}", track_epochs=s.track_epochs, stop_acc=s.stop_acc(k))
    return {"width": k, **out}


def fig2b(model: CifarResNet, x: Tensor) -> dict:
    """Fig. 2b on a trained CIFAR ResNet: 90° rotation invariance per block with correlation and with cosine
    (``(L,)`` each), the blocks' mean |activation| (``"magnitude"``), Pearson's ρ over the blocks of each with the
    magnitude (``"rho_correlation"``, ``"rho_cosine"``) and the blocks' names (``"layers"``)."""
    layers = {k: v for k, v in model.layers().items() if k.startswith(("stem", "block"))}
    L, res = len(layers), {}
    for kind in ("correlation", "cosine"):
        r = layer_in_equivariance(model, {**layers, "pool": model.pool, "final": model.head}, x, [rotation(1)], kind)
        res[kind], res["magnitude"] = r["invariance"][:L], r["magnitude"][:L]
    res |= {f"rho_{kind}": float(np.corrcoef(res[kind], res["magnitude"])[0, 1]) for kind in ("correlation", "cosine")}
    return res | {"layers": list(layers)}

