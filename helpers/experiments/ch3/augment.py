"""Chapter 3's training augmentations (Sec. 4.4, Fig. 6a): random crop, horizontal flip, RandAugment (as batch
transforms ``augment(x, generator)``) and CutMix (inside the loss)."""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .settings import AUGMENTATIONS

__all__ = ["augmenter", "random_crop", "randaugment_batch", "CutMixLoss"]


def random_crop(x: Tensor, gen: torch.Generator, pad: int = 4) -> Tensor:
    """A random crop of each zero-padded image (per sample, by index arithmetic): ``(B, C, H, W)`` -> same."""
    B, C, H, W = x.shape
    xp = F.pad(x, (pad, pad, pad, pad))  # (B, C, H+2p, W+2p)
    dy, dx = (torch.randint(2 * pad + 1, (B,), generator=gen).to(x.device) for _ in range(2))  # (B,)
    rows = (dy[:, None] + torch.arange(H, device=x.device))[:, None, :, None].expand(B, C, H, W + 2 * pad)
    xp = xp.gather(2, rows)  # (B, C, H, W+2p)
    cols = (dx[:, None] + torch.arange(W, device=x.device))[:, None, None, :].expand(B, C, H, W)
    return xp.gather(3, cols)  # (B, C, H, W)


def _flip(x: Tensor, gen: torch.Generator) -> Tensor:
    """Each image flipped left-right with probability 1/2: ``(B, C, H, W)`` -> same."""
    m = (torch.rand(len(x), generator=gen) < 0.5).to(x.device)[:, None, None, None]  # (B, 1, 1, 1)
    return torch.where(m, x.flip(-1), x)


def augmenter(name: str):
    """The batch augmentation ``augment(x, generator)`` of one training variant (None for baseline / CutMix,
    whose mixing lives in the loss)."""
    if name not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {name!r}; valid: {list(AUGMENTATIONS)}")
    return {"random crop": random_crop, "horizontal flip": _flip, "RandAugment": randaugment_batch}.get(name)


def randaugment_batch(x: Tensor, gen: torch.Generator, num_ops: int = 2, magnitude: int = 9, bins: int = 31,
                      draws: list | None = None) -> Tensor:
    """torchvision's ``v2.RandAugment(num_ops, magnitude, bins)`` with its own draw for every image, batched:
    ``x (B, C, H, W)`` in [0, 1] (quantised to uint8 as torchvision's tensor RandAugment needs) -> the same, with the
    CPU generator ``gen`` drawing.

    Each image draws ``num_ops`` operations uniformly from torchvision's RandAugment space (14, Identity
    included) and, for signed ones, a sign, as ``v2.RandAugment`` does per call; the images that drew the
    same (operation, sign) go through torchvision's operation together, one call per group instead of one
    per image (operations with per-image statistics, e.g. Equalize, Contrast, still use each image's own).
    The operation table and dispatch are torchvision's own (``RandAugment._AUGMENTATION_SPACE`` and
    ``_apply_image_or_video_transform``, internal names; the chapter's test checks them image by image, reading
    each round's ``(operation index (B,), negated (B,))`` appended to ``draws``).
    """
    from torchvision.transforms import v2
    ra = v2.RandAugment(num_ops, magnitude, bins)
    space = ra._AUGMENTATION_SPACE  # {name: (magnitudes(bins, H, W) or None, signed)}
    names = list(space)
    B, _, H, W = x.shape
    mags = [fn(bins, H, W) for fn, _ in space.values()]
    level = [float(m[magnitude]) if m is not None else 0.0 for m in mags]
    signed = torch.tensor([sg and m is not None for (_, sg), m in zip(space.values(), mags)])  # (14,)
    out = (x * 255).round().to(torch.uint8)
    for _ in range(num_ops):
        op = torch.randint(len(names), (B,), generator=gen)  # (B,) one operation per image
        neg = (torch.rand(B, generator=gen) <= 0.5) & signed[op]  # (B,) a negated magnitude
        if draws is not None:
            draws.append((op, neg))
        key = 2 * op + neg  # (B,) the (operation, sign) group of each image
        new = out.clone()
        for k in key.unique().tolist():
            o, idx = k // 2, (key == k).nonzero()[:, 0].to(x.device)
            new[idx] = ra._apply_image_or_video_transform(out[idx], names[o], -level[o] if k % 2 else level[o],
                                                          interpolation=ra.interpolation, fill=ra._fill)
        out = new
    return out.float() / 255


class CutMixLoss:
    """CutMix (Yun et al. 2019, alpha 1) inside the loss: paste a random box from a shuffled batch, mix the labels by
    area.

    ``loss(forward, x (B, C, H, W), y (B,)) -> scalar``, with its own seeded draws; ``state_dict`` /
    ``load_state_dict`` carry them, so that ``fit``'s checkpoints resume the same boxes.
    """

    def __init__(self, seed: int):
        self.gen = torch.Generator().manual_seed(seed)
        self.rng = np.random.default_rng(seed)

    def __call__(self, forward, x: Tensor, y: Tensor) -> Tensor:
        B, _, H, W = x.shape
        lam = float(self.rng.beta(1.0, 1.0))
        perm = torch.randperm(B, generator=self.gen).to(x.device)
        h, w = int(H * math.sqrt(1 - lam)), int(W * math.sqrt(1 - lam))
        cy, cx = (int(v) for v in torch.randint(H, (2,), generator=self.gen))
        y0, y1, x0, x1 = max(cy - h // 2, 0), min(cy + h // 2, H), max(cx - w // 2, 0), min(cx + w // 2, W)
        xm = x.clone()
        xm[:, :, y0:y1, x0:x1] = x[perm, :, y0:y1, x0:x1]
        lam = 1 - (y1 - y0) * (x1 - x0) / (H * W)
        z = forward(xm)  # (B, classes)
        return lam * F.cross_entropy(z, y) + (1 - lam) * F.cross_entropy(z, y[perm])

    def state_dict(self) -> dict:
        return {"gen": self.gen.get_state(), "rng": self.rng.bit_generator.state}

    def load_state_dict(self, state: dict) -> None:
        self.gen.set_state(state["gen"])
        self.rng.bit_generator.state = state["rng"]
