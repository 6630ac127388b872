"""Training throughput: ch1's 5-layer MLP on Transforming-MNIST (R4 augmentation), M seeds.

Three ways to train the same M models for one epoch:
1. ``fit_ensemble``: one vmapped model, data on the device, index-slice batches;
2. M sequential ``fit`` calls (same data handling, one model at a time);
3. the loop users usually write: a ``Dataset`` whose ``__getitem__`` applies the random rotation to
   one sample, a ``DataLoader(shuffle=True)``, a ``.to(device)`` per batch, one model at a time.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from helpers import data
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


def rot4_batch(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """A random ROT4 element per sample of ``(B, H, W)``, as four masked rot90 calls (no Python loop over B)."""
    g = torch.randint(0, 4, (len(x),), generator=gen).to(x.device)  # (B,)
    out = x.clone()
    for k in range(1, 4):
        mask = g == k
        out[mask] = ROT4.act(x[mask], k)
    return out


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
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()


def run(device: torch.device, members: int = 4, n: int = 10_000, repeats: int = 3) -> list[dict]:
    """Epoch time and samples/s of the three ways; returns rows for the table."""
    x, y = transforming_mnist_train(n)
    cfg = FitConfig(epochs=1, batch_size=512, lr=8e-4)
    seeds = list(range(members))
    make = lambda: MLP(36 * 36, [128] * 4, 9)  # noqa: E731
    models = [m.to(device) for m in build_models(make, seeds)]

    t_ens = median_time(lambda: fit_ensemble(models, (x, y), None, cfg, seeds=seeds, augment=rot4_batch), device, repeats)
    t_seq = median_time(lambda: [fit(m, (x, y), None, cfg, seed=s, augment=rot4_batch) for m, s in zip(models, seeds)],
                        device, repeats)
    t_dl = median_time(lambda: _dataloader_epoch(models, x, y, cfg, device), device, repeats)
    work = members * n  # samples processed per epoch, over all members
    rows = []
    for name, t in (("fit_ensemble (vmap)", t_ens), ("sequential fit", t_seq), ("DataLoader loop", t_dl)):
        rows.append({"benchmark": f"train ch1 MLP, {members} seeds, 1 epoch of {n}", "method": name,
                     "seconds": t, "samples_per_s": work / t})
    for r in rows:
        r["slowdown"] = r["seconds"] / t_ens  # x the time of ours (fit_ensemble)
    return rows
