"""``fit``: one model, data resident on the device, batches as index slices, best-validation weights kept."""
from __future__ import annotations

import copy
import math
import time
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from .. import checkpoint
from .basics import _batches, _check_data, _default_loss, _default_score, mixed_precision, _optimizer, predict
from .config import Augment, FitConfig, FitResult, LossFn, ScoreFn, progress_enabled
from .stepper import _Stepper

__all__ = ["fit"]


def fit(
    model: nn.Module,
    train: tuple[Tensor, Tensor],
    val: tuple[Tensor, Tensor] | None = None,
    config: FitConfig = FitConfig(),
    *,
    loss_fn: LossFn | None = None,
    augment: Augment | None = None,
    score_fn: ScoreFn | None = None,
    seed: int = 0,
    graphs: bool = False,
    device: torch.device | str | None = None,
    desc: str = "fit",
    checkpoint_key: str | None = None,
) -> FitResult:
    """Train one model with device-resident data and best-on-validation selection.

    Args:
        model: any ``nn.Module``; trained in place and returned with the selected weights.
        train: ``(x (B, ...), y (B, ...))``; moved to ``device`` once.
        val: the same for validation, or None (then the last epoch is kept).
        config: optimisation settings.
        loss_fn: ``loss_fn(forward, x, y) -> scalar``; default by ``config.task``.
        augment: ``augment(x, generator) -> x`` applied to each training batch.
        score_fn: ``score_fn(outputs, y) -> float``, higher is better; default by ``config.task``.
        seed: seeds the batch order and the augmentation draws.
        graphs: replay each full-batch step (forward, backward, optimiser; BatchNorm statistics included)
            as a CUDA graph after warm-up, recorded anew whenever a schedule changes the lr. Needs CUDA and
            a ``loss_fn`` without host-side randomness or data-dependent shapes (the default loss; not
            ch3's CutMix, whose box a graph would freeze). Off by default: not yet measured on a GPU.
        device: default: the model's device.
        checkpoint_key: inside a part (``helpers.checkpoint.active``), save the whole training state under this key
            at epoch ends (every ``HELPERS_CHECKPOINT_S`` seconds, and after the last epoch) and resume from it, to
            the numbers of an uninterrupted run: weights and BatchNorm statistics, the best weights, optimiser,
            schedule, the batch generator, torch's RNG, and the state of a ``loss_fn`` or ``augment`` that has
            ``state_dict`` / ``load_state_dict`` (e.g. ch3's CutMix draws). A finished run is not trained again.
            Each ``fit`` call of a part needs its own key. None: no checkpoints.
    """
    t0 = time.perf_counter()
    device = torch.device(device) if device is not None else next(model.parameters()).device
    if graphs and device.type != "cuda":
        raise ValueError(f"graphs=True needs a CUDA device; got device {device}")
    model.to(device)
    x, y = (t.to(device) for t in _check_data("train", train))
    xv, yv = (t.to(device) for t in _check_data("val", val)) if val is not None else (None, None)
    loss_fn = loss_fn or _default_loss(config.task)
    score_fn = score_fn or _default_score(config.task)
    gen = torch.Generator().manual_seed(seed)
    opt, sched = _optimizer([p for p in model.parameters() if p.requires_grad], config, capturable=graphs)
    total = torch.zeros((), device=device)  # summed training loss of the epoch
    step_loss = mixed_precision(lambda xb, yb: loss_fn(model, xb, yb), config, device, [model])
    stepper = _Stepper(step_loss, opt, total, config.batch_size, graphs, batch_dim=0)

    best: tuple[float, int, dict[str, Any] | None] = (-math.inf, 0, copy.deepcopy(model.state_dict()))
    history: dict[str, list[float]] = {"train_loss": [], "val_score": []}
    stateful: list[Any] = [f for f in (loss_fn, augment) if hasattr(f, "state_dict") and hasattr(f, "load_state_dict")]
    resume = checkpoint.Resume(checkpoint_key, config.epochs, t0)
    if resume.state is not None:
        state = resume.state
        model.load_state_dict(state["model"])
        resume.restore_optimiser(opt, sched, device)
        gen.set_state(state["gen"])
        for f, f_state in zip(stateful, state["stateful"]):
            f.load_state_dict(f_state)
        best, history = tuple(state["best"]), state["history"]

    def snapshot_state() -> dict:
        return {"model": model.state_dict(), **resume.optimiser_state(opt, sched, device), "gen": gen.get_state(),
                "stateful": [f.state_dict() for f in stateful], "best": best, "history": history}

    bar = tqdm(range(resume.epoch, config.epochs), desc=desc, disable=not progress_enabled(), leave=False,
               initial=resume.epoch, total=config.epochs)
    for epoch in bar:
        model.train()
        total.zero_()
        for idx in _batches(len(x), config.batch_size, gen, device):
            stepper(x[idx] if augment is None else augment(x[idx], gen), y[idx])
        if sched is not None:
            lrs = [g["lr"] for g in opt.param_groups]
            sched.step()
            if lrs != [g["lr"] for g in opt.param_groups]:
                stepper.reset()
        history["train_loss"].append(total.item() / len(x))
        if xv is not None and yv is not None:
            model.eval()
            score = score_fn(predict(model, xv, config.eval_batch_size), yv)
            history["val_score"].append(score)
            if config.select == "last" or score > best[0]:
                best = (score, epoch, copy.deepcopy(model.state_dict()))
            bar.set_postfix(loss=f"{history['train_loss'][-1]:.4f}", val=f"{score:.4f}")
        resume.save(epoch, snapshot_state)
    if xv is not None and best[2] is not None:  # best[2]: the selected weights (never None with validation data)
        model.load_state_dict(best[2])
    else:
        best = (math.nan, config.epochs - 1, None)
    model.eval()
    return FitResult(model, best[1], best[0], history, resume.wall_s(), stepper.replays)
