"""Figs. 4 and 7 of chapter 3: pretrained ImageNet classifiers (timm), CNNs (EfficientNet-B6/B7, ResNeXt-101,
Inception-v3) against token models (ViT-B/16, MLP-Mixer-B/16), measured on natural images.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from ... import data
from ...metrics.similarity import PARTS as DEPTH_PARTS
from ...metrics.similarity import layer_in_equivariance
from .equivariance import diagonal_shift, part_means, rotation
from .settings import MEASURES

__all__ = ["PRETRAINED", "IMAGENETTE", "load_images", "imagenette_val", "is_token_model", "pretrained_layers",
           "spearman_parts", "measure_pretrained", "run_pretrained"]


#: ImageNet top-1 accuracies (%) of the checkpoints measured for Figs. 4 and 7, pinned by timm tag, as timm
#: reports them in its ``results/results-imagenet.csv`` (huggingface/pytorch-image-models, commit 0173a13; top-1 at
#: each model's own resolution). ImageNet-1k (or, for ViT / Mixer, the original ImageNet-21k-pretrained)
#: checkpoints, the closest to the models the paper names; the paper itself does not list accuracies.
PRETRAINED = {"tf_efficientnet_b6.aa_in1k": 84.116, "tf_efficientnet_b7.aa_in1k": 84.414,
              "resnext101_32x8d.tv_in1k": 79.310, "inception_v3.tv_in1k": 77.434,
              "vit_base_patch16_224.orig_in21k_ft_in1k": 81.786, "mixer_b16_224.goog_in21k_ft_in1k": 76.602}


def _online(host: str = "huggingface.co", timeout: float = 2.0) -> bool:
    """Whether ``host:443`` answers within ``timeout`` seconds (so the pretrained runner never hangs offline)."""
    import socket
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def load_images(image_dir: str, n: int, size: int = 224) -> Tensor:
    """``n`` images (jpg/png) from ``image_dir`` and its subfolders, evenly spaced through the sorted paths (so a
    folder of class subfolders gives every class its share): shorter side resized to ``size``, centre crop, in
    [0, 1]. Shapes: ``(min(n, found), 3, size, size)``."""
    from pathlib import Path

    from PIL import Image
    from torchvision.transforms.v2 import functional as TF
    files = sorted(p for p in Path(image_dir).rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not files:
        raise ValueError(f"no .jpg/.jpeg/.png images under {image_dir!r}")
    files = [files[i] for i in np.linspace(0, len(files) - 1, min(n, len(files))).round().astype(int)]
    imgs = [TF.center_crop(TF.resize(TF.pil_to_tensor(Image.open(f).convert("RGB")), size), size) for f in files]
    return torch.stack(imgs).float() / 255  # (n, 3, size, size)


#: ``image_dir`` value that means: Imagenette's validation images (``imagenette_val``).
IMAGENETTE = "imagenette"


def imagenette_val(root=None, download: bool = True):
    """The folder of Imagenette's validation images (fast.ai's 10-class subset of ImageNet, 3,925 images, the
    320 px version, through torchvision's ``Imagenette``): looked for under the data root (``data.data_root``)
    and the download cache (``data.cache_dir``), downloaded (a few hundred MB) into the cache when in neither
    (``FileNotFoundError`` there when ``download`` is False)."""
    tail = ("imagenette2-320", "val")
    for base in filter(None, (data.data_root(root), data.cache_dir())):
        if base.joinpath(*tail).is_dir():
            return base.joinpath(*tail)
    if not download:
        raise FileNotFoundError(f"Imagenette's validation images are not under {data.data_root(root)} nor "
                                f"{data.cache_dir()} ({'/'.join(tail)})")
    from torchvision.datasets import Imagenette
    Imagenette(str(data.cache_dir()), split="val", size="320px", download=True)
    return data.cache_dir().joinpath(*tail)


def is_token_model(model: nn.Module) -> bool:
    """Whether a timm classifier is a ViT / MLP-Mixer (token blocks, no pooling module) rather than a CNN."""
    return isinstance(getattr(model, "blocks", None), nn.Sequential) and not isinstance(
        getattr(model, "global_pool", None), nn.Module)


def pretrained_layers(model: Any) -> dict[str, nn.Module]:
    """The measured layers of a timm ImageNet classifier: transformer / mixer blocks or the CNN's feature
    stages (``feature_info``), the pooled vector (``global_pool`` or ``head_drop``) and the logits."""
    if is_token_model(model):
        body = {f"block{i + 1}": b for i, b in enumerate(model.blocks)}  # ViT / MLP-Mixer: tokens (B, N, D)
        pool = model.head_drop
    else:
        body = {info["module"]: model.get_submodule(info["module"]) for info in model.feature_info}
        pool = model.global_pool
    return {**body, "pool": pool, "final": model.get_classifier()}


def spearman_parts(models: dict, transform: str, key: str) -> list[float]:
    """Spearman ρ over the models of each part's ``key`` with their ImageNet accuracy, ``(5,)`` (Fig. 4); NaN
    where a part's value is the same for every model (ρ undefined)."""
    from scipy.stats import spearmanr
    acc = [m["acc"] for m in models.values()]
    v = np.array([m[transform][f"{key}_parts"] for m in models.values()])  # (models, 5)
    return [float(spearmanr(v[:, p], acc).statistic) if np.ptp(v[:, p]) > 0 else math.nan
            for p in range(len(DEPTH_PARTS))]


