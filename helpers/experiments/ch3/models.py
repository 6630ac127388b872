"""Chapter 3's networks: the hand-built toy CNNs (Fig. 3), the 7-layer MNIST6 CNN (Fig. 5) and the CIFAR
ResNets / wide ResNets (Fig. 6). Each has ``layers()``: the measured modules in depth order, the last two
the pooled vector (*Pool*) and the logits (*Final*)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["CIFAR_MEAN", "CIFAR_STD", "gaussian_kernel", "ToyCNN", "toy_cnns", "ConvNet7", "CifarResNet"]

CIFAR_MEAN, CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


def gaussian_kernel(size: int = 5, sigma: float = 1.0) -> Tensor:
    """An isotropic 2-D Gaussian ``(size, size)``, unit sum: invariant under rot90."""
    t = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(t[:, None] ** 2 + t[None] ** 2) / (2 * sigma**2))
    return (g / g.sum()).float()


class ToyCNN(nn.Module):
    """Fig. 3: a 3-layer CNN with hand-crafted filters, C channels, ReLU between layers: layer 1 maps the image to
    C channels with filters ``K_c``, layers 2-3 are depthwise (channel c keeps its filter ``K_c``), then global
    average pooling and a fixed linear read-out. Shapes: ``(B, 1, H, W) -> (B, 2)``.
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
    layer 2, then global average pooling and a linear classifier ('same' padding keeps rot90 exact);
    ``(B, 1, 28, 28) -> (B, classes)``.
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
        return self.head(self.pool(F.adaptive_avg_pool2d(self.blocks(x), 1)))  # (B, classes)

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
    blocks, no dropout). Inputs in [0, 1] are standardised inside the model; ``(B, 3, 32, 32) -> (B, 10)``.
    """

    mean: Tensor  # buffers (1, 3, 1, 1)
    std: Tensor

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
        h = self.blocks(self.stem((x - self.mean) / self.std))  # (B, 64k, 8, 8)
        return self.head(self.pool(F.adaptive_avg_pool2d(h, 1)))  # (B, classes)

    def layers(self) -> dict[str, nn.Module]:
        return {"stem": self.stem, **{f"block{i + 1}": b for i, b in enumerate(self.blocks)},
                "pool": self.pool, "final": self.head}
