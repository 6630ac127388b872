"""Modules shared by chapters. Chapter-specific layers live with their chapter until a second one needs them."""
from __future__ import annotations

from typing import Sequence

from torch import Tensor, nn

__all__ = ["ACTIVATIONS", "MLP", "count_parameters"]

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


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