def measure_pretrained(x: Tensor, models: dict[str, float] | None = None, device="cpu", pretrained: bool = True,
                       batch_size: int = 50) -> dict:
    """Figs. 4 and 7 on images ``x`` ``(n, 3, 224, 224)`` in [0, 1]: each timm model (``{name: ImageNet top-1}``,
    default ``PRETRAINED``; random weights with ``pretrained=False``) measured per layer and part under rotation
    (90/180/270°) and translation (diagonal cyclic shifts of 32 and 64 px, rounded where a network's maps do not
    divide 224), and Spearman's ρ per part of each measure with the accuracies.

    Returns:
        ``{"models": {name: {"acc", "kind" ("cnn" | "token"), "translation": measure, "rotation": measure}},
        "spearman": {transform: {measure key: [ρ per part (5)]}}, "n_images": n}``.
    """
    import timm
    from torchvision.transforms.v2 import Normalize

    rots, shifts = [rotation(k) for k in (1, 2, 3)], [diagonal_shift(p, exact=False) for p in (32, 64)]
    x = x.to(device)
    out: dict = {}
    for name, acc in (models or PRETRAINED).items():
        m: Any = timm.create_model(name, pretrained=pretrained).eval()
        net = nn.Sequential(Normalize(m.pretrained_cfg["mean"], m.pretrained_cfg["std"]), m).to(device)  # in [0, 1]
        layers = pretrained_layers(m)
        out[name] = {"acc": acc, "kind": "token" if is_token_model(m) else "cnn"}
        for key, ts in (("translation", shifts), ("rotation", rots)):
            r = layer_in_equivariance(net, layers, x, ts, batch_size=batch_size)
            out[name][key] = {**r, **part_means(r)}
        del net, m
        if torch.device(device).type == "cuda":
            torch.cuda.empty_cache()
    rho = {t: {k: spearman_parts(out, t, k) for k in MEASURES} for t in ("translation", "rotation")}
    return {"models": out, "spearman": rho, "n_images": len(x)}


def run_pretrained(image_dir: str | None, n: int = 100, device="cpu", models: dict[str, float] | None = None) -> dict:
    """Figs. 4 and 7: ``measure_pretrained`` on ``n`` images of ``image_dir`` (a folder, or ``IMAGENETTE`` for
    Imagenette's validation images, downloaded once). Needs the ``timm`` package, its pretrained weights
    (internet) and the images; otherwise returns ``{"skipped": reason}`` at once (a 2 s connection test, no
    hanging download)."""
    if not image_dir:
        return {"skipped": "no folder of natural images given (image_dir); the ImageNet models are not measured"}
    try:
        import timm
    except ImportError:
        return {"skipped": "the timm package is not installed (pip install timm)"}
    if not _online():
        return {"skipped": "no internet (huggingface.co unreachable in 2 s): pretrained weights cannot be downloaded"}
    if image_dir == IMAGENETTE:
        try:
            image_dir = str(imagenette_val())
        except Exception as e:  # download failed
            return {"skipped": f"Imagenette could not be downloaded: {type(e).__name__}: {str(e)[:200]}"}
    for name in models or PRETRAINED:  # download every checkpoint first (into timm's cache): fail before measuring
        try:
            timm.create_model(name, pretrained=True)
        except Exception as e:  # weights not downloadable
            return {"skipped": f"pretrained weights of {name} could not be loaded: {type(e).__name__}: {str(e)[:200]}"}
    return measure_pretrained(load_images(image_dir, n), models, device)
