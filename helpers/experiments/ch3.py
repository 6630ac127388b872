"""Chapter 3 (Bruintjes, Motyka & van Gemert 2023): learned in- and equivariance across depth.

Runners: ``run_similarity_demo`` (Fig. 2a), ``run_toy`` (Fig. 3), ``run_mnist6`` (Fig. 5),
``run_augmentations`` (Fig. 6a, and Fig. 2b on its baseline model), ``run_widths`` (Fig. 6b) and
``run_pretrained`` (Figs. 4/7, skipped without pretrained weights and images). The measure itself
lives in ``helpers.metrics.similarity``; the models are chapter-only and live here.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import data
from ..metrics.similarity import PARTS, feature_similarity, layer_in_equivariance
from ..training import FitConfig, accuracy, fit, predict

__all__ = ["Settings", "SETTINGS", "AUGMENTATIONS", "MNIST6_DIGITS", "MNIST6_TASKS", "rotation", "diagonal_shift",
           "gaussian_kernel", "ToyCNN", "toy_cnns", "ConvNet7", "CifarResNet", "measure", "part_means",
           "mnist6", "cifar10", "augmenter", "randaugment_batch", "cutmix_loss", "run_similarity_demo", "run_toy",
           "run_mnist6",
           "run_augmentations", "run_widths", "run_pretrained", "plot_parts", "plot_layers", "plot_part_bars",
           "claim_values", "record_claim_values", "merge_part_records", "record_frames", "record_numbers",
           "plot_mnist6", "plot_translation", "MEASURES",
           "PRETRAINED", "IMAGENETTE", "pretrained_layers", "is_token_model", "load_images", "imagenette_val",
           "measure_pretrained", "plot_pretrained"]

MNIST6_DIGITS = (2, 3, 4, 5, 7, 9)  # MNIST without {0, 1, 6, 8}, whose rotations look like digits (Sec. 4.3)
MNIST6_TASKS = ("MNIST6", "MNIST6-Rot-Inv", "MNIST6-Rot-Eq")
AUGMENTATIONS = ("baseline", "random crop", "horizontal flip", "CutMix", "RandAugment")
#: What ``measure`` reports per layer and part: invariance, equivariance with the best channel per image and
#: with one channel shared by all images (``metrics.similarity``), with their plot labels.
MEASURES = {"invariance": "invariance", "equivariance": "equivariance (c' per image)",
            "equivariance_shared": "equivariance (shared c')"}
CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


@dataclass(frozen=True)
class Settings:
    """One profile of the chapter.

    Attributes:
        seeds: training seeds of every model (paper: 3).
        mnist6_train, mnist6_val: MNIST6 split sizes (validation images are also the evaluation set).
        mnist6_fit: optimiser of the 7-layer CNN (paper: Adam 0.01, batch 128, L2 5e-4, 100 epochs, /10 at 25, 50).
        cifar_train, cifar_val: CIFAR-10 images used (capped by what exists offline). Standard trains on
            8,068 (the size of the offline subset) also where the full set downloads, so its CIFAR training
            is the same size online and offline (all 50,000 would be 6.2 times the steps); paper uses all.
        resnet_blocks: residual blocks per stage of the augmentation ResNet (7 -> ResNet-44).
        wrn_blocks: blocks per stage of the wide ResNets (6 -> WRN-40); widths: its width factors.
        cifar_fit: optimiser (paper: SGD 0.1, momentum 0.9, L2 1e-4, batch 128, 200 epochs, /10 at 100, 150).
        augmentations, widths: which variants are trained.
        n_eval: evaluation images for the measure (paper: 2000).
        shifts: diagonal shifts in pixels (paper: 1..16; whole pixels at every layer, see ``diagonal_shift``).
        cifar_seeds: seeds of the CIFAR models when they differ from ``seeds`` (standard: one, for time).
        n_pretrained: images for the pretrained ImageNet models, Figs. 4 and 7 (paper: 2000).
    """

    seeds: tuple[int, ...]
    mnist6_train: int
    mnist6_val: int
    mnist6_fit: FitConfig
    cifar_train: int
    cifar_val: int
    resnet_blocks: int
    wrn_blocks: int
    cifar_fit: FitConfig
    augmentations: tuple[str, ...] = AUGMENTATIONS
    widths: tuple[int, ...] = (1, 2, 4, 8)
    n_eval: int = 2000
    shifts: tuple[int, ...] = (4, 8, 12, 16)
    cifar_seeds: tuple[int, ...] | None = None
    n_pretrained: int = 2000

    @property
    def cifar_seed_list(self) -> tuple[int, ...]:
        """Seeds of the CIFAR models (``cifar_seeds``, default ``seeds``)."""
        return self.cifar_seeds if self.cifar_seeds is not None else self.seeds


def _adam(epochs: int, milestones: tuple[int, ...]) -> FitConfig:
    return FitConfig(epochs=epochs, batch_size=128, lr=0.01, weight_decay=5e-4, schedule="step",
                     milestones=milestones, gamma=0.1, eval_batch_size=1000)


def _sgd(epochs: int, milestones: tuple[int, ...]) -> FitConfig:
    return FitConfig(epochs=epochs, batch_size=128, lr=0.1, optimizer="sgd", momentum=0.9, weight_decay=1e-4,
                     schedule="step", milestones=milestones, gamma=0.1, eval_batch_size=1000)


SETTINGS = {
    "quick": Settings(seeds=(0,), mnist6_train=800, mnist6_val=300, mnist6_fit=replace(_adam(3, (2,)), batch_size=32),
                      cifar_train=800, cifar_val=300, resnet_blocks=1, wrn_blocks=1,
                      cifar_fit=replace(_sgd(3, (2,)), batch_size=32), augmentations=("baseline", "random crop",
                      "RandAugment"), widths=(1, 2), n_eval=150, n_pretrained=100),
    "standard": Settings(seeds=(0, 1, 2), mnist6_train=20_000, mnist6_val=2000, mnist6_fit=_adam(15, (8, 12)),
                         cifar_train=8068, cifar_val=2000, resnet_blocks=7, wrn_blocks=6,
                         cifar_fit=_sgd(15, (8, 12)), n_eval=1000, cifar_seeds=(0,), n_pretrained=500),
    "paper": Settings(seeds=(0, 1, 2), mnist6_train=50_000, mnist6_val=2000, mnist6_fit=_adam(100, (25, 50)),
                      cifar_train=50_000, cifar_val=2000, resnet_blocks=7, wrn_blocks=6,
                      cifar_fit=_sgd(200, (100, 150))),
}


# --------------------------------------------------------------------------- transformations
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
            raise ValueError(f"a shift of {pixels} px is {s} px at resolution {z.shape[-1]}; use multiples of the stride")
        return torch.roll(z, (int(s), int(s)), dims=(-2, -1))
    return t


# --------------------------------------------------------------------------- models
def gaussian_kernel(size: int = 5, sigma: float = 1.0) -> Tensor:
    """An isotropic 2-D Gaussian ``(size, size)``, unit sum: invariant under rot90."""
    t = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(t[:, None] ** 2 + t[None] ** 2) / (2 * sigma**2))
    return (g / g.sum()).float()


class ToyCNN(nn.Module):
    """Fig. 3: a 3-layer CNN with hand-crafted filters, C channels, ReLU between layers.

    Layer 1 maps the image to C channels with filters ``K_c``; layers 2-3 are depthwise (channel c keeps
    its filter ``K_c``), then global average pooling and a fixed linear read-out.

    Shapes: ``(B, 1, H, W) -> (B, 2)``.
    """

    def __init__(self, kernels: Tensor):
        super().__init__()
        C, k = kernels.shape[0], kernels.shape[-1]
        self.conv1 = nn.Conv2d(1, C, k, padding=k // 2, bias=False)
        self.conv2 = nn.Conv2d(C, C, k, padding=k // 2, groups=C, bias=False)
        self.conv3 = nn.Conv2d(C, C, k, padding=k // 2, groups=C, bias=False)
        for conv in (self.conv1, self.conv2, self.conv3):
            conv.weight.data.copy_(kernels[:, None])  # (C, 1, k, k)
        self.pool = nn.Flatten()
        self.head = nn.Linear(C, 2)
        nn.init.constant_(self.head.weight, 1.0 / C)
        nn.init.zeros_(self.head.bias)
        self.act1, self.act2, self.act3 = nn.ReLU(), nn.ReLU(), nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        h = self.act3(self.conv3(self.act2(self.conv2(self.act1(self.conv1(x))))))  # (B, C, H, W)
        return self.head(self.pool(F.adaptive_avg_pool2d(h, 1)))  # (B, 2)

    def layers(self) -> dict[str, nn.Module]:
        return {"conv1": self.act1, "conv2": self.act2, "conv3": self.act3, "pool": self.pool, "final": self.head}


def toy_cnns(size: int = 5, seed: int = 0) -> dict[str, ToyCNN]:
    """The three toy CNNs: ``invariant`` (isotropic Gaussians of 4 widths), ``equivariant`` (one Gaussian with a
    corner cut, in its 4 rotations: rotating the input permutes the channels) and ``random`` (the control)."""
    inv = torch.stack([gaussian_kernel(size, s) for s in (0.6, 0.9, 1.3, 2.0)])  # (4, k, k)
    cut = gaussian_kernel(size, 1.3).clone()
    cut[: size // 2 + 1, : size // 2 + 1] = 0  # cut the top-left corner: no longer rotation symmetric
    eqv = torch.stack([torch.rot90(cut, k) for k in range(4)])  # (4, k, k): rotations of one another
    gen = torch.Generator().manual_seed(seed)
    rnd = torch.randn(4, size, size, generator=gen) / size
    return {"invariant": ToyCNN(inv), "equivariant": ToyCNN(eqv), "random": ToyCNN(rnd)}


class ConvNet7(nn.Module):
    """The 7-layer CNN of Cohen & Welling (Z2CNN): 3x3 convs with 20 channels, BN, ReLU, max-pool after
    layer 2, then global average pooling and a linear classifier ('same' padding keeps rot90 exact).

    Shapes: ``(B, 1, 28, 28) -> (B, classes)``.
    """

    def __init__(self, classes: int, channels: int = 20):
        super().__init__()
        blocks, c_in = [], 1
        for i in range(7):
            block = [nn.Conv2d(c_in, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU()]
            if i == 1:
                block.append(nn.MaxPool2d(2))
            blocks.append(nn.Sequential(*block))
            c_in = channels
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.Flatten()
        self.head = nn.Linear(channels, classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.pool(F.adaptive_avg_pool2d(self.blocks(x), 1)))

    def layers(self) -> dict[str, nn.Module]:
        return {**{f"layer{i + 1}": b for i, b in enumerate(self.blocks)}, "pool": self.pool, "final": self.head}


class _Block(nn.Module):
    """A basic residual block (two 3x3 convs with BN) with a 1x1 projection when the shape changes."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.short = nn.Sequential() if stride == 1 and c_in == c_out else nn.Sequential(
            nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))
        self.act = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        h = F.relu(self.bn1(self.conv1(x)))
        return self.act(self.bn2(self.conv2(h)) + self.short(x))


