"""Training settings and results: ``FitConfig`` (one frozen dataclass), ``FitResult``, ``EnsembleResult``, the
device default and the environment switches (``HELPERS_PROGRESS``, ``HELPERS_CUDA_GRAPHS``)."""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import Tensor, nn

__all__ = ["Forward", "LossFn", "Augment", "ScoreFn", "FitConfig", "FitResult", "EnsembleResult", "default_device",
           "progress_enabled", "cuda_graphs_enabled"]


Forward = Callable[[Tensor], Tensor]
LossFn = Callable[[Forward, Tensor, Tensor], Tensor]
Augment = Callable[[Tensor, torch.Generator], Tensor]
ScoreFn = Callable[[Tensor, Tensor], float]


@dataclass(frozen=True)
class FitConfig:
    """Optimisation settings (one frozen dataclass; sweeps use ``dataclasses.replace``).

    Attributes:
        task: ``"classification"`` (cross-entropy, select by accuracy) or ``"regression"``
            (MSE, select by minus MSE).
        select: ``"best"`` keeps the epoch with the best validation score, ``"last"`` the last.
        schedule: ``"none"``, ``"cosine"`` (annealed to 0 over the epochs) or ``"step"``
            (multiply the lr by ``gamma`` at each epoch in ``milestones``).
        precision: ``"fp32"``, or ``"bf16"``: mixed precision, the training step's forward pass under
            ``torch.autocast`` to bfloat16 (weights, optimiser and loss stay float32; convolutional models in
            channels-last layout), several times faster where the hardware has bfloat16 units (a CPU's AMX, a
            GPU's tensor cores); validation and everything after training in float32. Left out of settings
            hashes while ``"fp32"``.
    """

    epochs: int = 10
    batch_size: int = 512
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "none"
    milestones: tuple[int, ...] = ()
    gamma: float = 0.1
    task: str = "classification"
    select: str = "best"
    eval_batch_size: int = 8192
    precision: str = field(default="fp32", metadata={"omit_default": True})

    def __post_init__(self):
        checks = {
            "precision": ("fp32", "bf16"),
            "optimizer": ("adam", "sgd"),
            "schedule": ("none", "cosine", "step"),
            "task": ("classification", "regression"),
            "select": ("best", "last"),
        }
        for name, valid in checks.items():
            if getattr(self, name) not in valid:
                raise ValueError(f"FitConfig.{name}={getattr(self, name)!r}; valid: {list(valid)}")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"FitConfig needs epochs >= 1 and batch_size >= 1, got {self.epochs}, {self.batch_size}")


@dataclass
class FitResult:
    """What ``fit`` returns. ``model`` holds the selected weights; history is per epoch;
    ``graph_replays`` counts the steps replayed from a CUDA graph (0 when every step ran eagerly)."""

    model: nn.Module
    best_epoch: int
    best_score: float
    history: dict[str, list[float]] = field(default_factory=dict)
    wall_time_s: float = 0.0
    graph_replays: int = 0


@dataclass
class EnsembleResult:
    """What ``fit_ensemble`` returns: M models with their own selected weights.

    ``history[key]`` is a list over epochs of length-M lists; ``best_epoch``/``best_score`` have length M;
    ``graph_replays`` counts the steps replayed from a CUDA graph (0 when every step ran eagerly).
    """

    models: list[nn.Module]
    best_epoch: list[int]
    best_score: list[float]
    history: dict[str, list[list[float]]] = field(default_factory=dict)
    wall_time_s: float = 0.0
    graph_replays: int = 0


def default_device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _env_flag(name: str, default: bool) -> bool:
    """An on/off environment variable: ``0``, ``false`` or empty is off; unset gives ``default``."""
    flag = os.environ.get(name)
    return default if flag is None else flag not in ("0", "false", "False", "")


def progress_enabled() -> bool:
    """Progress bars: ``HELPERS_PROGRESS`` (``0``/``1``) when set; otherwise on in a terminal or a notebook and off
    under ``CI`` and where output goes to a file or pipe (logs stay readable)."""
    interactive = sys.stderr.isatty() or "ipykernel" in sys.modules
    return _env_flag("HELPERS_PROGRESS", interactive and not os.environ.get("CI"))


def cuda_graphs_enabled() -> bool:
    """CUDA-graph replay in ``fit_ensemble`` is on unless ``HELPERS_CUDA_GRAPHS`` is ``0``/``false``."""
    return _env_flag("HELPERS_CUDA_GRAPHS", True)
