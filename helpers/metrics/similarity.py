"""Learned in- and equivariance of intermediate features (Bruintjes, Motyka & van Gemert 2023, ch3).

For a layer ``f`` with C feature maps, a transformation ``T_g`` acting on inputs and on feature maps,
and a similarity ``S`` of two maps:

    Invariance(f_c, g)   = S( f(T_g X)_c, T_g f(X)_c )                              (eq. 4)
    Equivariance(f_c, g) = max_{c'} S( f(T_g X)_c, T_g f(X)_{c'} )                 (eq. 7)

so a feature is *invariant* when the same channel follows the transformation, and belongs to an
*equivariant group* when some channel does (eq. 5). Equivariance >= invariance by construction (the
max runs over c' = c too). Both are averaged over channels, samples and group elements.

``S`` is the Pearson correlation (the paper's choice, Sec. 3.3) or the cosine similarity (which is
biased by the mean of the maps, Fig. 2a). Maps are compared over their last two dims ``(H, W)``.

Vectors after global pooling (the *Pool* and *Final* parts) have no spatial extent, so ``T_g`` acts on
them as the identity. Our decision: each channel of a pooled vector is a feature whose "map" is its
response over the evaluation images, i.e. ``S`` is computed along the sample axis. Then invariance
asks whether channel c responds to ``T_g X`` as it does to ``X`` across the data, and equivariance
whether *some* channel c' does.

Where the max over c' sits. In eq. 7, ``X`` is the evaluation set: ``S`` compares the maps of channel c over
all of X with those of channel c', so ONE channel c' is chosen per channel c for the whole set. That is
``matching="shared"`` (the default, the chapter's measure): S is averaged over the images first, then maximised
over c', as for a network whose channels ``T_g`` permutes. ``matching="sample"`` is a second reading: the max is
taken per image, then averaged. The per-image max has a chance floor: with C channels and maps of n pixels,
unrelated maps already reach about ``sqrt(2 ln C / n)`` (0.36 for 64 channels of 8x8), above the invariance
(one fixed channel, floor 0), which the shared max removes by averaging first. Both agree on exactly invariant
and exactly equivariant networks, and on pooled vectors (already compared across the images).
"""
from __future__ import annotations

import math

from typing import Callable, Iterable

import numpy as np
import torch
from torch import Tensor, nn

from .checks import check_batch

__all__ = ["SIMILARITIES", "PARTS", "feature_similarity", "similarity_matrix", "in_equivariance",
           "in_equivariance_readings", "capture", "token_maps", "partition", "layer_in_equivariance"]

SIMILARITIES = ("correlation", "cosine")
PARTS = ("Early", "Middle", "Late", "Pool", "Final")


def _check_kind(kind: str) -> None:
    if kind not in SIMILARITIES:
        raise ValueError(f"unknown similarity {kind!r}; valid: {list(SIMILARITIES)}")


def _normalise(v: Tensor, kind: str, eps: float) -> tuple[Tensor, Tensor]:
    """Unit vectors along the last dim (centred first for correlation) and a mask of constant vectors."""
    v = v.double()
    if kind == "correlation":
        v = v - v.mean(-1, keepdim=True)
    norm = v.norm(dim=-1, keepdim=True)  # (..., 1)
    flat = norm[..., 0] <= eps * (1 + v.abs().amax(-1))  # (...) constant (correlation) / zero (cosine)
    return v / norm.clamp_min(eps), flat