class CifarResNet(nn.Module):
    """ResNet for CIFAR (He et al. 2016, Sec. 4.2): 3 stages of ``n`` blocks, widths 16k/32k/64k, GAP, linear.

    ``n = 7, k = 1`` is ResNet-44; ``n = 6`` with width factor k is our WRN-40-k (basic post-activation
    blocks, no dropout). Inputs in [0, 1] are standardised inside the model.

    Shapes: ``(B, 3, 32, 32) -> (B, 10)``.
    """

    def __init__(self, n: int = 7, k: int = 1, classes: int = 10):
        super().__init__()
        if n < 1 or k < 1:
            raise ValueError(f"blocks per stage and width factor must be >= 1, got n={n}, k={k}")
        self.register_buffer("mean", torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(CIFAR_STD).view(1, 3, 1, 1))
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        blocks, c_in = [], 16
        for stage, width in enumerate((16 * k, 32 * k, 64 * k)):
            for i in range(n):
                blocks.append(_Block(c_in, width, 2 if stage > 0 and i == 0 else 1))
                c_in = width
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.Flatten()
        self.head = nn.Linear(c_in, classes)

    def forward(self, x: Tensor) -> Tensor:
        h = self.blocks(self.stem((x - self.mean) / self.std))
        return self.head(self.pool(F.adaptive_avg_pool2d(h, 1)))

    def layers(self) -> dict[str, nn.Module]:
        return {"stem": self.stem, **{f"block{i + 1}": b for i, b in enumerate(self.blocks)},
                "pool": self.pool, "final": self.head}


