"""Training loops: ``fit`` for one model, ``fit_ensemble`` for M seeds trained as one vmapped model.

Both keep the data resident on the device and draw batches as index slices of a per-epoch
permutation (no DataLoader workers), show a tqdm bar (quiet under CI / papermill runs), and keep
the weights of the epoch with the best validation score.

Seeds: a run with seed ``s`` draws its batch order and its augmentations from a
``torch.Generator`` seeded with ``s``. ``fit_ensemble`` gives member m the generator of its own
seed, so member m follows exactly the trajectory of ``fit(..., seed=seeds[m])`` started from the
same initial weights (Adam, SGD and weight decay act elementwise; a test checks it).

The loss is a function ``loss_fn(forward, x, y) -> scalar`` of a forward callable, so that
regularisers that need extra forward passes (ch1's invariance regulariser) work the same in
both loops. ``fit_ensemble(..., member_args=a)`` passes member m its own ``a[m]`` as a fourth
argument, so one ensemble can sweep a loss hyperparameter (ch1's nu) as well as seeds.

Speed on a GPU: a small model's step is bound by the host (Python, vmap and kernel launches), not by
the GPU. On CUDA, ``fit_ensemble`` therefore records one full-batch training step (forward, backward,
Adam) as a CUDA graph after three eager warm-up steps and replays it for every later full batch; the
batch draw and the augmentation stay eager, so every member still sees the batches and
augmentations of its own seed. ``graphs=False`` or ``HELPERS_CUDA_GRAPHS=0`` turns this off; it is
off on the CPU, with a learning-rate schedule (the graph would freeze the lr) and with SGD.
``fit(..., graphs=True)`` does the same for one model (BatchNorm, SGD and step schedules included: the
graph is recorded anew after each lr change); it is off by default until it has been measured on a GPU.
"""
from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state, vmap
from tqdm.auto import tqdm

