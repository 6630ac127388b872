"""The transformations chapter 3 measures (rotations, diagonal shifts), and the measure of eqs. 4 and 7
(``helpers.metrics.similarity``) over a chapter network's ``layers()``, averaged over the five depth parts (Early,
Middle, Late, Pool, Final: ``helpers.metrics.PARTS``); what it reports is named in ``settings.MEASURES``.
"""
from __future__ import annotations

from typing import Any, cast

import numpy as np
import torch
from torch import Tensor, nn

from ...metrics.similarity import PARTS as DEPTH_PARTS
from ...metrics.similarity import layer_in_equivariance
from .settings import MEASURES

__all__ = ["rotation", "diagonal_shift", "measure", "part_means"]


def rotation(k: int):
    """The rotation by ``k`` quarter turns as a measure transform: ``t(z, H_in) = rot90(z, k)``."""
    if k % 4 == 0:
        raise ValueError(f"rotation by {k} quarter turns is the identity")
    return lambda z, _H: torch.rot90(z, k, dims=(-2, -1))


def diagonal_shift(pixels: int, exact: bool = True):
    """A cyclic diagonal shift by ``pixels`` input pixels, rescaled to each layer's resolution.

    A layer of width ``w`` seeing inputs of width ``H_in`` is shifted by ``pixels * w / H_in``; with ``exact``
    this must be a whole number (choose shifts that are multiples of the network's total stride), otherwise
    it is rounded (for networks with unpadded convolutions, e.g. Inception-v3).
    """
    def t(z: Tensor, H: int) -> Tensor:
        s = pixels * z.shape[-1] / H
        if not exact:
            s = round(s)
        if s != int(s):
            raise ValueError(f"a shift of {pixels} px is {s} px at resolution {z.shape[-1]}; "
                             "use multiples of the stride")
        return torch.roll(z, (int(s), int(s)), dims=(-2, -1))  # (..., h, w)
    return t


def measure(model: nn.Module, x: Tensor, transforms: list, kind: str = "correlation") -> dict:
    """Eqs. 4 and 7 (``layer_in_equivariance``) over a chapter network's ``layers()`` on ``x (B, C, H, W)`` (on the
    model's device): its dict of per-layer ``(L,)`` arrays with the per-part means ``{measure}_parts (5,)`` added."""
    r = layer_in_equivariance(model, cast(Any, model).layers(), x, transforms, kind)
    return {**r, **part_means(r)}


def part_means(r: dict) -> dict:
    """``{"invariance_parts", "equivariance_parts", "equivariance_shared_parts"}``, each ``(5,)``: means over
    the layers of each depth part (``metrics.PARTS`` order) of a ``layer_in_equivariance`` result."""
    idx = {n: i for i, n in enumerate(r["layers"])}
    return {f"{key}_parts": np.array([np.mean([r[key][idx[n]] for n in r["parts"][p]]) for p in DEPTH_PARTS])
            for key in MEASURES}