# --------------------------------------------------------------------------- measuring
def measure(model: nn.Module, x: Tensor, transforms: list, kind: str = "correlation") -> dict:
    """``layer_in_equivariance`` over ``model.layers()`` plus the per-part means (``part_means``)."""
    r = layer_in_equivariance(model, model.layers(), x, transforms, kind)
    return {**r, **part_means(r)}


def part_means(r: dict) -> dict:
    """``{"invariance_parts", "equivariance_parts", "equivariance_shared_parts"}``, each ``(5,)``: means over
    the layers of each part (PARTS order)."""
    idx = {n: i for i, n in enumerate(r["layers"])}
    out = {}
    for key in MEASURES:
        if key not in r:  # records made before the shared matching was measured
            continue
        out[f"{key}_parts"] = np.array([np.mean([r[key][idx[n]] for n in r["parts"][p]]) for p in PARTS])
    return out


# --------------------------------------------------------------------------- data
def mnist6(task: str, n_train: int, n_val: int, seed: int = 0) -> dict:
    """MNIST6 (MNIST without 0, 1, 6, 8), MNIST6-Rot-Inv (each image rotated by a random multiple of 90°,
    label unchanged) or MNIST6-Rot-Eq (the same images, 24 classes: digit x rotation) (Sec. 4.3).

    Training images come from MNIST's training file, validation (= evaluation) images from its test file.

    Returns:
        ``{"train": (x (B, 1, 28, 28) standardised, y (B,)), "val": (...), "classes": int}``.
    """
    if task not in MNIST6_TASKS:
        raise ValueError(f"unknown MNIST6 task {task!r}; valid: {list(MNIST6_TASKS)}")
    out: dict = {"classes": 24 if task.endswith("Eq") else 6}
    gen = torch.Generator().manual_seed(seed)
    for split, n in (("train", n_train), ("val", n_val)):
        x, y = data.select_classes(*data.load("mnist", train=split == "train"), MNIST6_DIGITS)
        (idx,) = data.split_indices(len(x), (min(n, len(x)),), seed)
        x, y = data.to_unit(x[idx])[:, None], y[idx]  # (B, 1, 28, 28)
        if task != "MNIST6":
            r = torch.randint(4, (len(x),), generator=gen)  # (B,)
            x = torch.stack([torch.rot90(xi, int(k), dims=(-2, -1)) for xi, k in zip(x, r)])
            y = y * 4 + r if task.endswith("Eq") else y
        out[split] = ((x - 0.1307) / 0.3081, y)
    return out


def cifar10(n_train: int, n_val: int, seed: int = 0) -> dict:
    """CIFAR-10 as float images in [0, 1]: ``{"train": (x (B, 3, 32, 32), y), "val": (...), "n_train": int}``.

    Offline this is the real CIFAR-10 subset in ``HELPERS_DATA`` (8,068 / 1,017 images); sizes are capped.
    """
    out: dict = {}
    for split, n in (("train", n_train), ("val", n_val)):
        x, y = data.load("cifar10", train=split == "train")
        (idx,) = data.split_indices(len(x), (min(n, len(x)),), seed)
        out[split] = (data.to_unit(x[idx]), y[idx])
        out[f"n_{split}"] = len(idx)
    return out


# --------------------------------------------------------------------------- augmentations (Sec. 4.4)
def _random_crop(x: Tensor, gen: torch.Generator, pad: int = 4) -> Tensor:
    """A random 32x32 crop of each zero-padded image (per sample, by index arithmetic)."""
    B, C, H, W = x.shape
    xp = F.pad(x, (pad, pad, pad, pad))  # (B, C, H+2p, W+2p)
    dy, dx = (torch.randint(2 * pad + 1, (B,), generator=gen).to(x.device) for _ in range(2))  # (B,)
    rows = (dy[:, None] + torch.arange(H, device=x.device))[:, None, :, None].expand(B, C, H, W + 2 * pad)
    xp = xp.gather(2, rows)  # (B, C, H, W+2p)
    cols = (dx[:, None] + torch.arange(W, device=x.device))[:, None, None, :].expand(B, C, H, W)
    return xp.gather(3, cols)  # (B, C, H, W)


def augmenter(name: str):
    """The batch augmentation ``augment(x, generator)`` of one training variant (None for baseline / CutMix,
    whose mixing lives in the loss)."""
    if name not in AUGMENTATIONS:
        raise ValueError(f"unknown augmentation {name!r}; valid: {list(AUGMENTATIONS)}")
    if name == "random crop":
        return _random_crop
    if name == "horizontal flip":
        def flip(x: Tensor, gen: torch.Generator) -> Tensor:
            m = (torch.rand(len(x), generator=gen) < 0.5).to(x.device)[:, None, None, None]
            return torch.where(m, x.flip(-1), x)
        return flip
    if name == "RandAugment":
        return randaugment_batch
    return None


