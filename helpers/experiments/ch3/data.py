"""Chapter 3's datasets: MNIST6 and its rotated tasks (Sec. 4.3), and the CIFAR-10 subsets (Sec. 4.4)."""
from __future__ import annotations

import torch
from torch import Tensor

from ... import data
from .settings import MNIST6_TASKS

__all__ = ["MNIST6_DIGITS", "mnist6", "cifar10"]

MNIST6_DIGITS = (2, 3, 4, 5, 7, 9)  # MNIST without {0, 1, 6, 8}, whose rotations look like digits (Sec. 4.3)


def mnist6(task: str, n_train: int, n_val: int, seed: int = 0) -> dict:
    """MNIST6 (MNIST without 0, 1, 6, 8), MNIST6-Rot-Inv (each image rotated by a random multiple of 90°,
    label unchanged) or MNIST6-Rot-Eq (the same images, 24 classes: digit x rotation) (Sec. 4.3): ``{"train": (x
    (B, 1, 28, 28) standardised, y (B,)), "val": (...), "classes": int}``, training images from MNIST's training
    file, validation (= evaluation) images from its test file.
    """
    if task not in MNIST6_TASKS:
        raise ValueError(f"unknown MNIST6 task {task!r}; valid: {list(MNIST6_TASKS)}")
    out: dict = {"classes": 24 if task.endswith("Eq") else 6}
    gen = torch.Generator().manual_seed(seed)
    for split, n in (("train", n_train), ("val", n_val)):
        x, y = data.select_classes(*data.load("mnist", train=split == "train"), MNIST6_DIGITS)
        (idx,) = data.split_indices(len(x), (min(n, len(x)),), seed)
        x, y = data.to_unit(x[idx])[:, None], y[idx]  # (B, 1, 28, 28)
        if task != "MNIST6":
            r = torch.randint(4, (len(x),), generator=gen)  # (B,)
            x = torch.stack([torch.rot90(xi, int(k), dims=(-2, -1)) for xi, k in zip(x, r)])
            y = y * 4 + r if task.endswith("Eq") else y
        out[split] = ((x - 0.1307) / 0.3081, y)
    return out


def cifar10(n_train: int, n_val: int, seed: int = 0) -> dict[str, tuple[Tensor, Tensor] | int]:
    """CIFAR-10 as float images in [0, 1]: ``{"train": (x (B, 3, 32, 32), y (B,)), "val": (...), "n_train": int}``.

    Seeded subsets of the training and test files (``helpers.data.subset``), capped by what exists: offline
    this is the real subset in ``HELPERS_DATA`` (8,068 / 1,017 images).
    """
    train = data.subset("cifar10", n_train, seed, train=True)
    val = data.subset("cifar10", n_val, seed, train=False)
    return {"train": train, "val": val, "n_train": len(train[0]), "n_val": len(val[0])}
