"""Chapter 3's networks measured along training (issue 40, item 4): the validation curve of every CIFAR network,
its in/equivariance (eqs. 4 and 7) at chosen epochs with the validation accuracy at each (read by ``results``'
matched-accuracy rule).

``Tracker`` rides inside ``training.fit`` without changing it: ``fit`` calls its ``score_fn`` once per epoch in eval
mode, where ``Tracker.score`` records the curve and measures the network at the chosen epochs (no random draws, so
the training's numbers stay the same). The tracker is the loss too (wrapping the part's), so ``fit``'s checkpoints
save and restore its curve and points with the training.
"""
from __future__ import annotations

import copy
import time
from typing import Any

import numpy as np
import torch.nn.functional as F
from torch import Tensor, nn

from ...training import accuracy
from .equivariance import measure
from .settings import MEASURES

__all__ = ["Tracker", "StopTraining"]


class StopTraining(Exception):
    """Raised by ``Tracker.score`` once a network's validation accuracy reaches the tracker's ``stop_acc``."""


class Tracker:
    """The loss and the score of one ``fit``: the validation curve, and ``model`` (the network ``fit`` trains, in
    eval mode) measured on ``x (n, C, H, W)`` under ``transforms`` after the ``epochs`` (1-based, counted as they
    end). ``loss_fn``: the part's loss ``loss_fn(forward, x, y)`` (default: cross-entropy), its state (e.g. CutMix's
    draws) kept inside the tracker's; ``stop_acc``: stop training (``StopTraining``, after measuring) once the
    validation accuracy reaches this many per cent (None: the whole schedule).
    """

    def __init__(self, model: nn.Module, x: Tensor, transforms: list, epochs=(), loss_fn=None,
                 stop_acc: float | None = None):
        if any(int(e) < 1 for e in epochs):
            raise ValueError(f"track epochs count from 1, got {sorted(epochs)}")
        self.model, self.x, self.transforms = model, x, transforms
        self.epochs, self.stop_acc = {int(e) for e in epochs}, stop_acc
        self.inner: Any = loss_fn or (lambda forward, x, y: F.cross_entropy(forward(x), y))  # fit's default loss
        self.epoch = 0
        self.curve: list[float] = []
        self.points: list[dict] = []
        # seconds: training of earlier runs (up to their checkpoint), tracked measures of earlier runs and of this one
        self.earlier_s, self.earlier_measure_s, self.measure_s, self._t0 = 0.0, 0.0, 0.0, time.perf_counter()

    def __call__(self, forward, x: Tensor, y: Tensor) -> Tensor:
        return self.inner(forward, x, y)

    def score(self, outputs: Tensor, y: Tensor) -> float:
        """``fit``'s score (top-1 accuracy, a fraction); records it and measures the network where due."""
        acc = accuracy(outputs, y)
        self.epoch += 1
        self.curve.append(100 * acc)
        stop = self.stop_acc is not None and 100 * acc >= self.stop_acc
        if self.epoch in self.epochs or stop:
            t0 = time.perf_counter()
            r = measure(self.model, self.x, self.transforms)
            self.points.append({"epoch": self.epoch, "acc": 100 * acc,
                                **{f"{k}_parts": np.asarray(r[f"{k}_parts"]) for k in MEASURES}})
            self.measure_s += time.perf_counter() - t0
        if stop:
            raise StopTraining(f"validation accuracy {100 * acc:.1f} % >= {self.stop_acc} % at epoch {self.epoch}")
        return acc

    def train_s(self) -> float:
        """Seconds of training so far (earlier runs up to their checkpoint included), tracked measures excluded."""
        return self.earlier_s + time.perf_counter() - self._t0 - self.measure_s

    def state_dict(self) -> dict:
        inner = self.inner.state_dict() if hasattr(self.inner, "state_dict") else None
        return {"epoch": self.epoch, "curve": list(self.curve), "points": copy.deepcopy(self.points),
                "train_s": self.train_s(), "measure_s": self.earlier_measure_s + self.measure_s, "inner": inner}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.curve, self.points = state["epoch"], list(state["curve"]), copy.deepcopy(state["points"])
        self.earlier_s, self.earlier_measure_s = state["train_s"], state["measure_s"]
        self.measure_s, self._t0 = 0.0, time.perf_counter()
        if state["inner"] is not None:
            self.inner.load_state_dict(state["inner"])

    def result(self) -> dict:
        """``{"curve": [val acc % per epoch], "track": [points], "track_s": seconds of tracked measures}``."""
        return {"curve": np.asarray(self.curve, float), "track": self.points,
                "track_s": self.earlier_measure_s + self.measure_s}