def randaugment_batch(x: Tensor, gen: torch.Generator, num_ops: int = 2, magnitude: int = 9, bins: int = 31,
                      draws: list | None = None) -> Tensor:
    """torchvision's ``v2.RandAugment(num_ops, magnitude, bins)`` with its own draw for every image, batched.

    Each image draws ``num_ops`` operations uniformly from torchvision's RandAugment space (14, Identity
    included) and, for signed ones, a sign, as ``v2.RandAugment`` does per call; the images that drew the
    same (operation, sign) go through torchvision's operation together, one call per group instead of one
    per image (operations with per-image statistics, e.g. Equalize, Contrast, still use each image's own).
    The operation table and dispatch are torchvision's own (``RandAugment._AUGMENTATION_SPACE`` and
    ``_apply_image_or_video_transform``, internal names; the chapter's test checks them image by image).

    Args:
        x: ``(B, C, H, W)`` images in [0, 1] (quantised to uint8 as torchvision's tensor RandAugment needs).
        gen: the CPU generator of the draws.
        draws: if a list, each round's ``(operation index (B,), negated (B,))`` is appended (for tests).
    Returns:
        ``(B, C, H, W)`` in [0, 1].
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


def cutmix_loss(seed: int, alpha: float = 1.0):
    """CutMix (Yun et al. 2019) inside the loss: paste a random box from a shuffled batch, mix the labels by area."""
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)

    def loss(forward, x: Tensor, y: Tensor) -> Tensor:
        B, _, H, W = x.shape
        lam = float(rng.beta(alpha, alpha)) if alpha > 0 else 1.0
        perm = torch.randperm(B, generator=gen).to(x.device)
        h, w = int(H * math.sqrt(1 - lam)), int(W * math.sqrt(1 - lam))
        cy, cx = (int(v) for v in torch.randint(H, (2,), generator=gen))
        y0, y1, x0, x1 = max(cy - h // 2, 0), min(cy + h // 2, H), max(cx - w // 2, 0), min(cx + w // 2, W)
        xm = x.clone()
        xm[:, :, y0:y1, x0:x1] = x[perm, :, y0:y1, x0:x1]
        lam = 1 - (y1 - y0) * (x1 - x0) / (H * W)
        z = forward(xm)
        return lam * F.cross_entropy(z, y) + (1 - lam) * F.cross_entropy(z, y[perm])
    return loss


# --------------------------------------------------------------------------- runners
def run_similarity_demo(seed: int = 0, size: int = 8, n: int = 1000) -> dict:
    """Fig. 2a: random maps and a noisy rotated copy, compared before and after adding 0.5 to both.

    Returns:
        ``{kind: {"plain": float, "shifted": float}}`` (means over ``n`` pairs) and one example pair.
    """
    gen = torch.Generator().manual_seed(seed)
    a = torch.rand(n, size, size, generator=gen)
    b = a + 0.5 * torch.randn(n, size, size, generator=gen)  # a noisy copy
    out = {k: {"plain": float(feature_similarity(a, b, k).mean()),
               "shifted": float(feature_similarity(a + 0.5, b + 0.5, k).mean())} for k in ("correlation", "cosine")}
    out["example"] = (a[0], b[0])
    return out


def run_toy(size: int = 28, n: int = 16, seed: int = 0) -> dict:
    """Fig. 3: rotation in/equivariance per layer of the three toy CNNs on real MNIST digits (90/180/270°)."""
    x, _ = data.load("mnist", train=False)
    x = data.to_unit(x[:n])[:, None]  # (n, 1, 28, 28)
    rots = [rotation(k) for k in (1, 2, 3)]
    return {name: measure(m, x, rots) for name, m in toy_cnns(seed=seed).items()}


def _train(model: nn.Module, ds: dict, cfg: FitConfig, seed: int, device, augment=None, loss_fn=None, desc=""):
    torch.manual_seed(seed)
    res = fit(model.to(device), ds["train"], ds["val"], cfg, augment=augment, loss_fn=loss_fn, seed=seed,
              device=device, desc=desc)
    x, y = (t.to(device) for t in ds["val"])
    return 100 * accuracy(predict(res.model, x, 1000), y)


def _train_and_measure(model: nn.Module, ds: dict, cfg: FitConfig, seed: int, device, xe: Tensor, transforms: list,
                       augment=None, loss_fn=None, desc="") -> tuple[float, dict]:
    """``(validation accuracy %, measure(...))`` of one trained model; the measure's dict also holds
    ``seconds = {"train": ..., "measure": ...}`` (both end on a host read, so GPU work is counted)."""
    t0 = time.perf_counter()
    acc = _train(model, ds, cfg, seed, device, augment, loss_fn, desc)
    t1 = time.perf_counter()
    run = measure(model, xe, transforms)
    run["seconds"] = {"train": t1 - t0, "measure": time.perf_counter() - t1}
    return acc, run


def run_mnist6(s: Settings, device, seed: int = 0) -> dict:
    """Fig. 5: the 7-layer CNN on MNIST6, -Rot-Inv and -Rot-Eq; rotation in/equivariance per layer and part.

    Returns:
        ``{task: {"acc": [per seed], "runs": [measure(...) per seed]}}``.
    """
    rots = [rotation(k) for k in (1, 2, 3)]
    out = {}
    for task in MNIST6_TASKS:
        ds = mnist6(task, s.mnist6_train, s.mnist6_val, seed)
        xe = ds["val"][0][: s.n_eval].to(device)
        accs, runs = [], []
        for sd in s.seeds:
            torch.manual_seed(sd)
            model = ConvNet7(ds["classes"])
            acc, run = _train_and_measure(model, ds, s.mnist6_fit, sd, device, xe, rots, desc=f"{task} seed {sd}")
            accs.append(acc)
            runs.append(run)
        out[task] = {"acc": accs, "runs": runs}
    return out


def _shifts(s: Settings) -> list:
    return [diagonal_shift(p) for p in s.shifts]


def run_augmentations(s: Settings, device, seed: int = 0) -> dict:
    """Fig. 6a: CIFAR ResNets trained with each augmentation; translation in/equivariance per part.
    Fig. 2b on the baseline: 90° rotation invariance per block with correlation and cosine, and how each
    correlates (Pearson, over layers) with the mean |activation|.

    Returns:
        ``{"n_train", aug: {"acc": [...], "runs": [...]}, "fig2b": {...}}``.
    """
    ds = cifar10(s.cifar_train, s.cifar_val, seed)
    xe = ds["val"][0][: s.n_eval].to(device)
    out: dict = {"n_train": ds["n_train"]}
    for aug in s.augmentations:
        accs, runs = [], []
        for sd in s.cifar_seed_list:
            torch.manual_seed(sd)
            model = CifarResNet(s.resnet_blocks)
            loss = cutmix_loss(sd) if aug == "CutMix" else None
            acc, run = _train_and_measure(model, ds, s.cifar_fit, sd, device, xe, _shifts(s), augmenter(aug), loss,
                                          desc=f"{aug} seed {sd}")
            accs.append(acc)
            runs.append(run)
            if aug == "baseline" and sd == s.cifar_seed_list[0]:
                out["fig2b"] = _fig2b(model, xe)
        out[aug] = {"acc": accs, "runs": runs}
    return out


def _fig2b(model: nn.Module, x: Tensor) -> dict:
    layers = {k: v for k, v in model.layers().items() if k.startswith(("stem", "block"))}
    res = {}
    for kind in ("correlation", "cosine"):
        r = layer_in_equivariance(model, {**layers, "pool": model.pool, "final": model.head}, x, [rotation(1)], kind)
        L = len(layers)
        res[kind] = r["invariance"][:L]
        res["magnitude"] = r["magnitude"][:L]
    for kind in ("correlation", "cosine"):
        res[f"rho_{kind}"] = float(np.corrcoef(res[kind], res["magnitude"])[0, 1])
    res["layers"] = list(layers)
    return res


def run_widths(s: Settings, device, seed: int = 0, reuse: dict | None = None) -> dict:
    """Fig. 6b: wide ResNets (width factor k) on CIFAR-10; translation in/equivariance per part.

    ``reuse``: the output of ``run_augmentations``; when WRN-k=1 is the augmentation ResNet (same depth, as in
    the quick profile), its baseline runs are reused instead of trained twice."""
    ds = cifar10(s.cifar_train, s.cifar_val, seed)
    xe = ds["val"][0][: s.n_eval].to(device)
    out: dict = {"n_train": ds["n_train"]}
    for k in s.widths:
        if k == 1 and s.wrn_blocks == s.resnet_blocks and reuse is not None and "baseline" in reuse:
            out[k] = reuse["baseline"]  # the same architecture, data, seeds and recipe: already trained
            continue
        accs, runs = [], []
        for sd in s.cifar_seed_list:
            torch.manual_seed(sd)
            model = CifarResNet(s.wrn_blocks, k)
            acc, run = _train_and_measure(model, ds, s.cifar_fit, sd, device, xe, _shifts(s), desc=f"WRN k={k} seed {sd}")
            accs.append(acc)
            runs.append(run)
        out[k] = {"acc": accs, "runs": runs}
    return out


#: ImageNet top-1 accuracies (%) of the checkpoints measured for Figs. 4 and 7, pinned by timm tag, as timm
#: reports them in its ``results/results-imagenet.csv`` (huggingface/pytorch-image-models, commit 0173a13; top-1 at
#: each model's own resolution). ImageNet-1k (or, for ViT / Mixer, the original ImageNet-21k-pretrained)
#: checkpoints, the closest to the models the paper names; the paper itself does not list accuracies.
PRETRAINED = {"tf_efficientnet_b6.aa_in1k": 84.116, "tf_efficientnet_b7.aa_in1k": 84.414,
              "resnext101_32x8d.tv_in1k": 79.310, "inception_v3.tv_in1k": 77.434,
              "vit_base_patch16_224.orig_in21k_ft_in1k": 81.786, "mixer_b16_224.goog_in21k_ft_in1k": 76.602}


def _online(host: str = "huggingface.co", timeout: float = 2.0) -> bool:
    """Whether ``host:443`` answers within ``timeout`` seconds (so the pretrained runner never hangs offline)."""
    import socket
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


class _Normalised(nn.Module):
    """A pretrained classifier behind its own input standardisation (inputs in [0, 1])."""

    def __init__(self, model: nn.Module, mean, std):
        super().__init__()
        self.model = model
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.model((x - self.mean) / self.std)


def load_images(image_dir: str, n: int, size: int = 224) -> Tensor:
    """``n`` images (jpg/png) from ``image_dir`` and its subfolders, evenly spaced through the sorted paths (so a
    folder of class subfolders gives every class its share): shorter side resized to ``size``, centre crop, in
    [0, 1]. Shapes: ``(min(n, found), 3, size, size)``."""
    from pathlib import Path

    from PIL import Image
    from torchvision.transforms.v2 import functional as TF
    files = sorted(p for p in Path(image_dir).rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not files:
        raise ValueError(f"no .jpg/.jpeg/.png images under {image_dir!r}")
    files = [files[i] for i in np.linspace(0, len(files) - 1, min(n, len(files))).round().astype(int)]
    imgs = [TF.center_crop(TF.resize(TF.pil_to_tensor(Image.open(f).convert("RGB")), size), size) for f in files]
    return torch.stack(imgs).float() / 255  # (n, 3, size, size)


#: ``image_dir`` value that means: Imagenette's validation images (``imagenette_val``).
IMAGENETTE = "imagenette"


def imagenette_val(root=None, download: bool = True):
    """The folder of Imagenette's validation images (fast.ai's 10-class subset of ImageNet, 3,925 images, the
    320 px version, through torchvision's ``Imagenette``): looked for under the data root (``data.data_root``)
    and the download cache (``data.cache_dir``), downloaded (a few hundred MB) into the cache when in neither.

    Raises:
        FileNotFoundError: not found and ``download`` is False.
    """
    tail = ("imagenette2-320", "val")
    for base in filter(None, (data.data_root(root), data.cache_dir())):
        if base.joinpath(*tail).is_dir():
            return base.joinpath(*tail)
    if not download:
        raise FileNotFoundError(f"Imagenette's validation images are not under {data.data_root(root)} nor "
                                f"{data.cache_dir()} ({'/'.join(tail)})")
    from torchvision.datasets import Imagenette
    Imagenette(str(data.cache_dir()), split="val", size="320px", download=True)
    return data.cache_dir().joinpath(*tail)


def is_token_model(model: nn.Module) -> bool:
    """Whether a timm classifier is a ViT / MLP-Mixer (token blocks, no pooling module) rather than a CNN."""
    return isinstance(getattr(model, "blocks", None), nn.Sequential) and not isinstance(
        getattr(model, "global_pool", None), nn.Module)


def pretrained_layers(model: nn.Module) -> dict[str, nn.Module]:
    """The measured layers of a timm ImageNet classifier: transformer / mixer blocks or the CNN's feature
    stages (``feature_info``), the pooled vector (``global_pool`` or ``head_drop``) and the logits."""
    if is_token_model(model):
        body = {f"block{i + 1}": b for i, b in enumerate(model.blocks)}  # ViT / MLP-Mixer: tokens (B, N, D)
        pool = model.head_drop
    else:
        body = {info["module"]: model.get_submodule(info["module"]) for info in model.feature_info}
        pool = model.global_pool
    return {**body, "pool": pool, "final": model.get_classifier()}


def _spearman_parts(models: dict, transform: str, key: str) -> list[float]:
    """Spearman ρ over the models of each part's ``key`` with their ImageNet accuracy, ``(5,)`` (Fig. 4); NaN
    where a part's value is the same for every model (ρ undefined)."""
    from scipy.stats import spearmanr
    acc = [m["acc"] for m in models.values()]
    v = np.array([m[transform][f"{key}_parts"] for m in models.values()])  # (models, 5)
    return [float(spearmanr(v[:, p], acc).statistic) if np.ptp(v[:, p]) > 0 else math.nan for p in range(len(PARTS))]


