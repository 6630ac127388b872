"""Metric throughput: ch1's invariance measures batched over the orbit vs the per-sample / per-element loops.

* SI (eq. 3 of ch1): ``helpers.metrics.saliency_invariance`` runs integrated gradients for all ``G * B``
  orbit members in one captum call; the usual way loops over samples and group elements, one captum call
  (of ``n_steps`` images) per transformed image, with the same ``saliency_postprocess``, so that both
  compute the same number (checked).
* LI and DI (eqs. 1, 2): one forward pass over the stacked orbit vs one pass per group element.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from captum.attr import IntegratedGradients

from helpers.groups import ROT4
from helpers.metrics import invariance_penalty, orbit_logits, saliency_invariance, saliency_postprocess
from helpers.models import MLP

from .timing import median_time
from .training import transforming_mnist_train

__all__ = ["saliency_per_sample", "invariance_per_element", "run"]


def saliency_per_sample(model, x: torch.Tensor, y: torch.Tensor, group=ROT4, n_steps: int = 16) -> float:
    """SI the usual way: for each sample and each group element, one IG call on one image."""
    ig = IntegratedGradients(model)
    cos = []
    for xb, yb in zip(x, y):
        maps = []
        for g in range(group.order):
            gx = group.act(xb, g)[None]  # (1, H, W)
            m = saliency_postprocess(ig.attribute(gx, baselines=torch.zeros_like(gx), target=int(yb), n_steps=n_steps))
            maps.append(group.act(m[0], group.inverse(g)))
        cos += [F.cosine_similarity(maps[g].flatten(), maps[0].flatten(), dim=0, eps=1e-12) for g in range(1, group.order)]
    return float(torch.stack(cos).mean())


@torch.no_grad()
def invariance_per_element(model, x: torch.Tensor, group=ROT4) -> tuple[float, float]:
    """LI and DI the usual way: one forward pass per group element."""
    z0 = model(x)
    li, di = [], []
    for g in range(1, group.order):
        zg = model(group.act(x, g))
        li.append(0.5 * (zg - z0).pow(2).sum(-1).mean())
        p0 = F.log_softmax(z0, -1)
        di.append((p0.exp() * (p0 - F.log_softmax(zg, -1))).sum(-1).mean())
    return float(torch.stack(li).mean()), float(torch.stack(di).mean())


@torch.no_grad()
def _li_di_orbit(model, x: torch.Tensor) -> tuple[float, float]:
    """LI and DI from one forward pass over the stacked orbit (``orbit_logits``), as the metrics compute them."""
    z = orbit_logits(model, x, ROT4)  # (G, B, K)
    return float(invariance_penalty(z, "l2")), float(invariance_penalty(z, "kl"))


def run(device: torch.device, n_si: int = 64, n_inv: int = 10_000, repeats: int = 3, n_steps: int = 16) -> list[dict]:
    """SI batched vs per sample (``n_si`` images), LI+DI one pass vs per element (``n_inv`` images)."""
    x, y = transforming_mnist_train(max(n_si, n_inv))
    x, y = x.to(device), y.to(device)
    torch.manual_seed(0)
    model = MLP(36 * 36, [128] * 4, 9).to(device).eval()
    xs, ys = x[:n_si], y[:n_si]
    ours = saliency_invariance(model, xs, ROT4, ys, n_steps=n_steps)
    theirs = saliency_per_sample(model, xs, ys, ROT4, n_steps)
    if abs(ours - theirs) > 1e-4:
        raise RuntimeError(f"SI batched {ours} != per-sample {theirs}: the benchmark would compare different work")
    rows = []
    t_b = median_time(lambda: saliency_invariance(model, xs, ROT4, ys, n_steps=n_steps), device, repeats)
    t_l = median_time(lambda: saliency_per_sample(model, xs, ys, ROT4, n_steps), device, max(1, repeats - 2))
    for name, t in (("batched over the orbit", t_b), ("per sample and element", t_l)):
        rows.append({"benchmark": f"SI (IG, {n_steps} steps) of {n_si} images, R4", "method": name, "seconds": t,
                     "samples_per_s": n_si / t, "slowdown": t / t_b})
    xi = x[:n_inv]
    li_b, di_b = _li_di_orbit(model, xi)
    li_l, di_l = invariance_per_element(model, xi, ROT4)
    if abs(li_b - li_l) > 1e-4 * max(1.0, li_l) or abs(di_b - di_l) > 1e-5:
        raise RuntimeError("LI/DI one pass != per element: the benchmark would compare different work")
    t_b = median_time(lambda: _li_di_orbit(model, xi), device, repeats)
    t_l = median_time(lambda: invariance_per_element(model, xi, ROT4), device, repeats)
    for name, t in (("one pass over the orbit", t_b), ("one pass per element", t_l)):
        rows.append({"benchmark": f"LI + DI of {n_inv} images, R4", "method": name, "seconds": t,
                     "samples_per_s": n_inv / t, "slowdown": t / t_b})
    return rows
