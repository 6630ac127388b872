"""Data augmentation for ``helpers.training`` (its ``Augment``: ``augment(x, generator) -> x``): one random
transformation per sample of a batch, drawn from the training generator so that a seed fixes it.

- ``group_action(group)``: a random element of a finite group (ch1's DA over R4 or cyclic shifts; ch5's DA-R4).
- ``random_rotation``: a rotation by an angle uniform in [0, 2 pi) (ch4's rotation MNIST / CIFAR-10, A.3.3; ch5's
  DA-SO2), bilinear with zeros outside the image (``helpers.transforms.rotate``).
"""
from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor

from .groups import CyclicGroup
from .transforms import rotate

__all__ = ["act_each", "group_action", "random_rotation"]


def act_each(x: Tensor, g: Tensor, group: CyclicGroup) -> Tensor:
    """Apply element ``g[b]`` to ``x[b]``: ``(B, ..., H, W), (B,) -> (B, ..., H, W)``, via the orbit (no loop over B)."""
    if len(g) != len(x):
        raise ValueError(f"one group element per sample: {len(x)} samples, {len(g)} elements")
    orbit = group.orbit(x)  # (G, B, ..., H, W)
    return orbit[g.to(x.device), torch.arange(len(x), device=x.device)]  # (B, ..., H, W)


def group_action(group: CyclicGroup) -> Callable[[Tensor, torch.Generator], Tensor]:
    """Augmentation by a uniformly random element of ``group`` per sample.

    Returns:
        ``augment(x (B, ..., H, W), generator) -> (B, ..., H, W)``.
    """
    def augment(x: Tensor, gen: torch.Generator) -> Tensor:
        g = torch.randint(group.order, (len(x),), generator=gen)  # (B,)
        return act_each(x, g, group)
    return augment


def random_rotation(x: Tensor, gen: torch.Generator) -> Tensor:
    """Each image of a batch rotated by its own angle, uniform in [0, 2 pi): ``(B, C, H, W) -> (B, C, H, W)``."""
    return rotate(x, (torch.rand(len(x), generator=gen) * 2 * math.pi).to(x.device))
