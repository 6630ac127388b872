"""Modules shared by chapters. Chapter-specific layers live with their chapter until a second one needs them."""
from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn

from .groups import CyclicGroup

__all__ = ["ACTIVATIONS", "MLP", "GroupPooledMLP", "count_parameters"]

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


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
