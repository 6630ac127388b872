"""Input checks shared by the measures: a metric fed an empty batch or non-finite values raises a ``ValueError``
that names the argument and what is wrong, instead of returning a number."""
from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["check_batch"]


def check_batch(name: str, x: Tensor, min_batch: int = 1) -> None:
    """``x`` holds at least ``min_batch`` samples along dim 0 and only finite values.

    Raises:
        ValueError: naming ``name``, its shape, and how many values are NaN or infinite.
    """
    if x.ndim == 0 or len(x) < min_batch:
        raise ValueError(f"{name} must hold at least {min_batch} sample(s), got shape {tuple(x.shape)}")
    if x.is_floating_point() or x.is_complex():
        bad = int((~torch.isfinite(x)).sum())
        if bad:
            raise ValueError(f"{name} of shape {tuple(x.shape)} holds {bad} NaN or infinite value(s); a measure of "
                             "such input would be a number without meaning")