def measure_pretrained(x: Tensor, models: dict[str, float] | None = None, device="cpu", pretrained: bool = True,
                       batch_size: int = 50) -> dict:
    """Figs. 4 and 7 on images ``x`` ``(n, 3, 224, 224)`` in [0, 1]: each timm model (``{name: ImageNet top-1}``,
    default ``PRETRAINED``) measured under rotation (90/180/270°) and translation (diagonal cyclic shifts of 32
    and 64 px, a whole number of positions at stride 32; rounded where a network's maps are not a divisor of
    224), per layer and part, and Spearman's ρ per part of each measure with the accuracies.
    ``pretrained=False`` builds the same architectures with random weights (no download: for tests).

    Returns:
        ``{"models": {name: {"acc", "kind" ("cnn" | "token"), "translation": measure, "rotation": measure}},
        "spearman": {transform: {measure key: [ρ per part (5)]}}, "n_images": n}``.
    """
    import timm
    rots, shifts = [rotation(k) for k in (1, 2, 3)], [diagonal_shift(p, exact=False) for p in (32, 64)]
    x = x.to(device)
    out: dict = {}
    for name, acc in (models or PRETRAINED).items():
        m = timm.create_model(name, pretrained=pretrained).eval()
        net = _Normalised(m, m.pretrained_cfg["mean"], m.pretrained_cfg["std"]).to(device)
        layers = pretrained_layers(m)
        out[name] = {"acc": acc, "kind": "token" if is_token_model(m) else "cnn"}
        for key, ts in (("translation", shifts), ("rotation", rots)):
            r = layer_in_equivariance(net, layers, x, ts, batch_size=batch_size)
            out[name][key] = {**r, **part_means(r)}
        del net, m
        if torch.device(device).type == "cuda":
            torch.cuda.empty_cache()
    rho = {t: {k: _spearman_parts(out, t, k) for k in MEASURES} for t in ("translation", "rotation")}
    return {"models": out, "spearman": rho, "n_images": len(x)}


