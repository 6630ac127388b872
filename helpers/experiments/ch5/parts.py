"""Chapter 5's compute as parts: each trains one family of the zoo (every configuration's seeds as one ensemble)
and measures every member with every lens (``lenses.measure``). Parts return numbers and arrays, never models.

- ``regimes``: plain, DA-R4, DA-SO2 and WT at the base size;
- ``nu``: IR at every nu of the profile (nu = 0 included), base size, one ensemble;
- ``sizes``: plain and DA-R4 at each further width / depth;
- ``eta``: ML-η, chapter 2's net with its rotation eta learned by the ELBO (one sweep, one member per seed);
- ``cnn``: the CNN family (``SmallCNN``): plain, DA-R4, DA-SO2, WT and IR at every nu of ``cnn_nus``.
"""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Mapping

import pandas as pd
import torch

from ...parts import Needs, Part
from ..ch4.data import rotation_mnist
from .lenses import DEPTH, measure
from .settings import Settings
from .zoo import Config, train, train_ir

__all__ = ["all_parts", "run_regimes", "run_nu", "run_sizes", "run_eta", "zoo_data", "members", "frame", "PARTS"]

#: The chapter's parts, in the order the page reads them.
PARTS = ("regimes", "nu", "sizes", "eta", "cnn")

#: Version 2 adds LieGG layer by layer (``lenses.liegg_layers``); version 1 measured it on the logits only.
#: Version 3 adds the marginal-likelihood probe (``lenses.marginal_lens``) to every member.
_VERSION = 3
_DATA = ("n_train", "n_val", "n_test", "blur", "seeds", "fit", "activation", "n_eval", "n_si", "ig_steps",
         "probe_degrees", "probe_points")


def zoo_data(s: Settings, seed: int) -> dict:
    """Rotation-MNIST of chapter 4 (uniform angles, blur ``s.blur``, background 0), split by ``seed``."""
    return rotation_mnist(s.n_train, s.n_val, s.n_test, s.blur, seed)


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


def run_regimes(s: Settings, seed: int, device: torch.device) -> dict:
    """Part ``regimes``: ``{"members": {label: record}}`` for plain, DA-R4, DA-SO2 and WT at ``s.hidden``."""
    return {"members": _configs([Config(k, s.hidden) for k in ("plain", "DA-R4", "DA-SO2", "WT")],
                                zoo_data(s, seed), s, device)}


def run_nu(s: Settings, seed: int, device: torch.device) -> dict:
    """Part ``nu``: ``{"members": {label: record}}`` for IR at every nu of ``s.nus`` (one ensemble)."""
    return {"members": _ir(s.hidden, s.nus, zoo_data(s, seed), s, device)}


def run_sizes(s: Settings, seed: int, device: torch.device) -> dict:
    """Part ``sizes``: ``{"members": {label: record}}`` for plain and DA-R4 at every hidden size of ``s.sizes``."""
    return {"members": _configs([Config(k, h) for h in s.sizes for k in ("plain", "DA-R4")], zoo_data(s, seed), s,
                                device)}


def run_eta(s: Settings, seed: int, device: torch.device) -> dict:
    """Part ``eta``: ``{"members": {label: record}}`` for ML-η (``zoo.train_eta``)."""
    return {"members": _configs([Config("ML-η", (s.eta_hidden,))], zoo_data(s, seed), s, device)}


def run_cnn(s: Settings, seed: int, device: torch.device) -> dict:
    """Part ``cnn``: ``{"members": {label: record}}`` for the CNN family: plain, DA-R4, DA-SO2 and WT
    ``SmallCNN`` s (channels ``s.cnn``), then IR at every nu of ``s.cnn_nus`` (one ensemble), trained with
    ``s.cnn_fit``."""
    c, d = replace(s, fit=s.cnn_fit), zoo_data(s, seed)
    out = _configs([Config(k, s.cnn, arch="cnn") for k in ("plain", "DA-R4", "DA-SO2", "WT")], d, c, device)
    return {"members": out | (_ir(s.cnn, s.cnn_nus, d, c, device, "cnn") if s.cnn_nus else {})}


def all_parts(s: Settings) -> list[Part]:
    """The chapter's parts in profile settings ``s``."""
    return [Part("regimes", run_regimes, Needs(gpu=True, memory_gb=2.0), uses=_DATA + ("hidden",), version=_VERSION,
                 description="plain, DA-R4, DA-SO2 and WT MLPs, every lens"),
            Part("nu", run_nu, Needs(gpu=True, memory_gb=2.0), uses=_DATA + ("hidden", "nus"), version=_VERSION,
                 description="IR (ch1's eq. 4) at every nu, one ensemble, every lens"),
            Part("sizes", run_sizes, Needs(gpu=True, memory_gb=2.0), uses=_DATA + ("sizes",), version=_VERSION,
                 description="plain and DA-R4 at further widths and depths, every lens"),
            Part("eta", run_eta, Needs(gpu=True, memory_gb=2.0),
                 uses=_DATA + ("eta_hidden", "eta_fit", "eta_init_degrees", "eta_points"), version=_VERSION,
                 description="ML-η: chapter 2's net, rotation eta learned by the ELBO, every lens"),
            Part("cnn", run_cnn, Needs(gpu=True, memory_gb=2.0), uses=_DATA + ("cnn", "cnn_nus", "cnn_fit"),
                 version=_VERSION, description="the CNN family: plain, DA-R4, DA-SO2, WT (tied kernels), IR")]


def members(ev: Mapping) -> dict[str, dict]:
    """``{label: record}`` over every part of a page's evidence (the zoo's configurations)."""
    return {k: r for name in PARTS if name in ev for k, r in ev[name]["members"].items()}


def frame(ev: Mapping):
    """One row per trained network (configuration x seed), one column per lens (``lenses.LENSES``) plus
    ``config``, ``kind``, ``nu``, ``arch`` (``mlp`` / ``cnn``), ``member`` (seed index) and ``hidden``; per-depth columns ``inv_``, ``eqv_`` and
    ``lie_`` + Early / Middle / Late / Final (NaN for ML-η), ``eta_star`` (the probe's eta, degrees; NaN in
    records before the probe) and ``eta_learned`` (ML-η's own eta, NaN otherwise): a ``pandas.DataFrame``."""
    rows = []
    for lab, r in members(ev).items():
        for m in range(len(r["acc"])):
            row = {"config": lab, "kind": r["kind"], "nu": r["nu"], "hidden": "×".join(map(str, r["hidden"])),
                   "arch": r.get("arch", "mlp"), "member": m}
            row |= {k: float(r[k][m]) for k in ("acc", "LI", "DI", "SI", "liegg_variance", "liegg_bias",
                                                "liegg_rotation")}
            row["eta_star"] = float(r["eta_star"][m]) if "eta_star" in r else float("nan")
            learned = r.get("eta_learned", [None] * len(r["acc"]))[m]
            row["eta_learned"] = float("nan") if learned is None else float(learned)
            row |= {f"inv_{p}": float(r["inv_parts"][m][i]) for i, p in enumerate(DEPTH)}
            row |= {f"eqv_{p}": float(r["eqv_parts"][m][i]) for i, p in enumerate(DEPTH)}
            row |= {f"lie_{p}": float(r["lie_parts"][m][i]) for i, p in enumerate(DEPTH)}
            rows.append(row)
    return pd.DataFrame(rows)
