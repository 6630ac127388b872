"""Chapter 0's data: real MNIST, split by seed."""
from __future__ import annotations

from torch import Tensor

from ... import data
from .settings import Settings

__all__ = ["mnist_splits"]


def mnist_splits(s: Settings, seed: int = 0) -> dict[str, tuple[Tensor, Tensor]]:
    """Real MNIST as float images in [0, 1]: train/val from the official training set, test from the test set.

    Returns:
        ``{"train": (x (B, 28, 28), y (B,)), "val": ..., "test": ...}``.
    """
    x, y = data.load("mnist", train=True)
    tr, va = data.split_indices(len(x), (s.n_train, s.n_val), seed)
    return {"train": (data.to_unit(x[tr]), y[tr]), "val": (data.to_unit(x[va]), y[va]),
            "test": data.subset("mnist", s.n_test, seed, train=False)}
