"""Chapter 1's data: Transforming-MNIST and -FMNIST (Sec. 4.1) and the drifted test sets (Sec. 4.3). DA's random
group actions are ``helpers.augment.group_action``."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from ... import data
from ...augment import act_each
from ...groups import CyclicGroup, get_group
from .settings import N_CLASSES, SIZE, Settings

__all__ = ["Transforming", "transforming", "drifted"]


@dataclass
class Transforming:
    """Transforming-MNIST or -FMNIST for one group: standardised splits plus what drift needs.

    Attributes:
        train, val, test: ``(x, y)`` with x ``(B, 36, 36)`` float32 standardised, y ``(B,)`` in 0..8.
        raw_test: the test images before the group action, ``(B, 36, 36)`` in [0, 1].
        g_test: ``(B,)`` the group element applied to each test image.
        mean, std: the training split's statistics (applied to every split).
    """

    name: str
    group: CyclicGroup
    train: tuple[Tensor, Tensor]
    val: tuple[Tensor, Tensor]
    test: tuple[Tensor, Tensor]
    raw_test: Tensor
    g_test: Tensor
    mean: float
    std: float

    def standardize(self, x: Tensor) -> Tensor:
        """``(x - mean) / std`` with the training statistics."""
        return (x - self.mean) / self.std


def transforming(name: str, group: CyclicGroup | str, s: Settings, seed: int = 0) -> Transforming:
    """Build Transforming-MNIST (``name="mnist"``) or Transforming-FMNIST (``"fashion_mnist"``).

    The official training and test files are pooled, the last class dropped (MNIST's digit 9,
    Fashion-MNIST's ankle boot), and disjoint train/test/val splits of ``s.n_train``/``s.n_test``/``s.n_val``
    drawn with ``seed``. Images are zero-padded 28 -> 36 and each gets one random group element
    (a fixed draw from ``seed``); all splits are standardised with the training mean and std.
    The same ``seed`` gives the same split indices and group elements for both datasets, which pairs
    MNIST and FMNIST test images for the drift of Fig. 4.

    Returns:
        ``Transforming`` with ``(B, 36, 36)`` images.
    """
    group = get_group(group) if isinstance(group, str) else group
    if name not in ("mnist", "fashion_mnist"):
        raise ValueError(f"transforming: name must be 'mnist' or 'fashion_mnist', got {name!r}")
    xs, ys = zip(data.load(name, train=True), data.load(name, train=False))
    x, y = data.select_classes(torch.cat(xs), torch.cat(ys), range(N_CLASSES))
    tr, te, va = data.split_indices(len(x), (s.n_train, s.n_test, s.n_val), seed)
    gen = torch.Generator().manual_seed(seed + 1)
    out = {}
    for key, idx in (("train", tr), ("test", te), ("val", va)):
        raw = data.pad_to(data.to_unit(x[idx]), SIZE)  # (B, 36, 36)
        g = torch.randint(group.order, (len(idx),), generator=gen)  # (B,)
        out[key] = (raw, act_each(raw, g, group), y[idx], g)
    mean, std = out["train"][1].mean().item(), out["train"][1].std().item()
    z = lambda k: ((out[k][1] - mean) / std, out[k][2])  # noqa: E731
    return Transforming(name, group, z("train"), z("val"), z("test"), out["test"][0], out["test"][3], mean, std)


def drifted(mnist: Transforming, fmnist: Transforming, beta: float) -> tuple[Tensor, Tensor]:
    """The drifted test set D(beta) = (1 - beta) MNIST + beta FMNIST (Sec. 4.3).

    We read the paper's linear interpolation of datasets pixel-wise: each MNIST test image is blended
    with the paired FMNIST image, then both get the MNIST image's group element and the MNIST
    standardisation. Labels stay MNIST's (the task the model was trained for).

    Returns:
        ``(x, y)``: ``(B, 36, 36)`` and ``(B,)``, B the smaller test set.
    """
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"drift beta must be in [0, 1], got {beta}")
    n = min(len(mnist.raw_test), len(fmnist.raw_test))
    mix = (1 - beta) * mnist.raw_test[:n] + beta * fmnist.raw_test[:n]  # (B, 36, 36)
    return mnist.standardize(act_each(mix, mnist.g_test[:n], mnist.group)), mnist.test[1][:n]
