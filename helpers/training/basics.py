"""What both training loops use: accuracy, batched prediction, seeded model construction, the optimiser and
schedule of a ``FitConfig``, per-epoch index batches and input checks."""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .config import FitConfig, Forward, LossFn, ScoreFn

__all__ = ["accuracy", "test_accuracy", "predict", "build_models", "mixed_precision"]


def accuracy(outputs: Tensor, y: Tensor) -> float:
    """Top-1 accuracy of logits ``(B, K)`` against labels ``(B,)``."""
    return (outputs.argmax(-1) == y).float().mean().item()


def _default_loss(task: str) -> LossFn:
    if task == "classification":
        return lambda forward, x, y: F.cross_entropy(forward(x), y)
    return lambda forward, x, y: F.mse_loss(forward(x).reshape(y.shape), y)


def _default_score(task: str) -> ScoreFn:
    return accuracy if task == "classification" else lambda outputs, y: -F.mse_loss(outputs.reshape(y.shape), y).item()


def test_accuracy(models: Sequence[nn.Module] | nn.Module, test: tuple[Tensor, Tensor],
                  batch_size: int = 8192) -> Tensor:
    """Top-1 accuracy of each trained model on a test split, on the models' device.

    Args:
        models: M models (or one), all on one device.
        test: ``(x (B, ...), y (B,))`` on any device.
    Returns:
        ``(M,)`` float64 on the CPU, fractions in [0, 1].
    """
    models = [models] if isinstance(models, nn.Module) else list(models)
    dev = next(models[0].parameters()).device
    x, y = (t.to(dev) for t in test)
    return torch.tensor([accuracy(predict(m, x, batch_size), y) for m in models], dtype=torch.float64)


@torch.no_grad()
def predict(forward: Forward, x: Tensor, batch_size: int = 8192) -> Tensor:
    """Outputs of ``forward`` on ``x`` ``(B, ...)`` in chunks; returns ``(B, ...)``."""
    return torch.cat([forward(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])


def build_models(make: Callable[[], nn.Module], seeds: Sequence[int]) -> list[nn.Module]:
    """One model per seed, each initialised after ``torch.manual_seed(seed)``."""
    models = []
    for s in seeds:
        torch.manual_seed(s)
        models.append(make())
    return models


def _optimizer(params, cfg: FitConfig, capturable: bool = False):
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler | None
    if cfg.optimizer == "adam":
        opt = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay, capturable=capturable)
    else:
        opt = torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.epochs)
    elif cfg.schedule == "step":
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=list(cfg.milestones), gamma=cfg.gamma)
    else:
        sched = None
    return opt, sched


def mixed_precision(loss: Callable[..., Tensor], cfg: FitConfig, device: torch.device,
                    models: Sequence[nn.Module] = ()) -> Callable[..., Tensor]:
    """``loss`` run under ``torch.autocast`` to bfloat16 when ``cfg.precision == "bf16"`` (else ``loss`` itself);
    convolutional ``models`` are then put in channels-last layout, which bfloat16 convolutions run fastest in."""
    if cfg.precision == "fp32":
        return loss
    for m in models:
        if any(p.ndim == 4 for p in m.parameters()):
            m.to(memory_format=torch.channels_last)

    def mixed(*args):
        with torch.autocast(device.type, dtype=torch.bfloat16, cache_enabled=False):  # no cache: CUDA graphs
            return loss(*args)
    return mixed


def _batches(n: int, batch_size: int, gen: torch.Generator, device) -> list[Tensor]:
    perm = torch.randperm(n, generator=gen).to(device)  # (n,)
    return list(torch.split(perm, batch_size))


def _check_data(name: str, data) -> tuple[Tensor, Tensor]:
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise TypeError(f"{name} must be a pair (x, y) of tensors")
    x, y = data
    if len(x) != len(y):
        raise ValueError(f"{name}: x has {len(x)} samples, y has {len(y)}")
    if len(x) == 0:
        raise ValueError(f"{name} is empty")
    return x, y
