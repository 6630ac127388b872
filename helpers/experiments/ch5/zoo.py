"""Chapter 5's model zoo: MLPs on rotation-MNIST trained by each paper's means, every configuration's seeds as one
vectorised ensemble (``helpers.training.fit_ensemble``).

The training pieces are the chapters' own: DA-R4 is chapter 1's ``random_action(ROT4)``, DA-SO2 chapter 4's
``rotation_augment``, WT is ``helpers.models.GroupPooledMLP`` over R4 (chapter 1's WT), IR chapter 1's
``invariance_loss`` (eq. 4 of Moskalev et al. 2023) on DA-R4 batches, its nu sweep one ensemble with nu per member.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ...groups import ROT4
from ...models import MLP, GroupPooledMLP
from ...training import build_models, fit_ensemble
from ..ch1.data import random_action
from ..ch1.models import fit_ir_sweep
from ..ch4.data import rotation_augment
from .settings import KINDS, N_CLASSES, SIZE, Settings

__all__ = ["Config", "make_model", "label", "train", "train_ir"]


@dataclass(frozen=True)
class Config:
    """One zoo configuration: a regime (``KINDS``), the hidden widths, and nu for IR (None otherwise)."""

    kind: str
    hidden: tuple[int, ...]
    nu: float | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown model kind {self.kind!r}; valid: {list(KINDS)}")
        if (self.kind == "IR") != (self.nu is not None):
            raise ValueError(f"nu is given for IR and only for IR; got kind {self.kind!r} with nu={self.nu}")

    @property
    def label(self) -> str:
        return label(self.kind, self.hidden, self.nu)


def label(kind: str, hidden, nu: float | None = None) -> str:
    """A configuration's name on the page, e.g. ``"IR ν=10 · 96×3"`` or ``"DA-R4 · 48×3"``."""
    h = tuple(hidden)
    size = f"{h[0]}×{len(h)}" if len(set(h)) == 1 else "-".join(map(str, h))
    return f"{kind}{f' ν={nu:g}' if nu is not None else ''} · {size}"


def make_model(kind: str, hidden, activation: str = "swish") -> nn.Module:
    """WT: ``GroupPooledMLP`` over R4 (first layer tied over the quarter turns and averaged); every other kind a
    plain MLP. Shapes: ``(B, 28, 28) -> (B, 10)``.

    Raises:
        ValueError: an unknown kind.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; valid: {list(KINDS)}")
    if kind == "WT":
        return GroupPooledMLP(ROT4, SIZE * SIZE, list(hidden), N_CLASSES, activation)
    return MLP(SIZE * SIZE, list(hidden), N_CLASSES, activation)


_AUGMENT = {"plain": None, "WT": None, "DA-R4": random_action(ROT4), "DA-SO2": rotation_augment}


def train(cfg: Config, d: dict, s: Settings, device: torch.device | str = "cpu") -> list[nn.Module]:
    """``len(s.seeds)`` models of one non-IR configuration, as one ensemble (best validation epoch).

    Args:
        d: ``{"train", "val", "test"}`` of ``ch4.data.rotation_mnist``, images ``(B, 28, 28)``.
    """
    if cfg.kind == "IR":
        return train_ir(cfg.hidden, (cfg.nu,), d, s, device)[cfg.nu]
    models = [m.to(device) for m in build_models(lambda: make_model(cfg.kind, cfg.hidden, s.activation), s.seeds)]
    fit_ensemble(models, d["train"], d["val"], s.fit, seeds=s.seeds, augment=_AUGMENT[cfg.kind], desc=cfg.label)
    return models


def train_ir(hidden, nus, d: dict, s: Settings, device: torch.device | str = "cpu") -> dict[float, list[nn.Module]]:
    """IR MLPs for every nu and seed as one ensemble of ``len(nus) * len(s.seeds)`` members: chapter 1's sweep
    (``fit_ir_sweep``: eq. 4's loss on DA-R4 batches, nu passed per member) on this chapter's data and MLP.

    Returns:
        ``{nu: [len(s.seeds) models]}``.
    """
    return fit_ir_sweep(lambda: make_model("IR", hidden, s.activation), d["train"], d["val"], s.fit, s.seeds, ROT4,
                        nus, "l2", device, desc="IR")
