"""One training step, eager or replayed from a CUDA graph (``fit`` with ``graphs=True``, ``fit_ensemble`` on CUDA)."""
from __future__ import annotations

import torch
from torch import Tensor

from .config import FitConfig, cuda_graphs_enabled

__all__: list[str] = []


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
        self.graph: torch.cuda.CUDAGraph | None = None
        self.static: tuple[Tensor, Tensor] | None = None
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
        if self.graph is not None and self.static is not None:
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
