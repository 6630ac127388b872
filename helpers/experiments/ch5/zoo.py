"""Chapter 5's model zoo: MLPs and small CNNs on rotation-MNIST trained by each paper's means (``settings.KINDS``),
every configuration's seeds as one vectorised ensemble (``helpers.training.fit_ensemble``), with the chapters' own
training pieces: chapter 1's IR sweep (``fit_ir_sweep``) and chapter 2's ML-η (``train_eta``, ``EtaNet``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ...augment import group_action, random_rotation
from ...groups import ROT4
from ...models import MLP, GroupPooledMLP, SmallCNN
from ...training import build_models, fit_ensemble
from ..ch1 import fit_ir_sweep
from ..ch2 import InvariantNet, fit_sweep, invariance_mask, linspace_eps
from .settings import ARCHS, KINDS, N_CLASSES, SIZE, Settings

__all__ = ["Config", "make_model", "train", "train_ir", "EtaNet", "train_eta"]


@dataclass(frozen=True)
class Config:
    """One zoo configuration: a regime (``KINDS``), the hidden widths (a CNN's: its three blocks' channels), nu for
    IR (None otherwise) and the architecture (``ARCHS``)."""

    kind: str
    hidden: tuple[int, ...]
    nu: float | None = None
    arch: str = "mlp"

    def __post_init__(self):
        _check(self.kind, self.arch)
        if self.arch == "cnn" and self.kind == "ML-η":
            raise ValueError("ML-η is chapter 2's one-hidden-layer net; there is no CNN of it")
        if self.kind == "ML-η" and len(self.hidden) != 1:
            raise ValueError(f"ML-η is chapter 2's one-hidden-layer net: hidden must be (units,), got {self.hidden}")
        if (self.kind == "IR") != (self.nu is not None):
            raise ValueError(f"nu is given for IR and only for IR; got kind {self.kind!r} with nu={self.nu}")

    @property
    def label(self) -> str:
        """The configuration's name on the page, e.g. ``"IR ν=10 · 96×3"``, ``"DA-R4 · 48×3"`` or
        ``"WT · CNN 8-16-32"``."""
        h = self.hidden
        if self.arch == "cnn":
            size = f"CNN {'-'.join(map(str, h))}"
        else:
            size = f"{h[0]}×{len(h)}" if len(set(h)) == 1 else "-".join(map(str, h))
        return f"{self.kind}{f' ν={self.nu:g}' if self.nu is not None else ''} · {size}"


def _check(kind: str, arch: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; valid: {list(KINDS)}")
    if arch not in ARCHS:
        raise ValueError(f"unknown architecture {arch!r}; valid: {list(ARCHS)}")


def make_model(kind: str, hidden, activation: str = "swish", arch: str = "mlp") -> nn.Module:
    """MLPs: WT is ``GroupPooledMLP`` over R4 (first layer tied over the quarter turns and averaged), every other
    kind a plain ``MLP``. CNNs (``arch="cnn"``, ``hidden`` the three blocks' channels): ``SmallCNN``, for WT with
    every kernel tied over the quarter turns (``R4SymmetricConv2d``). Shapes: ``(B, 28, 28) -> (B, 10)``.

    Raises:
        ValueError: an unknown kind or architecture, or ML-η (trained as one sweep by ``train_eta``).
    """
    _check(kind, arch)
    if kind == "ML-η":
        raise ValueError("ML-η members are chapter 2's InvariantNet, built and trained as one sweep by train_eta")
    if arch == "cnn":
        return SmallCNN(tuple(hidden), N_CLASSES, activation, symmetric=kind == "WT")
    if kind == "WT":
        return GroupPooledMLP(ROT4, SIZE * SIZE, list(hidden), N_CLASSES, activation)
    return MLP(SIZE * SIZE, list(hidden), N_CLASSES, activation)


_AUGMENT = {"plain": None, "WT": None, "DA-R4": group_action(ROT4), "DA-SO2": random_rotation}


def train(cfg: Config, d: dict, s: Settings, device: torch.device | str = "cpu") -> list[nn.Module]:
    """``len(s.seeds)`` models of one configuration, as one ensemble (best validation epoch).

    Args:
        d: ``{"train", "val", "test"}`` of ``ch4.data.rotation_mnist``, images ``(B, 28, 28)``.
    """
    if cfg.kind == "IR":
        nu = cfg.nu
        assert nu is not None  # Config: IR has a nu
        return train_ir(cfg.hidden, (nu,), d, s, device, cfg.arch)[nu]
    if cfg.kind == "ML-η":
        return [m for m in train_eta(d, s, device)]
    models = [m.to(device) for m in build_models(lambda: make_model(cfg.kind, cfg.hidden, s.activation, cfg.arch),
                                                 s.seeds)]
    fit_ensemble(models, d["train"], d["val"], s.fit, seeds=s.seeds, augment=_AUGMENT[cfg.kind], desc=cfg.label)
    return models


def train_ir(hidden, nus, d: dict, s: Settings, device: torch.device | str = "cpu",
             arch: str = "mlp") -> dict[float, list[nn.Module]]:
    """IR networks (``arch``'s) for every nu and seed as one ensemble of ``len(nus) * len(s.seeds)`` members:
    chapter 1's sweep (``fit_ir_sweep``: eq. 4's loss on DA-R4 batches, nu passed per member) on this chapter's
    data and models.

    Returns:
        ``{nu: [len(s.seeds) models]}``.
    """
    return fit_ir_sweep(lambda: make_model("IR", hidden, s.activation, arch), d["train"], d["val"], s.fit, s.seeds,
                        ROT4, nus, "l2", device, desc=f"IR ({arch.upper()})")


class EtaNet(nn.Module):
    """One member of chapter 2's ``InvariantNet`` as a plain network ``(B, 28, 28) -> (B, 10)`` log-probabilities:
    eq. 6 with the deterministic grid of ``points`` rotations in ``[-eta, eta]`` (Sec. 3.4, endpoints included)
    and the posterior mean of W2, so that the lenses see a deterministic, differentiable function.

    Args:
        net: a one-member ``InvariantNet`` on images ``(1, 28, 28)`` (``InvariantNet.member``).
        points: S, the grid's rotations.
    """

    def __init__(self, net: InvariantNet, points: int = 16):
        super().__init__()
        if net.members != 1 or net.image_shape != (1, SIZE, SIZE):
            raise ValueError(f"EtaNet wraps one member on (1, {SIZE}, {SIZE}) images, got {net.members} members "
                             f"on {net.image_shape}")
        self.net = net
        self.register_buffer("eps", linspace_eps(points, (2,)))  # (S, 6)

    @property
    def eta_degrees(self) -> float:
        """The member's (learned) rotation eta in degrees."""
        return math.degrees(float(self.net.eta.detach()[0, 2]))

    def forward(self, x: Tensor) -> Tensor:
        """``(B, 28, 28) -> (B, 10)``: ``log f_hat(x)`` of eq. 6."""
        return self.net(x.unsqueeze(1), eps=self.eps, sample_weights=False, common=True)[0]  # (B, 10)


def train_eta(d: dict, s: Settings, device: torch.device | str = "cpu") -> list[EtaNet]:
    """``len(s.seeds)`` ML-η members: chapter 2's ReLU ``InvariantNet`` of ``s.eta_hidden`` units with rotation
    eta learned from ``s.eta_init_degrees`` by the ELBO (eq. 9), as one sweep (``ch2.train.fit_sweep``: the members
    share the mini-batches and differ in their first-layer initialisation), features scaled by sqrt(2 / D) as in
    chapter 2's quick and standard profiles, L = I, alpha = 1.

    Args:
        d: ``{"train", ...}`` of ``ch4.data.rotation_mnist``, images ``(B, 28, 28)``.
    Returns:
        One ``EtaNet`` per seed (``s.eta_points`` rotations), on ``device``.
    """
    M, mask = len(s.seeds), invariance_mask("rotation")  # (6,)
    net = InvariantNet("relu", (1, SIZE, SIZE), s.eta_hidden, N_CLASSES,
                       torch.full((M, 1), math.radians(s.eta_init_degrees)) * mask, mask.expand(M, 6),
                       torch.ones(M), seed=s.seeds[0], feature_scale=math.sqrt(2.0 / s.eta_hidden)).to(device)
    x, y = d["train"]
    fit_sweep(net, (x.unsqueeze(1), y), s.eta_fit, seed=s.seeds[0])
    return [EtaNet(net.member(m), s.eta_points).eval() for m in range(M)]
