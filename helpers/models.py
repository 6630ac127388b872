"""Modules shared by chapters. Chapter-specific layers live with their chapter until a second one needs them."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .groups import CyclicGroup

__all__ = ["ACTIVATIONS", "MLP", "GroupPooledMLP", "R4SymmetricConv2d", "SmallCNN", "count_parameters"]

ACTIVATIONS = {"relu": nn.ReLU, "swish": nn.SiLU, "tanh": nn.Tanh, "gelu": nn.GELU}


class MLP(nn.Sequential):
    """A multi-layer perceptron: Flatten -> (Linear -> activation) x len(hidden) -> Linear.

    Args:
        in_dim: input features D (inputs ``(B, ...)`` are flattened to ``(B, D)``).
        hidden: the hidden widths, e.g. ``[128] * 4`` for ch1's 5-layer MLP.
        out_dim: output features (classes, or 1 for regression).
        activation: a key of ``ACTIVATIONS``.
    Shapes:
        ``(B, ...)`` -> ``(B, out_dim)``.
    """

    def __init__(self, in_dim: int, hidden: Sequence[int], out_dim: int, activation: str = "relu"):
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; valid: {sorted(ACTIVATIONS)}")
        dims = [in_dim, *hidden]
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in zip(dims[:-1], dims[1:]):
            layers += [nn.Linear(a, b), ACTIVATIONS[activation]()]
        layers.append(nn.Linear(dims[-1], out_dim))
        super().__init__(*layers)

    def features(self, x: Tensor) -> Tensor:
        """Penultimate features ``(B, hidden[-1])`` (the input of the last Linear)."""
        for layer in list(self)[:-1]:
            x = layer(x)
        return x


class GroupPooledMLP(nn.Module):
    """Weight-tying over a finite group (ch1's WT model): an exactly G-invariant MLP.

    The first Linear layer (with its activation) sees every transformed copy of the input, i.e. its
    weights are tied over the group orbit, and its outputs are averaged over the group:

        h(x) = 1/|G| sum_g  act(W_1 (g x) + b_1),       f(x) = MLP_rest(h(x)),

    so ``f(gx) = f(x)`` for every g: the orbit of ``gx`` is the orbit of ``x`` reordered.

    Args:
        group: a ``helpers.groups`` group acting on ``(..., H, W)``.
        in_dim, hidden, out_dim, activation: as ``MLP``; ``hidden[0]`` is the pooled layer's width.
    Shapes:
        ``(B, H, W)`` -> ``(B, out_dim)``.
    """

    def __init__(self, group: CyclicGroup, in_dim: int, hidden: Sequence[int], out_dim: int,
                 activation: str = "relu"):
        super().__init__()
        if not hidden:
            raise ValueError("GroupPooledMLP needs at least one hidden layer (the pooled one)")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; valid: {sorted(ACTIVATIONS)}")
        self.group = group
        self.first = nn.Linear(in_dim, hidden[0])
        self.act = ACTIVATIONS[activation]()
        self.rest = MLP(hidden[0], list(hidden[1:]), out_dim, activation)

    def pooled(self, x: Tensor) -> Tensor:
        """The group-averaged first layer ``(B, hidden[0])``."""
        orbit = self.group.orbit(x).flatten(2)  # (G, B, D)
        return self.act(self.first(orbit)).mean(0)  # (B, hidden[0])

    def features(self, x: Tensor) -> Tensor:
        """Penultimate features ``(B, hidden[-1])``."""
        return self.rest.features(self.pooled(x))

    def forward(self, x: Tensor) -> Tensor:
        return self.rest(self.pooled(x))  # (B, out_dim)


class R4SymmetricConv2d(nn.Conv2d):
    """A 'same'-padded convolution whose kernels are tied over the four quarter turns (weight-tying in a CNN):

        w_sym = 1/4 sum_k rot90(w, k),

    so every kernel is invariant to quarter turns and the layer is exactly R4-equivariant with every channel
    mapped to itself: ``conv(rot90(x, k)) = rot90(conv(x), k)`` (odd square kernel, zero padding, stride 1).
    The free parameters are ``weight``; the effective kernel is ``symmetric_weight()``.
    """

    def __init__(self, c_in: int, c_out: int, kernel_size: int = 3):
        if kernel_size % 2 != 1:
            raise ValueError(f"an R4-symmetric 'same' convolution needs an odd kernel size, got {kernel_size}")
        super().__init__(c_in, c_out, kernel_size, padding=kernel_size // 2)

    def symmetric_weight(self) -> Tensor:
        """``(C_out, C_in, k, k)``: the kernels averaged over their quarter turns."""
        return sum((torch.rot90(self.weight, k, dims=(-2, -1)) for k in range(4)), torch.zeros_like(self.weight)) / 4

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.symmetric_weight(), self.bias, padding=self.padding)


class SmallCNN(nn.Module):
    """A small CNN for 28 x 28 images: three blocks ``conv 3x3 -> activation`` (a 2x2 max-pool after the first
    two: 28 -> 14 -> 7), global average pooling, a linear classifier. Every step commutes with quarter turns of
    the maps ('same' padding, even sizes before each pool), so with ``symmetric=True`` (``R4SymmetricConv2d``
    kernels) each block is exactly R4-equivariant channel by channel and the network exactly R4-invariant.

    Args:
        channels: the three blocks' widths.
        classes: outputs.
        activation: a key of ``ACTIVATIONS``.
        symmetric: tie every kernel over the quarter turns.
    Shapes:
        ``(B, 28, 28)`` or ``(B, 1, 28, 28)`` -> ``(B, classes)``.
    """

    def __init__(self, channels: Sequence[int] = (8, 16, 32), classes: int = 10, activation: str = "swish",
                 symmetric: bool = False):
        super().__init__()
        if len(channels) != 3 or min(channels) < 1:
            raise ValueError(f"SmallCNN has three blocks: channels must be three widths >= 1, got {channels}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {activation!r}; valid: {sorted(ACTIVATIONS)}")
        conv = R4SymmetricConv2d if symmetric else (lambda a, b: nn.Conv2d(a, b, 3, padding=1))
        blocks, c_in = [], 1
        for i, c in enumerate(channels):
            blocks.append(nn.Sequential(conv(c_in, c), ACTIVATIONS[activation](),
                                        *([nn.MaxPool2d(2)] if i < 2 else [])))
            c_in = c
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.Flatten()
        self.head = nn.Linear(c_in, classes)

    def forward(self, x: Tensor) -> Tensor:
        if x.ndim == 3:
            x = x.unsqueeze(1)  # (B, 1, H, W)
        return self.head(self.pool(F.adaptive_avg_pool2d(self.blocks(x), 1)))  # (B, classes)

    def layers(self) -> dict[str, nn.Module]:
        """The modules whose outputs are the network's layers, in depth order (chapter 3's convention)."""
        return {**{f"block{i + 1}": b for i, b in enumerate(self.blocks)}, "pool": self.pool, "final": self.head}


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
