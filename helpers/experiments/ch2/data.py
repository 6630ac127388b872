"""Chapter 2's data: the transformed datasets of Appendix D (real MNIST / CIFAR-10) and Fig. 1's toy problem."""
from __future__ import annotations

import math

import torch
from torch import Tensor

from ... import data
from ...transforms import affine_warp, rotation_matrices

__all__ = ["VARIANTS", "transform_variant", "transformed_dataset", "toy_data", "as_uint8"]

#: Appendix D: the transformed datasets.
VARIANTS = ("regular", "partial", "full", "translated", "scaled")


def _variant_matrices(variant: str, n: int, size: int, generator: torch.Generator) -> Tensor | None:
    u = torch.rand(n, 2, generator=generator)  # (B, 2)
    if variant == "regular":
        return None
    if variant in ("partial", "full"):
        half = math.pi / 2 if variant == "partial" else math.pi
        return rotation_matrices((2 * u[:, 0] - 1) * half)  # (B, 3, 3), theta ~ U[-half, half]
    T = torch.eye(3).repeat(n, 1, 1)  # (B, 3, 3)
    if variant == "translated":  # dx, dy ~ U[-8, 8] pixels; a pixel is 2 / size in normalized units
        T[:, :2, 2] = -(2 * u - 1) * 8 * 2 / size
    elif variant == "scaled":  # content scaled by exp(s), s ~ U[-log 2, log 2]: sample at exp(-s) p
        s = (2 * u[:, 0] - 1) * math.log(2)
        T[:, 0, 0] = T[:, 1, 1] = torch.exp(-s)
    return T


def transform_variant(images: Tensor, variant: str, generator: torch.Generator) -> Tensor:
    """Apply one random transformation of Appendix D per image (bilinear, zeros outside).

    Args:
        images: ``(B, C, H, W)`` float in [0, 1].
        variant: one of ``VARIANTS``: regular, partial (theta ~ U[-pi/2, pi/2]), full
            (theta ~ U[-pi, pi]), translated (dx, dy ~ U[-8, 8] px), scaled (exp(s),
            s ~ U[-log 2, log 2]).
        generator: the random draws (a fixed seed builds the dataset once).

    Returns:
        ``(B, C, H, W)``.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown dataset variant {variant!r}; valid: {list(VARIANTS)}")
    T = _variant_matrices(variant, images.shape[0], images.shape[-1], generator)
    return images if T is None else affine_warp(images, T).clamp(0, 1)


def transformed_dataset(name: str, variant: str, n_train: int, n_test: int, seed: int = 0,
                        standardise: bool = False) -> dict:
    """A transformed dataset of Appendix D on a seeded subset of real MNIST or CIFAR-10 (``helpers.data.subset``).

    The same images (the subset chosen by ``seed``) are used for every variant; the transforms are
    drawn from ``torch.Generator`` seeded by ``seed`` (train) and ``seed + 1`` (test).

    Args:
        standardise: after the transforms, subtract each channel's mean and divide by its std, both of the
            transformed training images, from train and test alike (chapter 2 does so for CIFAR-10).

    Returns:
        ``{"train": (x (B, C, H, W), y (B,)), "test": (...), "n_train": int, "n_test": int}``;
        sizes are capped by what exists (the offline CIFAR-10 subset has 8,068 / 1,017 images).
    """
    out: dict = {}
    for split, n, offset in (("train", n_train, 0), ("test", n_test, 1)):
        x, y = data.subset(name, n, seed, train=split == "train")
        x = x.unsqueeze(1) if x.ndim == 3 else x  # (B, C, H, W)
        gen = torch.Generator().manual_seed(seed + offset)
        out[split] = (transform_variant(x, variant, gen), y)
        out[f"n_{split}"] = len(x)
    if standardise:
        x = out["train"][0]
        mean, std = x.mean((0, 2, 3), keepdim=True), x.std((0, 2, 3), keepdim=True)  # (1, C, 1, 1)
        for split in ("train", "test"):
            out[split] = ((out[split][0] - mean) / std, out[split][1])
    return out


def as_uint8(images: Tensor) -> Tensor:
    """Images in [0, 1] as uint8 (what a part stores for the page to show)."""
    return (255 * images).round().to(torch.uint8)


def toy_data(n: int, seed: int, full: bool = False) -> tuple[Tensor, Tensor]:
    """Fig. 1: two classes on rings of radius 1 and 2 (noise 0.1), angles in +-30 degrees (``full``: all angles).

    Returns:
        ``(x (n, 2), y (n,))``.
    """
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    spread = math.pi if full else math.pi / 6
    angle = (2 * torch.rand(n, generator=g) - 1) * spread
    r = 1.0 + y.float() + 0.1 * torch.randn(n, generator=g)
    return torch.stack([r * torch.cos(angle), r * torch.sin(angle)], -1), y
