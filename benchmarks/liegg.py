"""LieGG on rotation-MNIST, end to end: ours vs the reference code's way of doing the same work.

The work (the setting of the authors' rotation-MNIST notebook, per issue 7): 10k training and 2k
validation images (blur 1.5), a 5x128 Swish MLP, Adam 1e-3, batch 512, best-validation model, then
the polarization matrix of the whole training set.

* **Reference way** (written here in our own code, following the published algorithm and its data
  handling): a ``Dataset`` whose ``__getitem__`` loads one ``.npy`` file per image from disk, blurs it
  (``scipy.ndimage.gaussian_filter``, sigma 1.5) and normalises it, every epoch; a shuffling
  ``DataLoader`` (batch 512), ``.to(device)`` per batch, validation through a batch-1 ``DataLoader``
  every epoch, a ``deepcopy`` of the best weights, and the polarization matrix of App. A.4 (forward
  differences) computed over ``DataLoader`` batches.
* **Ours**: data resident on the device, ``helpers.training.fit`` (index-slice batches, one batched
  validation pass), ``helpers.metrics.polarization_matrix_image`` in chunks.

Also: the polarization matrix alone, batched vs one image at a time.
"""
from __future__ import annotations

import copy
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy.ndimage import gaussian_filter
from torch.utils.data import DataLoader, Dataset

from helpers.experiments.ch4.data import rotation_mnist
from helpers.metrics import polarization_matrix_image
from helpers.models import MLP
from helpers.training import FitConfig, fit

from .timing import median_time, sync

__all__ = ["run"]


class _FilePerSampleDigits(Dataset):
    """One unblurred image per ``.npy`` file; ``__getitem__`` loads, blurs and normalises it."""

    def __init__(self, folder: Path, x: np.ndarray, y: np.ndarray, blur: float = 1.5):
        folder.mkdir(parents=True, exist_ok=True)
        self.paths = []
        for i, (img, label) in enumerate(zip(x, y)):
            path = folder / f"{i:05d}.npy"
            np.save(path, np.array([img, int(label)], dtype=object), allow_pickle=True)
            self.paths.append(path)
        self.blur = blur

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        img, label = np.load(self.paths[i], allow_pickle=True)
        img = (gaussian_filter(img.astype(np.float64), self.blur) - 0.1303) / 0.3008
        return torch.tensor(img, dtype=torch.float32), torch.tensor(label, dtype=torch.long)


def _reference_polarization(model, loader, device) -> torch.Tensor:
    """App. A.4's polarization_matrix_R2 (forward differences), batch by batch from a DataLoader."""
    rows = []
    for xb, _ in loader:
        xb = xb.to(device)
        B, H, W = xb.shape
        dI = torch.stack([xb[:, 1:, :-1] - xb[:, :-1, :-1], xb[:, :-1, 1:] - xb[:, :-1, :-1]], -1)
        flat = xb.reshape(B, -1).clone().requires_grad_(True)
        out = F.normalize(model(flat), dim=1)
        (g,) = torch.autograd.grad(out.sum(), flat)
        dF = g.reshape(B, H, W)[:, :-1, :-1]
        xy = torch.stack(torch.meshgrid(torch.arange(H - 1), torch.arange(W - 1), indexing="ij"), -1).to(xb)
        xy = xy / (H // 2) - 1
        rows.append((dF[..., None, None] * dI[..., None] * xy[None, :, :, None, :]).reshape(B, -1, 2, 2).sum(1))
    return torch.cat(rows).reshape(-1, 4)


def _reference_pipeline(sets: dict, epochs: int, device) -> float:
    t0 = time.perf_counter()
    torch.manual_seed(0)
    model = MLP(784, [128] * 5, 10, activation="swish").to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    train = DataLoader(sets["train"], batch_size=512, shuffle=True)
    val = DataLoader(sets["val"], batch_size=1)
    best, best_state = -1.0, None
    for _ in range(epochs):
        model.train()
        for xb, yb in train:
            xb, yb = xb.to(device), yb.to(device)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for xb, yb in val:
                correct += int((model(xb.to(device)).argmax(1) == yb.to(device)).sum())
        if correct / len(val.dataset) > best:
            best, best_state = correct / len(val.dataset), copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    _reference_polarization(model, DataLoader(sets["train"], batch_size=512), device)
    sync(device)
    return time.perf_counter() - t0


def _our_pipeline(d, epochs: int, device) -> float:
    t0 = time.perf_counter()
    torch.manual_seed(0)
    model = MLP(784, [128] * 5, 10, activation="swish").to(device)
    x, y = d["train"][0].to(device), d["train"][1].to(device)
    fit(model, (x, y), d["val"], FitConfig(epochs=epochs, batch_size=512, lr=1e-3), device=device)
    polarization_matrix_image(model, x, normalize=True)
    sync(device)
    return time.perf_counter() - t0


def run(device: torch.device, epochs: int = 5, repeats: int = 1) -> list[dict]:
    """Rows for the table: the pipeline at ``epochs`` epochs both ways, and polarization alone."""
    d = rotation_mnist(10_000, 2_000, 100, blur=1.5, seed=0)  # ours: built and blurred once
    raw = rotation_mnist(10_000, 2_000, 100, blur=0.0, seed=0)  # the same rotations, unblurred, for the files
    with tempfile.TemporaryDirectory() as tmp:
        sets = {k: _FilePerSampleDigits(Path(tmp) / k, raw[k][0].numpy(), raw[k][1].numpy()) for k in ("train", "val")}
        t_ref = median_time(lambda: _reference_pipeline(sets, epochs, device), device, repeats, warmup=1)
    t_ours = median_time(lambda: _our_pipeline(d, epochs, device), device, repeats, warmup=1)
    name = f"LieGG rot-MNIST pipeline: {epochs} epochs + E (10k)"
    rows = [{"benchmark": name, "method": "ours (fit + batched E)", "seconds": t_ours},
            {"benchmark": name, "method": "reference way (loaders)", "seconds": t_ref}]

    torch.manual_seed(0)
    model = MLP(784, [128] * 5, 10, activation="swish").to(device).eval()
    x = d["train"][0][:2000].to(device)
    t_batched = median_time(lambda: polarization_matrix_image(model, x, normalize=True), device, max(repeats, 3))
    t_single = median_time(lambda: [polarization_matrix_image(model, x[i:i + 1], normalize=True)
                                    for i in range(len(x))], device, 1)
    name2 = "polarization matrix of 2k images"
    rows += [{"benchmark": name2, "method": "batched (chunks of 4096)", "seconds": t_batched},
             {"benchmark": name2, "method": "one image at a time", "seconds": t_single}]
    for r, work in zip(rows, (12_000 * epochs, 12_000 * epochs, 2000, 2000)):
        r["samples_per_s"] = work / r["seconds"]
    for r in rows:
        r["slowdown"] = r["seconds"] / next(q["seconds"] for q in rows if q["benchmark"] == r["benchmark"])
    return rows
