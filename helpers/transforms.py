"""Affine warps of images by 3x3 matrices in normalized coordinates (``affine_grid`` convention).

A matrix ``T`` (homogeneous, ``(3, 3)``) acts on the normalized coordinates ``p = (x, y, 1)`` of
the *output* image, ``x`` left to right and ``y`` top to bottom, both in ``[-1, 1]`` with
``align_corners=False`` (pixel centres at ``(2j + 1) / W - 1``). The warp samples the input there:

    out(p) = images(T p)                      (torch.nn.functional.affine_grid / grid_sample)

so ``T`` is the *sampling* (output-to-input) map, the convention of ``affine_grid``.

Sign convention of rotations: ``rotate(images, theta)`` uses ``T = R(theta) = [[cos, -sin],
[sin, cos]]``, which is ``exp(theta * G_rot)`` with the rotation generator of
``helpers.groups.affine_generators``. ``theta = pi / 2`` reproduces
``torch.rot90(images, 1, dims=(-2, -1))`` exactly (a counter-clockwise quarter turn as displayed)
for square images.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["affine_warp", "rotation_matrices", "rotate", "blur"]

_MODES = ("bilinear", "nearest", "bicubic")


def affine_warp(images: Tensor, matrices: Tensor, mode: str = "bilinear") -> Tensor:
    """Warp images by affine matrices in normalized coordinates: ``out(p) = images(T p)``, zeros outside.

    Args:
        images: ``(B, H, W)`` or ``(B, C, H, W)``, floating point.
        matrices: ``(B, 3, 3)`` (one per image) or ``(3, 3)`` (the same for all); only the top two
            rows are used (the last row of an affine matrix is ``(0, 0, 1)``).
        mode: ``grid_sample`` interpolation, one of ``bilinear``, ``nearest``, ``bicubic``.

    Returns:
        The warped images, the same shape as ``images``.

    Raises:
        ValueError: on a bad shape, dtype or mode (the message names it).
    """
    if mode not in _MODES:
        raise ValueError(f"mode {mode!r} is not one of {_MODES}")
    if images.ndim not in (3, 4):
        raise ValueError(f"images must be (B, H, W) or (B, C, H, W), got shape {tuple(images.shape)}")
    if not images.is_floating_point():
        raise ValueError(f"images must be floating point, got dtype {images.dtype}")
    B = images.shape[0]
    if matrices.shape == (3, 3):
        matrices = matrices.expand(B, 3, 3)  # (B, 3, 3)
    if matrices.ndim != 3 or matrices.shape[1:] != (3, 3) or matrices.shape[0] != B:
        raise ValueError(f"matrices must be (3, 3) or ({B}, 3, 3) for {B} images, "
                         f"got shape {tuple(matrices.shape)}")
    x = images.unsqueeze(1) if images.ndim == 3 else images  # (B, C, H, W)
    theta = matrices[:, :2, :].to(x)  # (B, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)  # (B, H, W, 2)
    out = F.grid_sample(x, grid, mode=mode, padding_mode="zeros", align_corners=False)  # (B, C, H, W)
    return out.squeeze(1) if images.ndim == 3 else out


def rotation_matrices(angles: Tensor) -> Tensor:
    """Homogeneous rotation matrices ``R(theta) = [[cos, -sin, 0], [sin, cos, 0], [0, 0, 1]]``.

    Args:
        angles: ``(B,)`` in radians.

    Returns:
        ``(B, 3, 3)``, differentiable in ``angles``; exact zeros/ones at multiples of ``pi / 2``
        (the values are snapped there, so a quarter turn samples exactly at pixel centres).
    """
    if angles.ndim != 1:
        raise ValueError(f"angles must be (B,), got shape {tuple(angles.shape)}")
    c, s = torch.cos(angles), torch.sin(angles)  # (B,), (B,)
    quarter = torch.isclose(angles / (math.pi / 2), torch.round(angles / (math.pi / 2)), atol=1e-7, rtol=0)
    # snap to the exact value without cutting the gradient (cos/sin stay differentiable in angles)
    c = torch.where(quarter, c + (torch.round(c) - c).detach(), c)  # (B,)
    s = torch.where(quarter, s + (torch.round(s) - s).detach(), s)  # (B,)
    R = torch.zeros(angles.shape[0], 3, 3, dtype=angles.dtype, device=angles.device)  # (B, 3, 3)
    R[:, 0, 0], R[:, 0, 1], R[:, 1, 0], R[:, 1, 1], R[:, 2, 2] = c, -s, s, c, 1.0
    return R


def rotate(images: Tensor, angles: Tensor | float, mode: str = "bilinear") -> Tensor:
    """Rotate images by ``angles`` (radians; ``pi / 2`` equals ``torch.rot90(x, 1, dims=(-2, -1))``).

    Args:
        images: ``(B, H, W)`` or ``(B, C, H, W)``, floating point.
        angles: ``(B,)`` radians, or a scalar tensor/float used for every image.
        mode: interpolation (see ``affine_warp``).

    Returns:
        The rotated images, the same shape as ``images``.
    """
    angles = torch.as_tensor(angles, dtype=images.dtype if images.is_floating_point() else None,
                             device=images.device)
    if angles.ndim == 0:
        angles = angles.expand(images.shape[0])  # (B,)
    if angles.shape != (images.shape[0],):
        raise ValueError(f"angles must be (B,) = ({images.shape[0]},), got shape {tuple(angles.shape)}")
    return affine_warp(images, rotation_matrices(angles), mode=mode)


def blur(images: Tensor, sigma: float) -> Tensor:
    """Gaussian smoothing with a kernel of ``2 * ceil(3 sigma) + 1`` taps (torchvision's ``gaussian_blur``,
    reflect padding); ``sigma <= 0`` returns the images unchanged.

    Args:
        images: ``(B, H, W)`` or ``(B, C, H, W)``, floating point.
        sigma: the standard deviation in pixels.
    Returns:
        The smoothed images, the same shape.
    """
    from torchvision.transforms.v2.functional import gaussian_blur

    if sigma <= 0:
        return images
    if images.ndim not in (3, 4):
        raise ValueError(f"images must be (B, H, W) or (B, C, H, W), got shape {tuple(images.shape)}")
    k = 2 * math.ceil(3 * sigma) + 1
    x = images if images.ndim == 4 else images[:, None]  # (B, C, H, W)
    out = gaussian_blur(x, [k, k], [sigma, sigma])
    return out if images.ndim == 4 else out[:, 0]
