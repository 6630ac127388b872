"""``fit_ensemble``: M seeds (or a hyperparameter sweep) of one architecture trained as one ``vmap``-ped model."""
from __future__ import annotations

import copy
import math
import time
from typing import Sequence

import torch
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap
from tqdm.auto import tqdm

from .. import checkpoint
from .basics import _batches, _check_data, _default_loss, _default_score, mixed_precision, _optimizer
from .config import Augment, EnsembleResult, FitConfig, LossFn, progress_enabled
from .stepper import _graphs_wanted, _Stepper

__all__ = ["fit_ensemble"]


def fit_ensemble(
    models: Sequence[nn.Module],
    train: tuple[Tensor, Tensor],
    val: tuple[Tensor, Tensor] | None = None,
    config: FitConfig = FitConfig(),
    *,
    seeds: Sequence[int] | None = None,
    loss_fn: LossFn | None = None,
    augment: Augment | None = None,
    member_args: Tensor | None = None,
    graphs: bool | None = None,
    device: torch.device | str | None = None,
    desc: str = "fit_ensemble",
    checkpoint_key: str | None = None,
) -> EnsembleResult:
    """Train M models of one architecture at once, as one ``torch.func.vmap``-ped model.

    Member m sees the batch order and augmentations of ``fit(models[m], ..., seed=seeds[m])`` and keeps its own
    best-validation weights. Arguments as in ``fit`` (the score by ``config.task``); ``seeds`` defaults to
    ``0..M-1`` (repeat a seed to give several members the same batches). ``loss_fn`` and ``augment`` must be
    vmap-compatible (no ``.item()``, no data-dependent control flow); randomness inside ``loss_fn`` differs per
    member.

    Args:
        member_args: ``(M, ...)`` tensor, or None. When given, ``loss_fn(forward, x, y, a)`` gets
            member m's ``a = member_args[m]`` (e.g. a regularisation weight per member).
        graphs: replay the step as a CUDA graph; None: on CUDA with a constant lr and Adam, unless
            ``HELPERS_CUDA_GRAPHS=0`` (module docstring). True where that is impossible is an error.
        checkpoint_key: inside a part (``helpers.checkpoint.active``), save the whole training state under this key
            at epoch ends (every ``HELPERS_CHECKPOINT_S`` seconds, and after the last epoch), and resume from it: a
            resumed run gives the numbers of an uninterrupted one, and a finished one is not trained again. Each
            ``fit_ensemble`` call of a part needs its own key. None: no checkpoints.

    Returns:
        ``EnsembleResult`` whose ``models`` are the input modules, updated in place.
    """
    t0 = time.perf_counter()
    M = len(models)
    if M == 0:
        raise ValueError("fit_ensemble needs at least one model")
    seeds = list(range(M)) if seeds is None else list(seeds)
    if len(seeds) != M:
        raise ValueError(f"{M} models but {len(seeds)} seeds")
    if member_args is not None and (not isinstance(member_args, Tensor) or member_args.ndim == 0
                                    or len(member_args) != M):
        shape = tuple(member_args.shape) if isinstance(member_args, Tensor) else type(member_args).__name__
        raise ValueError(f"member_args must be a tensor with one row per member ({M}), got {shape}")
    if member_args is not None and loss_fn is None:
        raise ValueError("member_args needs a loss_fn(forward, x, y, arg) to pass them to")
    for name, mod in models[0].named_modules():
        if isinstance(mod, nn.modules.batchnorm._BatchNorm) and mod.track_running_stats:
            raise ValueError(f"fit_ensemble cannot vmap BatchNorm running statistics (module {name!r}); "
                             "train such models one by one with fit()")
    device = torch.device(device) if device is not None else next(models[0].parameters()).device
    use_graphs = _graphs_wanted(graphs, config, device)
    for member in models:
        member.to(device).train()
    x, y = (t.to(device) for t in _check_data("train", train))
    xv, yv = (t.to(device) for t in _check_data("val", val)) if val is not None else (None, None)
    loss_fn = loss_fn or _default_loss(config.task)
    score_fn = _default_score(config.task)
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    extra = () if member_args is None else (member_args.to(device),)

    trainable = {k for k, p in models[0].named_parameters() if p.requires_grad}
    params, buffers = stack_module_state(list(models))  # each (M, ...)
    for k, p in params.items():
        p.requires_grad_(k in trainable)
    base = copy.deepcopy(models[0]).to("meta")

    def member_forward(p, b, inp):
        return functional_call(base, (p, b), (inp,))

    def member_loss(p, b, xb, yb, *arg):
        return loss_fn(lambda inp: member_forward(p, b, inp), xb, yb, *arg)

    batched_loss = vmap(member_loss, randomness="different")  # (M,)
    batched_eval = vmap(member_forward, in_dims=(0, 0, None), randomness="different")  # (M, B, ...)
    opt, sched = _optimizer([params[k] for k in params if k in trainable], config, capturable=use_graphs)
    total = torch.zeros(M, device=device)  # summed training loss of the epoch, (M,)
    stepper = _Stepper(mixed_precision(lambda xb, yb: batched_loss(params, buffers, xb, yb, *extra), config, device),
                       opt, total, config.batch_size, use_graphs)

    best_score = torch.full((M,), -math.inf)
    best_epoch = [config.epochs - 1] * M
    best_state = {k: t.detach().clone() for k, t in {**params, **buffers}.items()}
    history: dict[str, list[list[float]]] = {"train_loss": [], "val_score": []}
    resume = checkpoint.Resume(checkpoint_key, config.epochs, t0)
    if resume.state is not None:  # before the first step, so that a CUDA graph captures the restored tensors
        state = resume.state
        with torch.no_grad():
            for k, t in {**params, **buffers}.items():
                t.copy_(state["model"][k])
            for k, t in best_state.items():
                t.copy_(state["best_state"][k])
        resume.restore_optimiser(opt, sched, device)
        for g, g_state in zip(gens, state["gens"]):
            g.set_state(g_state)
        best_score, best_epoch, history = state["best_score"].clone(), list(state["best_epoch"]), state["history"]

    def snapshot_state() -> dict:
        return {"model": {k: t.detach().cpu() for k, t in {**params, **buffers}.items()},
                "best_state": {k: t.cpu() for k, t in best_state.items()}, **resume.optimiser_state(opt, sched, device),
                "gens": [g.get_state() for g in gens], "best_score": best_score, "best_epoch": list(best_epoch),
                "history": history}

    bar = tqdm(range(resume.epoch, config.epochs), desc=desc, disable=not progress_enabled(), leave=False,
               initial=resume.epoch, total=config.epochs)
    for epoch in bar:
        total.zero_()
        for batch_idx in zip(*[_batches(len(x), config.batch_size, g, device) for g in gens]):
            idx = torch.stack(batch_idx)  # (M, B)
            if augment is None:
                xb = x[idx]  # (M, B, ...)
            else:
                xb = torch.stack([augment(x[i], g) for i, g in zip(idx, gens)])  # (M, B, ...)
            stepper(xb, y[idx])
        if sched is not None:
            sched.step()
        history["train_loss"].append((total / len(x)).tolist())
        if xv is not None and yv is not None:
            with torch.no_grad():
                outs = torch.cat(
                    [batched_eval(params, buffers, xv[i : i + config.eval_batch_size])
                     for i in range(0, len(xv), config.eval_batch_size)],
                    dim=1,
                )  # (M, Bv, ...)
            scores = torch.tensor([score_fn(outs[m], yv) for m in range(M)])  # (M,)
            history["val_score"].append(scores.tolist())
            better = scores > best_score if config.select == "best" else torch.ones(M, dtype=torch.bool)
            for m in torch.nonzero(better).flatten().tolist():
                best_score[m], best_epoch[m] = scores[m], epoch
                for k, t in {**params, **buffers}.items():
                    best_state[k][m] = t[m].detach()
            bar.set_postfix(loss=f"{total.mean().item() / len(x):.4f}", val=f"{scores.mean().item():.4f}")
        resume.save(epoch, snapshot_state)
    final = best_state if xv is not None else {**params, **buffers}
    for m, model in enumerate(models):
        model.load_state_dict({k: t[m].detach().clone() for k, t in final.items()})
        model.eval()
    if xv is None:
        best_score = torch.full((M,), math.nan)
    return EnsembleResult(list(models), best_epoch, best_score.tolist(), history, resume.wall_s(), stepper.replays)
