"""Metric throughput: ch1's invariance measures batched over the orbit vs the per-sample / per-element loops.

* SI (eq. 3 of ch1): ``helpers.metrics.saliency_invariance`` runs integrated gradients for all ``G * B``
  orbit members in one captum call; the usual way loops over samples and group elements, one captum call
  (of ``n_steps`` images) per transformed image, with the same ``saliency_postprocess``, so that both
  compute the same number (checked).
* LI and DI (eqs. 1, 2): one forward pass over the stacked orbit vs one pass per group element.
* ch3's measure (eqs. 4, 7) of a wide ResNet: ``layer_in_equivariance`` streams image batches and keeps
  their maps on the model's device vs every layer's maps of all images copied to the host and compared
  there (the chapter's measure until 2026-11-23), the same numbers (checked).
* ch3's RandAugment of one training batch: ``ch3.randaugment_batch`` (one torchvision call per drawn
  operation and sign) vs torchvision's ``v2.RandAugment`` called image by image (the same distribution
  of operations, different draws).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from captum.attr import IntegratedGradients

from helpers.experiments import ch3
from helpers.groups import ROT4
from helpers.metrics import (capture, invariance_penalty, layer_in_equivariance, orbit_logits, saliency_invariance,
                             saliency_postprocess)
from helpers.metrics.similarity import in_equivariance_readings
from helpers.models import MLP

from .timing import median_time
from .training import transforming_mnist_train

__all__ = ["saliency_per_sample", "invariance_per_element", "measure_on_host", "randaugment_per_image", "run"]


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


def measure_on_host(model, layers: dict, x: torch.Tensor, transforms: list) -> dict:
    """ch3's measure with every layer's maps of all images copied to the host and compared there (float64)."""
    H = x.shape[-1]
    base = capture(model, layers, x)  # {name: (B, ...)} on the CPU
    scores = []  # (T, L, 3)
    for t in transforms:
        moved = capture(model, layers, t(x, H))
        scores.append([in_equivariance_readings(moved[k], t(base[k], H) if base[k].ndim == 4 else base[k],
                                                "correlation")
                       for k in layers])
    mean = np.mean(scores, axis=0)  # (L, 3)
    return dict(zip(("invariance", "equivariance", "equivariance_shared"), mean.T))


def randaugment_per_image(x: torch.Tensor, ra) -> torch.Tensor:
    """RandAugment the usual way on a tensor batch: torchvision's ``v2.RandAugment`` image by image."""
    u8 = (x * 255).round().to(torch.uint8)
    return torch.stack([ra(xi) for xi in u8]).float() / 255


@torch.no_grad()
def _li_di_orbit(model, x: torch.Tensor) -> tuple[float, float]:
    """LI and DI from one forward pass over the stacked orbit (``orbit_logits``), as the metrics compute them."""
    z = orbit_logits(model, x, ROT4)  # (G, B, K)
    return float(invariance_penalty(z, "l2")), float(invariance_penalty(z, "kl"))


def run(device: torch.device, n_si: int = 64, n_inv: int = 10_000, repeats: int = 3, n_steps: int = 16,
        n_measure: int | None = None, width: int | None = None) -> list[dict]:
    """SI batched vs per sample (``n_si`` images), LI+DI one pass vs per element (``n_inv`` images), ch3's
    measure of WRN-40-``width`` on ``n_measure`` images (default: k = 4, 500 on CUDA; k = 1, 100 on a CPU)
    and ch3's RandAugment of a batch of 128."""
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
    rows += _ch3_rows(device, repeats, n_measure, width)
    return rows


def _ch3_rows(device: torch.device, repeats: int, n_measure: int | None, width: int | None) -> list[dict]:
    cuda = device.type == "cuda"
    n, k = n_measure or (500 if cuda else 100), width or (4 if cuda else 1)
    torch.manual_seed(0)
    model = ch3.CifarResNet(6, k).to(device).eval()
    x = torch.rand(n, 3, 32, 32, generator=torch.Generator().manual_seed(0)).to(device)
    shifts = [ch3.diagonal_shift(p) for p in (4, 8, 12, 16)]
    ours = layer_in_equivariance(model, model.layers(), x, shifts)
    theirs = measure_on_host(model, model.layers(), x, shifts)
    for key, v in theirs.items():
        if max(abs(a - b) for a, b in zip(ours[key], v)) > 1e-6:
            raise RuntimeError(f"ch3 measure ({key}): streamed != on the host; the benchmark would compare different work")
    rows = []
    t_d = median_time(lambda: layer_in_equivariance(model, model.layers(), x, shifts), device, repeats)
    t_h = median_time(lambda: measure_on_host(model, model.layers(), x, shifts), device, max(1, repeats - 2))
    for name, t in (("streamed on the device", t_d), ("maps to the host", t_h)):
        rows.append({"benchmark": f"ch3 measure, WRN-40-{k}, {n} images, 4 shifts", "method": name, "seconds": t,
                     "samples_per_s": n / t, "slowdown": t / t_d})
    from torchvision.transforms import v2
    ra, gen = v2.RandAugment(), torch.Generator().manual_seed(0)
    xb = torch.rand(128, 3, 32, 32, generator=gen).to(device)
    t_b = median_time(lambda: ch3.randaugment_batch(xb, gen), device, repeats)
    t_i = median_time(lambda: randaugment_per_image(xb, ra), device, repeats)
    for name, t in (("grouped by operation", t_b), ("image by image", t_i)):
        rows.append({"benchmark": "ch3 RandAugment of a batch of 128", "method": name, "seconds": t,
                     "samples_per_s": 128 / t, "slowdown": t / t_b})
    return rows
