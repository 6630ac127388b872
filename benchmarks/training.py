"""Training throughput: ch1's 5-layer MLP on Transforming-MNIST (R4 augmentation), M seeds.

Three ways to train the same M models, timed per epoch over ``epochs`` epochs:
1. ``fit_ensemble``: one vmapped model, data on the device, index-slice batches (on CUDA its
   full-batch steps replay a CUDA graph; the row "fit_ensemble, eager steps" turns that off);
2. M sequential ``fit`` calls (same data handling, one model at a time);
3. the loop users usually write: a ``Dataset`` whose ``__getitem__`` applies the random rotation to
   one sample, a ``DataLoader(shuffle=True)``, a ``.to(device)`` per batch, one model at a time.

A second benchmark is chapter 1's nu sweep: IR models (eq. 4, the orbit in every step) for several nu
and M seeds, as one ensemble over (nu, seed) (``fit_ensemble``'s ``member_args``) vs one ensemble per nu.

On CUDA a third times ``fit`` with and without CUDA-graph steps on chapter 3's BatchNorm CNNs (the
7-layer MNIST6 CNN with Adam, ResNet-44 with SGD, both with a step schedule), at the chapter's batch size.
"""
from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from helpers import data
from helpers.augment import group_action
from helpers.experiments import ch1
from helpers.groups import ROT4
from helpers.models import MLP
from helpers.training import FitConfig, build_models, fit, fit_ensemble

from .timing import median_time

__all__ = ["transforming_mnist_train", "run"]


def transforming_mnist_train(n: int = 10_000, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST without digit 9, zero-padded to 36x36, standardised: ``(n, 36, 36)`` float, ``(n,)`` labels."""
    x, y = data.load("mnist")
    x, y = data.select_classes(x, y, keep=range(9))
    (idx,) = data.split_indices(len(x), (n,), seed)
    xs, _, _ = data.standardize(data.pad_to(data.to_unit(x[idx]), 36))
    return xs, y[idx]


#: The chapter's own augmentation (``helpers.augment.group_action``): a random ROT4 element per sample of ``(B, H, W)``,
#: drawn from the run's generator and applied by indexing the batch's orbit (one host-to-device copy, no
#: boolean masks: masks cost a device synchronisation each, which the first H100 profile showed).
rot4_batch = group_action(ROT4)


class _RotatedDataset(Dataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return ROT4.act(self.x[i], int(torch.randint(0, 4, ()))), self.y[i]


def _dataloader_epoch(models, x, y, cfg: FitConfig, device) -> None:
    loader = DataLoader(_RotatedDataset(x, y), batch_size=cfg.batch_size, shuffle=True)
    for model in models:
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        for _ in range(cfg.epochs):
            for xb, yb in loader:
                xb, yb = xb.to(device), yb.to(device)
                loss = F.cross_entropy(model(xb), yb)
                opt.zero_grad()
                loss.backward()
                opt.step()


def run(device: torch.device, members: int = 4, n: int = 10_000, repeats: int = 3, epochs: int = 5,
        nus: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0, 100.0)) -> list[dict]:
    """Seconds per epoch and samples/s of each way; returns rows for the table.

    Each timed call trains ``epochs`` epochs (so a CUDA graph's capture is paid once per call, as in a
    chapter's run, not once per epoch); ``seconds`` is that time divided by ``epochs``.
    """
    x, y = transforming_mnist_train(n)
    cfg = FitConfig(epochs=epochs, batch_size=512, lr=8e-4)
    seeds = list(range(members))
    make = lambda: MLP(36 * 36, [128] * 4, 9)  # noqa: E731
    models = [m.to(device) for m in build_models(make, seeds)]

    def ensemble(graphs=None):
        return lambda: fit_ensemble(models, (x, y), None, cfg, seeds=seeds, augment=rot4_batch, graphs=graphs)

    ways = {"fit_ensemble (vmap)": ensemble()}
    if device.type == "cuda":
        ways["fit_ensemble, eager steps"] = ensemble(graphs=False)
    ways["sequential fit"] = lambda: [fit(m, (x, y), None, cfg, seed=s, augment=rot4_batch)
                                      for m, s in zip(models, seeds)]
    ways["DataLoader loop"] = lambda: _dataloader_epoch(models, x, y, cfg, device)
    times = {name: median_time(fn, device, repeats) / epochs for name, fn in ways.items()}
    rows = _rows(f"train ch1 MLP, {members} seeds, 1 epoch of {n}", times, members * n)

    # chapter 1's nu sweep: IR models, the whole R4 orbit in every step. Training reads only the train and
    # val splits (one image of validation, so that selection costs next to nothing); test fields are fillers.
    ds = ch1.Transforming("bench", ROT4, (x, y), (x[:1], y[:1]), (x[:1], y[:1]), x[:1], y[:1], 0.0, 1.0)
    s = replace(ch1.SETTINGS["standard"], seeds=tuple(seeds), fit=cfg, n_train=n)
    sweep = {"one ensemble over (nu, seed)": lambda: ch1.train_sweep(ds, s, nus, "l2", device),
             "one ensemble per nu": lambda: [ch1.train("IR", ds, s, nu=nu, device=device) for nu in nus]}
    times = {name: median_time(fn, device, repeats) for name, fn in sweep.items()}
    rows += _rows(f"ch1 IR sweep, {len(nus)} nu x {members} seeds, 1 epoch", {k: t / epochs for k, t in times.items()},
                  len(nus) * members * n)
    if device.type == "cuda":
        rows += _cnn_rows(device, x, y, repeats, epochs)
    return rows


def _cnn_rows(device: torch.device, x: torch.Tensor, y: torch.Tensor, repeats: int, epochs: int) -> list[dict]:
    """ch3's CNNs trained by ``fit``, its steps replayed from CUDA graphs vs eager, per epoch of ``len(x)``."""
    from helpers.experiments import ch3
    rows = []
    xm = F.interpolate(x[:, None], size=28, mode="bilinear", align_corners=False)  # (n, 1, 28, 28)
    xc = F.pad(xm.repeat(1, 3, 1, 1), (2, 2, 2, 2))  # (n, 3, 32, 32): CIFAR-sized inputs (the work is timed)
    cases = {"ch3 7-layer CNN (Adam)": (lambda: ch3.ConvNet7(10), xm, ch3.SETTINGS["standard"].mnist6_fit),
             "ch3 ResNet-44 (SGD)": (lambda: ch3.CifarResNet(7), xc, ch3.SETTINGS["standard"].cifar_fit)}
    for name, (make, inputs, cfg) in cases.items():
        cfg = replace(cfg, epochs=epochs, milestones=(epochs // 2,))
        torch.manual_seed(0)
        model = make().to(device)
        times = {way: median_time(lambda g=g: fit(model, (inputs, y), None, cfg, graphs=g), device, repeats) / epochs
                 for way, g in (("fit, graph steps", True), ("fit, eager steps", False))}
        rows += _rows(f"train {name}, 1 epoch of {len(inputs)}", times, len(inputs))
    return rows


def _rows(benchmark: str, times: dict[str, float], work: int) -> list[dict]:
    """Rows of one benchmark; ``slowdown`` is each way's time over the first way's (ours)."""
    first = next(iter(times.values()))
    return [{"benchmark": benchmark, "method": name, "seconds": t, "samples_per_s": work / t, "slowdown": t / first}
            for name, t in times.items()]
