"""LieGG read-outs of trained networks (spectrum, bias, variance, generator) per model and per layer, as the parts
store them; the metrics themselves are ``helpers.metrics.liegg`` (eqs. 2-4 of Moskalev et al. 2022).
"""
from __future__ import annotations

from typing import Sequence, cast

import torch
from torch import Tensor, nn

from ...metrics import polarization_matrix, polarization_matrix_image, spectrum_and_bias
from ...models import count_parameters
from .models import sub_network
from .settings import Settings

__all__ = ["measure", "summarise", "layerwise", "sample_complexity"]


def measure(model: nn.Module, images: Tensor, layer: int | None = None, background: float | None = 0.0) -> dict:
    """LieGG on images (eq. 3): ``spectrum_and_bias`` of the image polarization matrix.

    Args:
        model: an ``MLP`` taking ``(B, [C,] H, W)``; images: ``(N, [C,] H, W)``, smoothed.
        layer: measure the features after this many Linear layers (1-based, with their activation) instead
            of the logits; their L2-normalised sum plays the role of ``F``.
        background: the images' value outside their frame (``polarization_matrix_image``): 0 for rotated
            MNIST, ``None`` (one-sided differences at the frame) for photos.
    Raises ``ValueError`` for a layer the model does not have.
    """
    fn = model if layer is None else sub_network(cast(nn.Sequential, model), layer)  # an MLP
    E = polarization_matrix_image(fn, images, normalize=True, background=background)  # (N, 4)
    return spectrum_and_bias(E)


def summarise(models: Sequence[nn.Module], acc: Tensor, x: Tensor, device: torch.device,
              background: float | None = 0.0) -> dict:
    """LieGG on the training images ``x (N, [C,] H, W)`` for each of M trained image classifiers (``background`` as
    in ``measure``): ``test_acc (M,)`` (``acc``), ``sigma (M, 4)``, ``bias (M, 4)`` (per singular vector, ascending
    sigma), ``variance (M,)``, ``variance_pixel_units (M,)``, ``generator (M, 2, 2)`` and ``params``."""
    per = [measure(m, x.to(device), background=background) for m in models]
    half = x.shape[-1] / 2
    return {"test_acc": acc, "sigma": torch.stack([p["sigma"] for p in per]),  # (M, 4)
            # the authors' code differentiates per pixel, not per unit of the [-1, 1] coordinates:
            "variance_pixel_units": torch.tensor([p["variance"] / half**2 for p in per]),  # (M,)
            "bias": torch.stack([p["bias"] for p in per]),  # (M, 4)
            "variance": torch.tensor([p["variance"] for p in per]),  # (M,)
            "generator": torch.stack([p["generator"] for p in per]),  # (M, 2, 2)
            "params": count_parameters(models[0])}


def layerwise(models: Sequence[nn.Module], acc: Tensor, x: Tensor, device: torch.device) -> dict:
    """Variance and bias (of the smallest singular vector) after each Linear layer of M MLPs (Fig. 5): ``variance
    (M, L)``, ``bias (M, L)`` with L the number of Linear layers, and ``test_acc (M,)``."""
    n_lin = sum(isinstance(m, nn.Linear) for m in cast(nn.Sequential, models[0]))  # MLPs
    per = [[measure(m, x.to(device), layer=l) for l in range(1, n_lin + 1)] for m in models]
    return {"variance": torch.tensor([[p["variance"] for p in row] for row in per]),  # (M, L)
            "bias": torch.stack([torch.stack([p["bias"][0] for p in row]) for row in per]),  # (M, L)
            "test_acc": acc}


def sample_complexity(s: Settings, model: nn.Module, x: Tensor, *, images: bool, seed: int = 0) -> dict:
    """Appendix A.2: LieGG from a random fraction of the training rows vs from all of them. The rows of the
    polarization matrix are per sample, so E is computed once (from ``model``'s training inputs ``x``: ``(N, H, W)``
    images or ``(N, 10)`` O(5) points) and subsampled, never to fewer rows than unknowns.

    Returns:
        ``fractions (L,)``, ``variance (L, R)`` and ``bias (L, R)`` over ``R`` random subsets, and the
        full-data values ``variance_full``, ``bias_full``. For O(5) (``images=False``) variance and bias
        are the mean of the ten smallest directions and their largest bias.
    """
    E = (polarization_matrix_image(model, x, normalize=True) if images
         else polarization_matrix(model, x, blocks=2)).double()  # (N, D)
    k = 1 if images else 10

    def stat(Es: Tensor) -> tuple[float, float]:
        r = spectrum_and_bias(Es)
        return float((r["sigma"][:k] ** 2).mean() / len(Es)), float(r["bias"][:k].max())

    gen = torch.Generator().manual_seed(seed)
    var, bias = torch.zeros(len(s.fractions), s.fraction_repeats), torch.zeros(len(s.fractions), s.fraction_repeats)
    for i, f in enumerate(s.fractions):
        n = max(E.shape[1], round(f * len(E)))  # at least as many rows as unknowns
        for r in range(s.fraction_repeats):
            var[i, r], bias[i, r] = stat(E[torch.randperm(len(E), generator=gen)[:n].to(E.device)])
    v_full, b_full = stat(E)
    return {"fractions": torch.tensor(s.fractions), "variance": var, "bias": bias,
            "variance_full": v_full, "bias_full": b_full}
