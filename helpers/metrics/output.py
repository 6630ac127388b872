"""The output lens of Moskalev et al. 2023 (ch1, Table 1) on trained models, and its nu rule.

``output_lens`` gives Table 1's columns for each member of an ensemble: test accuracy (%), LI (eq. 2), DI (eq. 1),
SI (eq. 3) and, if asked, sigma_max of the input Jacobian (Fig. 5). ``pick_nu`` is the paper's rule for the weight of
the invariance regulariser (eq. 4, Sec. 4.1): the smallest nu whose models reach the SI target. Chapter 1 measures
its models with them and chapter 5 its zoo.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from torch import Tensor, nn

from ..groups import CyclicGroup
from ..training import accuracy, predict
from .invariance import distribution_invariance, logit_invariance, saliency_invariance
from .sensitivity import jacobian_sigma_max

__all__ = ["output_lens", "pick_nu"]


def output_lens(models: Sequence[nn.Module], test: tuple[Tensor, Tensor], group: CyclicGroup, n_eval: int, n_si: int,
                ig_steps: int, sensitivity: bool = False) -> dict:
    """Table 1's columns for each of M members: accuracy (%) on every test image, LI and DI on the first
    ``n_eval``, SI on the first ``n_si`` (``ig_steps`` integrated-gradient steps), and sigma_max(J) on the first
    ``n_eval`` if ``sensitivity``.

    Args:
        test: ``(x (B, ...), y (B,))``, moved to the models' device here.
    Returns:
        ``{"acc": [M], "LI": [M], "DI": [M], "SI": [M], ("sigma_max": [M])}``.
    """
    x, y = test
    dev = next(models[0].parameters()).device
    xe, xs, ys = x[:n_eval].to(dev), x[:n_si].to(dev), y[:n_si].to(dev)
    out = {"acc": [100 * accuracy(predict(m, x.to(dev)), y.to(dev)) for m in models],
           "LI": [logit_invariance(m, xe, group) for m in models],
           "DI": [distribution_invariance(m, xe, group) for m in models],
           "SI": [saliency_invariance(m, xs, group, ys, n_steps=ig_steps) for m in models]}
    if sensitivity:
        out["sigma_max"] = [jacobian_sigma_max(m, xe) for m in models]
    return out


def pick_nu(sweep: Mapping[float, Mapping], target: float) -> float:
    """The smallest nu whose mean SI reaches ``target`` (Sec. 4.1's rule); else the nu of the highest SI.

    Args:
        sweep: ``{nu: {"SI": per-member values, ...}}`` (``output_lens`` of each nu's models).
    """
    ok = [nu for nu, r in sorted(sweep.items()) if np.mean(r["SI"]) >= target]
    return ok[0] if ok else max(sweep, key=lambda nu: np.mean(sweep[nu]["SI"]))