__all__ = [
    "FitConfig",
    "FitResult",
    "EnsembleResult",
    "fit",
    "fit_ensemble",
    "build_models",
    "predict",
    "accuracy",
    "test_accuracy",
    "default_device",
    "progress_enabled",
    "cuda_graphs_enabled",
]

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

    def __post_init__(self):
        checks = {
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
    """Progress bars are on unless ``HELPERS_PROGRESS=0`` or (without that variable) ``CI`` is set."""
    return _env_flag("HELPERS_PROGRESS", not os.environ.get("CI"))


def cuda_graphs_enabled() -> bool:
    """CUDA-graph replay in ``fit_ensemble`` is on unless ``HELPERS_CUDA_GRAPHS`` is ``0``/``false``."""
    return _env_flag("HELPERS_CUDA_GRAPHS", True)


def accuracy(outputs: Tensor, y: Tensor) -> float:
    """Top-1 accuracy of logits ``(B, K)`` against labels ``(B,)``."""
    return (outputs.argmax(-1) == y).float().mean().item()


def _neg_mse(outputs: Tensor, y: Tensor) -> float:
    return -F.mse_loss(outputs.reshape(y.shape), y).item()


def _default_loss(task: str) -> LossFn:
    if task == "classification":
        return lambda forward, x, y: F.cross_entropy(forward(x), y)
    return lambda forward, x, y: F.mse_loss(forward(x).reshape(y.shape), y)


def _default_score(task: str) -> ScoreFn:
    return accuracy if task == "classification" else _neg_mse


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
    stepper = _Stepper(lambda xb, yb: loss_fn(model, xb, yb), opt, total, config.batch_size, graphs, batch_dim=0)

    best = (-math.inf, 0, copy.deepcopy(model.state_dict()))
    history: dict[str, list[float]] = {"train_loss": [], "val_score": []}
    bar = tqdm(range(config.epochs), desc=desc, disable=not progress_enabled(), leave=False)
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
        if xv is not None:
            model.eval()
            score = score_fn(predict(model, xv, config.eval_batch_size), yv)
            history["val_score"].append(score)
            if config.select == "last" or score > best[0]:
                best = (score, epoch, copy.deepcopy(model.state_dict()))
            bar.set_postfix(loss=f"{history['train_loss'][-1]:.4f}", val=f"{score:.4f}")
    if xv is not None:
        model.load_state_dict(best[2])
    else:
        best = (math.nan, config.epochs - 1, None)
    model.eval()
    return FitResult(model, best[1], best[0], history, time.perf_counter() - t0, stepper.replays)


def _check_vmappable(model: nn.Module) -> None:
    for name, mod in model.named_modules():
        if isinstance(mod, nn.modules.batchnorm._BatchNorm) and mod.track_running_stats:
            raise ValueError(
                f"fit_ensemble cannot vmap BatchNorm running statistics (module {name!r}); "
                "train such models one by one with fit()"
            )


def _graphs_wanted(graphs: bool | None, config: FitConfig, device: torch.device) -> bool:
    """Whether ``fit_ensemble`` replays its step as a CUDA graph (see the module docstring)."""
    possible = device.type == "cuda" and config.schedule == "none" and config.optimizer == "adam"
    if graphs is None:
        return possible and cuda_graphs_enabled()
    if graphs and not possible:
        raise ValueError(
            f"graphs=True needs a CUDA device, schedule='none' and optimizer='adam'; got device {device}, "
            f"schedule={config.schedule!r}, optimizer={config.optimizer!r}")
    return bool(graphs)


class _Stepper:
    """One training step of the vmapped ensemble, eager or replayed from a CUDA graph.

    Full batches run eagerly for ``warmup`` steps (on a side stream, as CUDA graphs need), then the
    next one is captured and every later one replays the graph on static copies of its batch. Other
    batch sizes (the last, partial batch of an epoch) run eagerly on the same parameters, gradients
    and optimiser state. Gradients are zeroed in place, never freed, so eager and replayed steps
    share them.
    """

    def __init__(self, loss, opt, total: Tensor, batch_size: int, graphs: bool, warmup: int = 3,
                 batch_dim: int = 1):
        self.loss, self.opt, self.total = loss, opt, total
        self.batch_size, self.graphs, self.warmup, self.batch_dim = batch_size, graphs, warmup, batch_dim
        self.graph = self.static = None
        self.replays = 0

    def reset(self, warmup: int = 1) -> None:
        """Record the graph anew at the next full batch (after the lr changed: a graph holds it fixed)."""
        self.graph = self.static = None
        self.warmup = warmup

    def _step(self, xb: Tensor, yb: Tensor) -> None:
        losses = self.loss(xb, yb)  # (M,) for the ensemble, () for one model
        self.opt.zero_grad(set_to_none=not self.graphs)
        losses.sum().backward()
        self.opt.step()
        self.total.add_(losses.detach() * xb.shape[self.batch_dim])

    def __call__(self, xb: Tensor, yb: Tensor) -> None:
        if not self.graphs or xb.shape[self.batch_dim] != self.batch_size:
            return self._step(xb, yb)
        if self.graph is not None:
            for dst, src in zip(self.static, (xb, yb)):
                dst.copy_(src)
            self.graph.replay()
            self.replays += 1
            return None
        current = torch.cuda.current_stream()
        if self.warmup > 0:
            self.warmup -= 1
            side = torch.cuda.Stream()
            side.wait_stream(current)
            with torch.cuda.stream(side):
                self._step(xb, yb)
            current.wait_stream(side)
            return None
        self.static = (xb.clone(), yb.clone())
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self._step(*self.static)
        self.graph = graph
        graph.replay()  # capturing records the step without running it
        self.replays += 1
        return None


def fit_ensemble(
    models: Sequence[nn.Module],
    train: tuple[Tensor, Tensor],
    val: tuple[Tensor, Tensor] | None = None,
    config: FitConfig = FitConfig(),
    *,
    seeds: Sequence[int] | None = None,
    loss_fn: LossFn | None = None,
    augment: Augment | None = None,
    score_fn: ScoreFn | None = None,
    member_args: Tensor | None = None,
    graphs: bool | None = None,
    device: torch.device | str | None = None,
    desc: str = "fit_ensemble",
) -> EnsembleResult:
    """Train M models of one architecture at once, as one ``torch.func.vmap``-ped model.

    Member m sees the batch order and augmentations of ``fit(models[m], ..., seed=seeds[m])``
    and keeps its own best-validation weights. Arguments as in ``fit``; ``seeds`` defaults to
    ``0..M-1`` (repeat a seed to give several members the same batches). ``loss_fn`` and
    ``augment`` must be vmap-compatible (no ``.item()``, no data-dependent control flow);
    randomness inside ``loss_fn`` differs per member.

    Args:
        member_args: ``(M, ...)`` tensor, or None. When given, ``loss_fn(forward, x, y, a)`` gets
            member m's ``a = member_args[m]`` (e.g. a regularisation weight per member).
        graphs: replay the step as a CUDA graph; None: on CUDA with a constant lr and Adam, unless
            ``HELPERS_CUDA_GRAPHS=0`` (module docstring). True where that is impossible is an error.

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
    _check_vmappable(models[0])
    device = torch.device(device) if device is not None else next(models[0].parameters()).device
    use_graphs = _graphs_wanted(graphs, config, device)
    for m in models:
        m.to(device).train()
    x, y = (t.to(device) for t in _check_data("train", train))
    xv, yv = (t.to(device) for t in _check_data("val", val)) if val is not None else (None, None)
    loss_fn = loss_fn or _default_loss(config.task)
    score_fn = score_fn or _default_score(config.task)
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
    stepper = _Stepper(lambda xb, yb: batched_loss(params, buffers, xb, yb, *extra), opt, total,
                       config.batch_size, use_graphs)

    best_score = torch.full((M,), -math.inf)
    best_epoch = [config.epochs - 1] * M
    best_state = {k: t.detach().clone() for k, t in {**params, **buffers}.items()}
    history: dict[str, list[list[float]]] = {"train_loss": [], "val_score": []}
    bar = tqdm(range(config.epochs), desc=desc, disable=not progress_enabled(), leave=False)
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
        if xv is None:
            continue
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
    for m, model in enumerate(models):
        state = best_state if xv is not None else {**params, **buffers}
        model.load_state_dict({k: t[m].detach().clone() for k, t in state.items()})
        model.eval()
    if xv is None:
        best_score = torch.full((M,), math.nan)
    return EnsembleResult(list(models), best_epoch, best_score.tolist(), history, time.perf_counter() - t0,
                          stepper.replays)