def run_pretrained(image_dir: str | None, n: int = 100, device="cpu", models: dict[str, float] | None = None) -> dict:
    """Figs. 4 and 7: ``measure_pretrained`` on ``n`` images of ``image_dir`` (a folder, or ``IMAGENETTE`` for
    Imagenette's validation images, downloaded once). Needs the ``timm`` package, its pretrained weights
    (internet) and the images; otherwise returns ``{"skipped": reason}`` at once (a 2 s connection test, no
    hanging download)."""
    if not image_dir:
        return {"skipped": "no folder of natural images given (image_dir); the ImageNet models are not measured"}
    try:
        import timm
    except ImportError:
        return {"skipped": "the timm package is not installed (pip install timm)"}
    if not _online():
        return {"skipped": "no internet (huggingface.co unreachable in 2 s): pretrained weights cannot be downloaded"}
    if image_dir == IMAGENETTE:
        try:
            image_dir = str(imagenette_val())
        except Exception as e:  # download failed
            return {"skipped": f"Imagenette could not be downloaded: {type(e).__name__}: {str(e)[:200]}"}
    for name in models or PRETRAINED:  # download every checkpoint first (into timm's cache): fail before measuring
        try:
            timm.create_model(name, pretrained=True)
        except Exception as e:  # weights not downloadable
            return {"skipped": f"pretrained weights of {name} could not be loaded: {type(e).__name__}: {str(e)[:200]}"}
    return measure_pretrained(load_images(image_dir, n), models, device)


def plot_pretrained(pre: dict):
    """Figs. 7 and 4: per-part translation and rotation equivariance of each pretrained model (CNNs solid,
    ViT / Mixer dashed) and Spearman's ρ per part of each measure with ImageNet accuracy."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 3.8), constrained_layout=True)
    x = np.arange(len(PARTS))
    for ax, t in zip(axes[:2], ("translation", "rotation")):
        for name, m in pre["models"].items():
            ax.plot(x, m[t]["equivariance_parts"], "o-" if m["kind"] == "cnn" else "s--",
                    label=f"{name.split('.')[0]} ({m['acc']:.1f} %)")
        ax.set_xticks(x, PARTS)
        ax.set(ylim=(-0.05, 1.05), title=f"{t} equivariance (Fig. 7)")
    axes[1].legend(fontsize=7)
    ax, w = axes[2], 0.2
    bars = [(t, k) for t in ("translation", "rotation") for k in ("invariance", "equivariance")]
    for i, (t, k) in enumerate(bars):
        ax.bar(x + (i - 1.5) * w, pre["spearman"][t][k], w, label=f"{t} {k}")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xticks(x, PARTS)
    ax.set(ylim=(-1.05, 1.05), title="Spearman ρ with ImageNet accuracy (Fig. 4)")
    ax.legend(fontsize=7)
    fig.suptitle(f"pretrained ImageNet models on {pre['n_images']} images")
    return fig


def plot_parts(ax, runs: dict[str, list[dict]], key: str = "equivariance", title: str = "") -> None:
    """Per-part means (± std over seeds) of ``key`` for several trained variants, as lines over the parts."""
    x = np.arange(len(PARTS))
    for label, rs in runs.items():
        v = np.array([r[f"{key}_parts"] for r in rs])  # (seeds, 5)
        ax.errorbar(x, v.mean(0), yerr=v.std(0) if len(v) > 1 else None, marker="o", capsize=2, label=str(label))
    ax.set_xticks(x, PARTS)
    ax.set(ylabel=key, title=title, ylim=(-0.05, 1.05))


def plot_layers(ax, r: dict, title: str = "") -> None:
    """In- vs equivariance per layer of one ``measure`` result, as paired bars (Figs. 3, 5 style)."""
    x = np.arange(len(r["layers"]))
    ax.bar(x - 0.2, r["invariance"], 0.4, label="invariance")
    ax.bar(x + 0.2, r["equivariance"], 0.4, label="equivariance")
    ax.set_xticks(x, r["layers"], rotation=45, ha="right")
    ax.set(ylim=(min(0.0, float(r["invariance"].min()) - 0.05), 1.05), title=title)


def plot_part_bars(ax, runs: list[dict], title: str = "") -> None:
    """Per-part ``MEASURES`` (those the runs have; mean ± std over seeds) as grouped bars (Fig. 5 style)."""
    x = np.arange(len(PARTS))
    keys = [k for k in MEASURES if f"{k}_parts" in runs[0]]
    w = 0.8 / len(keys)
    for i, key in enumerate(keys):
        v = np.array([r[f"{key}_parts"] for r in runs])  # (seeds, 5)
        ax.bar(x + (i - (len(keys) - 1) / 2) * w, v.mean(0), w, yerr=v.std(0) if len(v) > 1 else None, capsize=2,
               label=MEASURES[key])
    ax.set_xticks(x, PARTS)
    ax.set(ylim=(-0.3, 1.05), title=title)


def plot_mnist6(mn: dict, title: str):
    """Fig. 5: one panel of ``plot_part_bars`` per MNIST6 task. ``mn``: ``run_mnist6``'s output or its record."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(mn), figsize=(14, 3.4), sharey=True, constrained_layout=True)
    for ax, (task, r) in zip(np.atleast_1d(axes), mn.items()):
        plot_part_bars(ax, r["runs"], f"{task} (acc {np.mean(r['acc']):.1f} %)")
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.suptitle(title)
    return fig


