"""Chapter 4's data: the O(5) regression task (eq. 5), rotation-MNIST and rotation-augmented CIFAR-10.

Rotation-MNIST and CIFAR-10 are built from the real files (``helpers.data.load``); images are rotated with
``helpers.transforms.rotate`` (bilinear, zeros outside) and smoothed with ``helpers.transforms.blur``.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from ... import data, transforms
from ...transforms import rotate
from .settings import Settings

__all__ = ["o5_target", "o5_dataset", "rotation_mnist", "rotation_cifar10"]


def o5_target(x: Tensor) -> Tensor:
    """Eq. (5): ``f(x1, x2) = sin|x1| - |x2|^3 / 2 + x1.x2 / (|x1| |x2|)``; ``(B, 10) -> (B,)``."""
    x1, x2 = x[:, :5], x[:, 5:]  # (B, 5) each
    n1, n2 = x1.norm(dim=1), x2.norm(dim=1)  # (B,)
    return torch.sin(n1) - 0.5 * n2**3 + (x1 * x2).sum(1) / (n1 * n2)


def o5_dataset(n: int, seed: int) -> tuple[Tensor, Tensor]:
    """``x ~ N(0, I_10)`` and ``y = f(x)`` of eq. (5): ``((n, 10), (n, 1))``."""
    x = torch.randn(n, 10, generator=torch.Generator().manual_seed(seed))  # (n, 10)
    return x, o5_target(x)[:, None]  # (n, 10), (n, 1)


def rotation_mnist(n_train: int, n_val: int, n_test: int, blur: float = 1.5, seed: int = 0
                   ) -> dict[str, tuple[Tensor, Tensor]]:
    """Rotation-MNIST rebuilt from the official MNIST files: each image rotated by its own uniform angle in
    [0, 2 pi), then blurred; train and validation images (disjoint) from MNIST's training set, test images from its
    test set: ``{"train": (x (n_train, 28, 28) in [0, 1], y (n_train,)), "val": ..., "test": ...}``. Raises
    ``ValueError`` for more images than MNIST has.
    """
    (xtr, ytr), (xte, yte) = data.load("mnist", train=True), data.load("mnist", train=False)
    if n_train + n_val > len(xtr) or n_test > len(xte):
        raise ValueError(f"rotation_mnist: asked for {n_train}+{n_val} train/val and {n_test} test images; "
                         f"MNIST has {len(xtr)} and {len(xte)}")
    itr, iva = data.split_indices(len(xtr), [n_train, n_val], seed)
    ite = data.split_indices(len(xte), [n_test], seed + 1)[0]
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for name, (x, y) in {"train": (xtr[itr], ytr[itr]), "val": (xtr[iva], ytr[iva]),
                         "test": (xte[ite], yte[ite])}.items():
        angles = torch.rand(len(x), generator=gen) * 2 * math.pi  # (B,)
        out[name] = (transforms.blur(rotate(data.to_unit(x), angles), blur), y)  # (B, 28, 28), (B,)
    return out


def rotation_cifar10(s: Settings, seed: int = 0) -> dict[str, tuple[Tensor, Tensor]]:
    """CIFAR-10 (colour, [0, 1], blurred by ``s.blur``) split into train/val, plus the test set.

    Training rotations come as augmentation (``helpers.augment.random_rotation``); validation and test images are
    rotated once, at random: ``{"train": (x (B, 3, 32, 32), y (B,)), "val": ..., "test": ...}``. Raises
    ``FileNotFoundError`` (``helpers.data.load``'s) when the images cannot be had.
    """
    (x, y), (xt, yt) = data.load("cifar10", train=True), data.load("cifar10", train=False)
    n_train = min(s.cifar_train or len(x), len(x) - s.cifar_val)
    itr, iva = data.split_indices(len(x), [n_train, s.cifar_val], seed)
    gen = torch.Generator().manual_seed(seed)
    x, xt = transforms.blur(data.to_unit(x), s.blur), transforms.blur(data.to_unit(xt), s.blur)  # (B, 3, 32, 32)
    xt = rotate(xt, torch.rand(len(xt), generator=gen) * 2 * math.pi)  # rotated test set
    xv = rotate(x[iva], torch.rand(len(iva), generator=gen) * 2 * math.pi)
    return {"train": (x[itr], y[itr]), "val": (xv, y[iva]), "test": (xt, yt)}