def feature_similarity(a: Tensor, b: Tensor, kind: str = "correlation", eps: float = 1e-8) -> Tensor:
    """Similarity of feature maps over their last two dims, one value per leading index.

    ``correlation``: Pearson correlation (centred cosine), invariant to adding a constant to either map
    and to scaling it; ``cosine``: cosine similarity. Two constant maps (e.g. a dead ReLU channel)
    compare as 1 (a constant map is trivially unchanged by any transformation); a constant map and a
    varying one as 0.

    Args:
        a, b: ``(..., H, W)`` of the same shape.
        kind: ``"correlation"`` or ``"cosine"``.
    Returns:
        ``(...)`` in [-1, 1] (float64).
    """
    _check_kind(kind)
    if a.shape != b.shape or a.ndim < 2:
        raise ValueError(f"a and b must be (..., H, W) of one shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    check_batch("a", a.reshape(-1, *a.shape[-2:]))
    check_batch("b", b.reshape(-1, *b.shape[-2:]))
    ua, fa = _normalise(a.flatten(-2), kind, eps)  # (..., H*W)
    ub, fb = _normalise(b.flatten(-2), kind, eps)
    s = (ua * ub).sum(-1)  # (...)
    return torch.where(fa & fb, torch.ones_like(s), s)


def similarity_matrix(a: Tensor, b: Tensor, kind: str = "correlation", eps: float = 1e-8) -> Tensor:
    """All pairs of channels: ``out[..., c, c'] = S(a[..., c, :], b[..., c', :])`` in one batched matmul.

    Args:
        a, b: ``(..., C, N)``: C features, each a vector of N values (a flattened map, or responses
            over samples).
    Returns:
        ``(..., C, C)`` (float64).
    """
    _check_kind(kind)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have one shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    ua, fa = _normalise(a, kind, eps)  # (..., C, N)
    ub, fb = _normalise(b, kind, eps)
    s = ua @ ub.transpose(-1, -2)  # (..., C, C)
    both = fa[..., :, None] & fb[..., None, :]  # (..., C, C)
    return torch.where(both, torch.ones_like(s), s)


def in_equivariance(ft: Tensor, tf: Tensor, max_entries: float = 2e7, matching: str = "shared") -> tuple[float, float]:
    """Invariance (eq. 4) and equivariance (eq. 7) of one layer for one transformation, averaged (S: correlation).

    Args:
        ft: ``f(T_g X)``, either maps ``(B, C, H, W)`` or pooled vectors ``(B, C)``.
        tf: ``T_g f(X)`` of the same shape (for vectors: ``f(X)``).
        max_entries: samples are processed in chunks whose ``(chunk, C, C)`` matrix has at most this many entries.
        matching: ``"shared"`` (eq. 7 over the set X, the default): the best c' of the image-averaged
            similarity; ``"sample"``: the best channel c' per image, a second reading (module docstring).
            Invariance is the same for both.
    Returns:
        ``(invariance, equivariance)``: means over channels (and samples for maps).
    """
    if matching not in ("sample", "shared"):
        raise ValueError(f"unknown matching {matching!r}; valid: ['sample', 'shared']")
    inv, eqv, shared = in_equivariance_readings(ft, tf, "correlation", max_entries)
    return inv, (eqv if matching == "sample" else shared)


def _map_sums(ft: Tensor, tf: Tensor, kind: str, max_entries: float = 2e7) -> tuple[Tensor, Tensor, Tensor]:
    """Sums of eqs. 4 and 7 over the images and channels of maps ``(B, C, H, W)``, on their device.

    Returns:
        ``(invariance sum, equivariance sum with c' per image, (C, C) sum over images of S)``: float64;
        divide the first two by ``B * C``; the shared equivariance is ``(sum / B).amax(-1).mean()``.
    """
    C = ft.shape[1]
    chunk = max(1, int(max_entries // (C * C)))  # samples per batched (chunk, C, C) matrix
    inv = eqv = torch.zeros((), dtype=torch.float64, device=ft.device)
    total = torch.zeros(C, C, dtype=torch.float64, device=ft.device)
    for a, b in zip(ft.split(chunk), tf.split(chunk)):
        R = similarity_matrix(a.flatten(2), b.flatten(2), kind)  # (chunk, C, C) per sample
        inv = inv + torch.diagonal(R, dim1=-2, dim2=-1).sum()  # c' = c
        eqv = eqv + R.amax(-1).sum()  # the best-matching channel c' of each image
        total += R.sum(0)  # (C, C)
    return inv, eqv, total


def _map_scores(sums: tuple[Tensor, Tensor, Tensor], B: int) -> tuple[float, float, float]:
    """``(invariance, equivariance with c' per image, equivariance with c' shared)`` from ``_map_sums`` of B images."""
    inv, eqv, total = sums
    C = total.shape[0]
    return float(inv / (B * C)), float(eqv / (B * C)), float((total / B).amax(-1).mean())


def _vector_scores(ft: Tensor, tf: Tensor, kind: str) -> tuple[float, float, float]:
    """Pooled vectors ``(B, C)``: S along the sample axis (module docstring); both matchings agree."""
    R = similarity_matrix(ft.T, tf.T, kind)  # (C, C)
    inv, eqv = float(torch.diagonal(R).mean()), float(R.amax(-1).mean())
    return inv, eqv, eqv


def in_equivariance_readings(ft: Tensor, tf: Tensor, kind: str,
                             max_entries: float = 2e7) -> tuple[float, float, float]:
    """``(invariance, equivariance with c' per image, equivariance with c' shared)`` in one pass."""
    if ft.shape != tf.shape:
        raise ValueError(f"ft and tf must have one shape, got {tuple(ft.shape)} and {tuple(tf.shape)}")
    check_batch("ft", ft, min_batch=2 if ft.ndim == 2 else 1)  # vectors are compared along the samples
    check_batch("tf", tf)
    if ft.ndim == 4:
        return _map_scores(_map_sums(ft, tf, kind, max_entries), len(ft))
    if ft.ndim == 2:
        return _vector_scores(ft, tf, kind)
    raise ValueError(f"features must be maps (B, C, H, W) or vectors (B, C), got shape {tuple(ft.shape)}")


def token_maps(z: Tensor) -> Tensor:
    """Tokens ``(B, N, D)`` as maps ``(B, D, h, h)`` with ``h * h = N``, dropping a leading class token when
    ``N - 1`` is the square; other shapes are returned unchanged."""
    if z.ndim != 3:
        return z
    B, N, D = z.shape
    for skip in (0, 1):
        h = math.isqrt(N - skip)
        if h * h == N - skip:
            return z[:, skip:].transpose(1, 2).reshape(B, D, h, h)  # (B, D, h, h)
    raise ValueError(f"{N} tokens are neither a square grid nor a class token plus a square grid")


def capture(model: nn.Module, layers: dict[str, nn.Module], x: Tensor, batch_size: int = 500,
            to_cpu: bool = True) -> dict[str, Tensor]:
    """Outputs of ``layers`` (forward hooks) for inputs ``x``, in eval mode and without gradients.

    Token sequences ``(B, N, D)`` (ViT, MLP-Mixer) are stored as maps ``(B, D, h, w)`` (``token_maps``).

    Returns:
        ``{name: (B, ...)}`` on the CPU (``to_cpu``) or where the model computed them, in the order of ``layers``.
    """
    out: dict[str, list[Tensor]] = {k: [] for k in layers}
    keep = (lambda z: z.cpu()) if to_cpu else (lambda z: z)
    hooks = [m.register_forward_hook(lambda _m, _i, o, k=k: out[k].append(keep(token_maps(o).detach())))
             for k, m in layers.items()]
    was = model.training
    model.eval()
    try:
        with torch.no_grad():
            for xb in torch.split(x, batch_size):
                model(xb)
    finally:
        for h in hooks:
            h.remove()
        model.train(was)
    return {k: torch.cat(v) for k, v in out.items()}


def partition(names: list[str], spatial: Iterable[bool]) -> dict[str, list[str]]:
    """Early / Middle / Late: the spatial layers split uniformly in depth order; Pool and Final: the rest.

    Args:
        names: layer names in depth order; the last two non-spatial ones are Pool and Final.
        spatial: whether each layer's output is a feature map.
    """
    spatial = list(spatial)
    maps = [n for n, s in zip(names, spatial) if s]
    vecs = [n for n, s in zip(names, spatial) if not s]
    if len(maps) < 3 or len(vecs) != 2:
        raise ValueError(f"need >= 3 spatial layers and exactly 2 vector layers (Pool, Final); got {names}")
    parts = dict(zip(PARTS[:3], (list(p) for p in np.array_split(np.array(maps, dtype=object), 3))))
    return {**parts, "Pool": [vecs[0]], "Final": [vecs[1]]}


def layer_in_equivariance(model: nn.Module, layers: dict[str, nn.Module], x: Tensor,
                          transforms: list[Callable[[Tensor, int], Tensor]], kind: str = "correlation",
                          batch_size: int = 250) -> dict:
    """In- and equivariance of every layer, averaged over the transformations.

    Streams the images in batches: each batch's features stay on the model's device (``x``'s) and only
    sums leave it (``(C, C)`` per layer and transformation for the shared matching, pooled vectors ``(B, C)``
    whole), so the maps of all images are never held at once and never copied to the host.

    Args:
        model: the network; ``layers``: ``{name: module}`` in depth order whose outputs are measured
            (maps ``(B, C, H, W)`` or vectors ``(B, C)``).
        x: ``(B, C_in, H, W)`` evaluation images, on the model's device.
        transforms: each ``t(z, H_in)`` transforms a map ``z (..., h, w)`` whose layer sees inputs of height
            ``H_in`` (so a shift can be rescaled to the layer's resolution); the input transform is
            ``t(x, H_in)`` itself.
        kind: the similarity.
        batch_size: images per forward pass (and per batch of features held).
    Returns:
        ``{"layers": names, "invariance": (L,) (eq. 4), "equivariance_shared": (L,) (eq. 7: one c' for all images
        of X), "equivariance": (L,) (the second reading: c' per image; the key predates the shared reading), "magnitude": (L,) mean |activation|,
        "parts": partition}`` (numpy arrays).
    """
    _check_kind(kind)
    if x.ndim != 4 or len(x) == 0:
        raise ValueError(f"x must be images (B, C, H, W) with B >= 1, got shape {tuple(x.shape)}")
    if not transforms:
        raise ValueError("transforms is empty: give at least one transformation T_g to average over")
    dev = next((t.device for t in [*model.parameters(), *model.buffers()]), x.device)
    if dev != x.device:
        raise ValueError(f"x is on {x.device} but the model on {dev}; move them to one device")
    check_batch("x", x)
    H, names, T = x.shape[-1], list(layers), len(transforms)
    sums: dict = {}  # (i, name) -> _map_sums of the batches so far, for maps
    vec_base: dict = {}  # name -> [f(X) (b, C) per batch], for pooled vectors
    vec_moved: dict = {}  # (i, name) -> [f(T_g X) (b, C) per batch]
    mag = dict.fromkeys(names, 0.0)
    for xb in torch.split(x, batch_size):
        base = capture(model, layers, xb, batch_size, to_cpu=False)
        for k in names:
            mag[k] += float(base[k].abs().double().sum()) / base[k][0].numel()
            if base[k].ndim == 2:
                vec_base.setdefault(k, []).append(base[k])
            elif base[k].ndim != 4:
                raise ValueError(f"layer {k!r} gives shape {tuple(base[k].shape)}; "
                                 "need maps (B, C, H, W) or vectors (B, C)")
        for i, t in enumerate(transforms):
            moved = capture(model, layers, t(xb, H), batch_size, to_cpu=False)  # f(T_g X)
            for k in names:
                if k in vec_base:  # T_g is the identity on vectors
                    vec_moved.setdefault((i, k), []).append(moved[k])
                    continue
                s = _map_sums(moved[k], t(base[k], H), kind)  # T_g f(X) in the second place
                sums[i, k] = s if (i, k) not in sums else tuple(u + v for u, v in zip(sums[i, k], s))
    scores = np.array([[_vector_scores(torch.cat(vec_moved[i, k]), torch.cat(vec_base[k]), kind) if k in vec_base
                        else _map_scores(sums[i, k], len(x)) for k in names] for i in range(T)])  # (T, L, 3)
    inv, eqv, shared = scores.transpose(2, 0, 1)  # each (T, L)
    return {"layers": names, "invariance": inv.mean(0), "equivariance": eqv.mean(0),
            "equivariance_shared": shared.mean(0),
            "magnitude": np.array([mag[k] / len(x) for k in names]),
            "parts": partition(names, [k not in vec_base for k in names])}