def plot_translation(variants: dict, title: str):
    """Figs. 6a/6b: one panel per ``MEASURES`` entry the runs have, a line per variant.

    ``variants``: ``{label: {"acc": [...], "runs": [...]}}`` (``run_augmentations`` / ``run_widths`` entries or
    their record)."""
    import matplotlib.pyplot as plt

    runs = {str(k): v["runs"] for k, v in variants.items()}
    keys = [k for k in MEASURES if f"{k}_parts" in next(iter(runs.values()))[0]]
    fig, axes = plt.subplots(1, len(keys), figsize=(5.3 * len(keys), 3.6), sharey=True, constrained_layout=True)
    for ax, key in zip(axes, keys):
        plot_parts(ax, runs, key, f"translation {MEASURES[key]}")
    axes[-1].legend(fontsize=8)
    fig.suptitle(title)
    return fig


def _mean_parts(runs: list[dict], key: str) -> np.ndarray:
    return np.mean([r[f"{key}_parts"] for r in runs], 0)  # (5,) seed mean


def record_numbers(demo: dict | None = None, toy: dict | None = None, mn: dict | None = None,
                   aug: dict | None = None, wid: dict | None = None) -> dict:
    """The runners' outputs as a record's numbers (JSON-ready by ``RunRecord``), for those that ran.

    The notebook and ``scripts/ch3_cpu_parts.py`` both record through this, so ``record_frames`` reads either.
    """
    def strip(r: dict) -> dict:
        return {k: v for k, v in r.items() if k != "parts"}

    def trained(runs: dict) -> dict:
        return {str(k): {"acc": r["acc"], "runs": [strip(x) for x in r["runs"]]}
                for k, r in runs.items() if k not in ("n_train", "fig2b")}

    out: dict = {}
    if demo is not None:
        out["similarity_demo"] = {k: demo[k] for k in ("correlation", "cosine")}
    if toy is not None:
        out["toy"] = {name: strip(r) for name, r in toy.items()}
    if mn is not None:
        out["mnist6"] = trained(mn)
    if aug is not None:
        out |= {"augmentations": trained(aug), "fig2b": aug["fig2b"], "n_train_cifar": aug["n_train"]}
    if wid is not None:
        out["widths"] = trained(wid)
    return out


def record_frames(rec: dict) -> dict:
    """A committed run's per-part numbers as tables (seed means), for the chapter's discussion.

    Args:
        rec: a chapter-3 record: the notebook's ``results.json`` or ``scripts/ch3_cpu_parts.py``'s
            ``cpu_parts.json`` (``records.recorded(chapter, name=...)[profile]``).
    Returns:
        ``{"mnist6", "augmentations", "widths"}``, each present when the record has that experiment: a
        DataFrame indexed by (model, measure) with one column per part (PARTS) and ``accuracy`` (%); and
        ``"seconds"`` (records made since runs are timed): training and measuring seconds per model (seeds
        summed), indexed by (experiment, model).
    """
    import pandas as pd

    n, out = rec["numbers"], {}
    for key, label in (("mnist6", "task"), ("augmentations", "augmentation"), ("widths", "width")):
        if not n.get(key):
            continue
        rows = [{label: model if key != "widths" else f"k={model}", "measure": m,
                 **dict(zip(PARTS, _mean_parts(r["runs"], m).tolist())), "accuracy": float(np.mean(r["acc"]))}
                for model, r in n[key].items() for m in MEASURES if f"{m}_parts" in r["runs"][0]]
        out[key] = pd.DataFrame(rows).set_index([label, "measure"])
    times = [{"experiment": key, "model": model if key != "widths" else f"k={model}",
              **{f"{phase} s": sum(x["seconds"][phase] for x in r["runs"]) for phase in ("train", "measure")}}
             for key in ("mnist6", "augmentations", "widths") for model, r in (n.get(key) or {}).items()
             if all("seconds" in x for x in r["runs"])]
    if times:
        out["seconds"] = pd.DataFrame(times).set_index(["experiment", "model"])
    return out


def record_claim_values(n: dict, matching: str = "sample") -> dict:
    """``claim_values`` recomputed from a record's numbers (``record_numbers``' layout), e.g. of merged parts.

    C3.6a/b (pretrained models) are not in part records and stay ``None``.
    """
    arrays = lambda r: {k: np.asarray(v) if isinstance(v, list) else v for k, v in r.items()}  # noqa: E731
    toy = {name: arrays(r) for name, r in n["toy"].items()} if n.get("toy") else None
    wid = {int(k): v for k, v in n["widths"].items()} if n.get("widths") else None
    return claim_values(n.get("similarity_demo"), n.get("fig2b"), toy, n.get("mnist6"), n.get("augmentations"), wid,
                        None, matching)


