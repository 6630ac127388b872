"""Chapter 4's modules: the exactly O(5)-invariant model, the Swish MLPs, and widths for a parameter budget."""
from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor, nn

from ...models import MLP

__all__ = ["O5Invariant", "swish_mlp", "hidden_for_params", "sub_network"]


class O5Invariant(nn.Module):
    """An exactly O(5)-invariant model: a Swish MLP on the invariants ``|x1|^2, |x2|^2, x1.x2``; ``(B, 10) -> (B, 1)``.
    """

    def __init__(self, hidden: int = 32):
        super().__init__()
        self.net = MLP(3, [hidden, hidden], 1, activation="swish")

    def forward(self, x: Tensor) -> Tensor:
        x1, x2 = x[:, :5], x[:, 5:]  # (B, 5) each
        inv = torch.stack([(x1 * x1).sum(1), (x2 * x2).sum(1), (x1 * x2).sum(1)], dim=1)  # (B, 3)
        return self.net(inv)  # (B, 1)


def swish_mlp(in_dim: int, hidden: Sequence[int], out_dim: int = 10) -> MLP:
    """The chapter's perceptron: ``Flatten -> (Linear -> Swish) x len(hidden) -> Linear``; ``(B, ...) -> (B, out)``."""
    return MLP(in_dim, list(hidden), out_dim, activation="swish")


def hidden_for_params(params: int, depth: int, in_dim: int = 784, out_dim: int = 10) -> int:
    """Width h of ``(in x h) -> depth * (h x h) -> (h x out)`` (with biases) closest to ``params`` (A.3.4);
    ``ValueError`` for ``depth < 1``."""
    if depth < 1:
        raise ValueError(f"depth must be >= 1, got {depth}")
    a, b, c = depth, in_dim + 1 + depth + out_dim, out_dim - params  # a h^2 + b h + c = 0
    return max(1, round((-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)))


def sub_network(model: nn.Sequential, layer: int) -> nn.Sequential:
    """The first ``layer`` Linear layers of an ``MLP`` (1-based), each followed by its activation (the output
    layer has none): the features LieGG measures layer by layer (Sec. 5.4). Shares the modules of ``model``;
    ``ValueError`` for a ``layer`` outside ``1..(number of Linear layers)``."""
    linear = [i for i, m in enumerate(model) if isinstance(m, nn.Linear)]
    if not 1 <= layer <= len(linear):
        raise ValueError(f"layer must be in 1..{len(linear)}, got {layer}")
    return nn.Sequential(*list(model)[: linear[layer - 1] + (2 if layer < len(linear) else 1)])
