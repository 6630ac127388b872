"""Chapter 5's training runs, the compute of its parts (``parts``): each trains one family of the zoo (every
configuration's seeds as one ensemble, ``zoo``) and measures every member with every lens (``lenses.measure``);
they return numbers and arrays, never models.
"""
from __future__ import annotations

import time
from dataclasses import replace

import torch

from ..ch4 import rotation_mnist
from .lenses import measure
from .settings import Settings
from .zoo import Config, train, train_ir

__all__ = ["zoo_data", "run_regimes", "run_nu", "run_sizes", "run_eta", "run_cnn"]


def zoo_data(s: Settings) -> dict:
    """Rotation-MNIST of chapter 4 (uniform angles, blur ``s.blur``, background 0), split with seed 0."""
    return rotation_mnist(s.n_train, s.n_val, s.n_test, s.blur)


def _record(cfg: Config, models, d: dict, s: Settings, wall: float) -> dict:
    return {"kind": cfg.kind, "hidden": list(cfg.hidden), "nu": cfg.nu, "arch": cfg.arch, "train_s": wall,
            **measure(models, d["test"], s, d["train"])}


def _configs(configs: list[Config], d: dict, s: Settings, device) -> dict:
    """``{label: record}`` of each configuration trained on ``d`` (one ensemble each)."""
    out = {}
    for cfg in configs:
        t0 = time.perf_counter()
        models = train(cfg, d, s, device)
        out[cfg.label] = _record(cfg, models, d, s, time.perf_counter() - t0)
    return out


def _ir(hidden, nus, d: dict, s: Settings, device, arch: str = "mlp") -> dict:
    """``{label: record}`` of IR at every nu of ``nus``, trained as one ensemble (the wall time split evenly)."""
    t0 = time.perf_counter()
    sweep = train_ir(hidden, nus, d, s, device, arch)
    wall = (time.perf_counter() - t0) / len(sweep)
    cfgs = {nu: Config("IR", tuple(hidden), nu, arch) for nu in sweep}
    return {cfgs[nu].label: _record(cfgs[nu], ms, d, s, wall) for nu, ms in sweep.items()}


def run_regimes(s: Settings, device: torch.device) -> dict:
    """Part ``regimes``: ``{"members": {label: record}}`` for plain, DA-R4, DA-SO2 and WT at ``s.hidden``."""
    return {"members": _configs([Config(k, s.hidden) for k in ("plain", "DA-R4", "DA-SO2", "WT")],
                                zoo_data(s), s, device)}


def run_nu(s: Settings, device: torch.device) -> dict:
    """Part ``nu``: ``{"members": {label: record}}`` for IR at every nu of ``s.nus`` (one ensemble)."""
    return {"members": _ir(s.hidden, s.nus, zoo_data(s), s, device)}


def run_sizes(s: Settings, device: torch.device) -> dict:
    """Part ``sizes``: ``{"members": {label: record}}`` for plain and DA-R4 at every hidden size of ``s.sizes``."""
    return {"members": _configs([Config(k, h) for h in s.sizes for k in ("plain", "DA-R4")], zoo_data(s), s,
                                device)}


def run_eta(s: Settings, device: torch.device) -> dict:
    """Part ``eta``: ``{"members": {label: record}}`` for ML-η (``zoo.train_eta``)."""
    return {"members": _configs([Config("ML-η", (s.eta_hidden,))], zoo_data(s), s, device)}


def run_cnn(s: Settings, device: torch.device) -> dict:
    """Part ``cnn``: ``{"members": {label: record}}`` for the CNN family: plain, DA-R4, DA-SO2 and WT
    ``SmallCNN`` s (channels ``s.cnn``), then IR at every nu of ``s.cnn_nus`` (one ensemble), trained with
    ``s.cnn_fit``."""
    c, d = replace(s, fit=s.cnn_fit), zoo_data(s)
    out = _configs([Config(k, s.cnn, arch="cnn") for k in ("plain", "DA-R4", "DA-SO2", "WT")], d, c, device)
    return {"members": out | (_ir(s.cnn, s.cnn_nus, d, c, device, "cnn") if s.cnn_nus else {})}