def merge_part_records(records: list[dict]) -> dict:
    """One record from several ``scripts/ch3_cpu_parts.py`` records of one profile (parts run apart, e.g. in
    parallel on one GPU): their experiments' numbers together, the widths united, the claim values
    recomputed (``record_claim_values``) and each part's seconds kept under its file's experiments.

    Raises:
        ValueError: records of different profiles or devices, or two records of one experiment.
    """
    if not records:
        raise ValueError("merge_part_records needs at least one record")
    for key in ("profile", "device"):
        if len({r[key] for r in records}) > 1:
            raise ValueError(f"cannot merge records of different {key}s: {sorted({r[key] for r in records})}")
    n: dict = {"experiments": [], "seconds": {}}
    widths: dict = {}
    for r in records:
        rn = r["numbers"]
        for key, value in rn.items():
            if key in ("similarity_demo", "toy", "settings"):
                n.setdefault(key, value)
            elif key == "widths":
                clash = set(widths) & set(value)
                if clash:
                    raise ValueError(f"width(s) {sorted(clash)} are in more than one record")
                widths |= value
            elif key in ("mnist6", "augmentations", "fig2b", "n_train_cifar"):
                if key in n:
                    raise ValueError(f"experiment {key!r} is in more than one record")
                n[key] = value
        for e in rn["experiments"]:
            if e != "demo+toy":
                label = f"widths (k = {', '.join(rn['widths'])})" if e == "widths" else e
                n["experiments"].append(label)
                n["seconds"][label] = rn["seconds"][e]
    if widths:
        n["widths"] = dict(sorted(widths.items(), key=lambda kv: int(kv[0])))
    n["claim_values"] = record_claim_values(n, "sample")
    n["claim_values_shared"] = record_claim_values(n, "shared")
    first = records[0]
    return {**{k: first[k] for k in first if k not in ("numbers", "claims", "wall_time_s", "date", "what")},
            "date": max(r["date"] for r in records), "wall_time_s": sum(n["seconds"].values()), "numbers": n}


def claim_values(demo: dict | None, fig2b: dict | None, toy: dict | None, mn: dict | None, aug: dict | None,
                 wid: dict | None, pre: dict | None, matching: str = "sample") -> dict:
    """The measured value of every claim of the chapter (C3.1-C3.6), computed from the runners' outputs.

    ``holds`` claims get the fraction of their sub-checks that hold; see the notebook's claim table. An
    experiment passed as ``None`` (not run, e.g. in a partial study) leaves its claims ``None``.
    ``matching``: which equivariance the trained-network claims (C3.3-C3.5) use, ``"sample"`` (the best
    channel per image) or ``"shared"`` (one channel for all images; see ``metrics.similarity``).
    """
    if matching not in ("sample", "shared"):
        raise ValueError(f"unknown matching {matching!r}; valid: ['sample', 'shared']")
    eq = "equivariance" if matching == "sample" else "equivariance_shared"
    tol = 1e-5
    out = dict.fromkeys(("C3.1a", "C3.1b", "C3.2", "C3.3", "C3.4a", "C3.4b", "C3.5", "C3.6a", "C3.6b"))
    if demo is not None:
        out["C3.1a"] = abs(demo["correlation"]["shifted"] - demo["correlation"]["plain"])
    if fig2b is not None:
        out["C3.1b"] = fig2b["rho_cosine"] - fig2b["rho_correlation"]
    if toy is not None:
        checks = [toy["invariant"]["invariance"].min() > 1 - tol, toy["invariant"]["equivariance"].min() > 1 - tol,
                  toy["equivariant"]["equivariance"].min() > 1 - tol,
                  toy["equivariant"]["invariance_parts"][:3].max() < 1 - 0.05,
                  toy["random"]["equivariance_parts"][:3].max() < 1 - 0.05]
        out["C3.2"] = sum(map(bool, checks)) / len(checks)
    if mn is not None:
        E = {t: _mean_parts(mn[t]["runs"], eq) for t in mn}
        I = {t: _mean_parts(mn[t]["runs"], "invariance") for t in mn}
        checks = [E[t][0] >= E[t][1] >= E[t][2] for t in mn] + [E[t][p] > I[t][p] for t in mn for p in (0, 1)]
        checks.append(abs(E["MNIST6-Rot-Inv"][0] - E["MNIST6"][0]) <= 0.05)
        out["C3.3"] = sum(map(bool, checks)) / len(checks)
    if aug is not None:
        base = _mean_parts(aug["baseline"]["runs"], eq)
        raised = [_mean_parts(aug[a]["runs"], eq)[p] > base[p]
                  for a in ("random crop", "RandAugment") if a in aug for p in (1, 2, 4)]
        out["C3.4a"] = sum(map(bool, raised)) / len(raised) if raised else None
        out["C3.4b"] = max(float(np.abs(_mean_parts(aug[a]["runs"], eq)
                                        - _mean_parts(aug[a]["runs"], "invariance")).max())
                           for a in AUGMENTATIONS if a in aug)
    ks = sorted(k for k in (wid or {}) if isinstance(k, int))
    if len(ks) > 1:
        wide = [_mean_parts(wid[ks[-1]]["runs"], eq)[p] < _mean_parts(wid[ks[0]]["runs"], eq)[p]
                for p in (1, 2)]
        out["C3.5"] = sum(map(bool, wide)) / len(wide)
    if pre is not None and "skipped" not in pre:
        out["C3.6a"] = _spearman_parts(pre["models"], "translation", eq)[-1]
        kinds = {k: [m for m in pre["models"].values() if m["kind"] == k] for k in ("cnn", "token")}
        if all(kinds.values()):
            mean = lambda k, t: np.mean([m[t][f"{eq}_parts"] for m in kinds[k]], 0)  # noqa: E731  (5,)
            # Sec. 4.6: translation in Early and Middle, rotation in every intermediate part
            more = [mean("cnn", t)[p] > mean("token", t)[p] for t, ps in (("translation", (0, 1)), ("rotation", (0, 1, 2)))
                    for p in ps]
            out["C3.6b"] = sum(map(bool, more)) / len(more)
    return out
