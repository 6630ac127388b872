"""Chapter 3 (Bruintjes, Motyka & van Gemert 2023): learned in- and equivariance across depth.

The compute: ``settings``, ``data``, ``models``, ``augment``, ``equivariance`` (transformations and the per-layer
measure), ``pretrained`` (timm ImageNet models, Figs. 4/7), ``track`` (measures along training), ``runs``, ``parts``.
The reading: ``results`` (the matched-accuracy rule), ``paper``, ``claims``, ``views``, ``studies`` (the committed
studies beside the parts). The package exposes what ``helpers.runner`` needs: ``STEM``, ``SETTINGS`` and ``PARTS``.
"""
from __future__ import annotations

from . import (augment, claims, data, equivariance, models, paper, parts, pretrained, results, runs,  # noqa: F401
               settings, studies, track, views)
from .augment import augmenter, randaugment_batch
from .data import cifar10, mnist6
from .equivariance import diagonal_shift, measure, rotation
from .models import CifarResNet, ConvNet7, toy_cnns
from .parts import all_parts as PARTS  # noqa: N812
from .pretrained import (IMAGENETTE, PRETRAINED, imagenette_val, load_images, measure_pretrained, pretrained_layers,
                         run_pretrained)
from .settings import AUGMENTATIONS, MEASURES, MNIST6_TASKS, SETTINGS, STEM, Settings

__all__ = ["STEM", "SETTINGS", "PARTS", "Settings", "AUGMENTATIONS", "MNIST6_TASKS", "MEASURES", "mnist6", "cifar10",
           "rotation", "diagonal_shift", "measure", "toy_cnns", "ConvNet7", "CifarResNet", "augmenter",
           "randaugment_batch", "PRETRAINED", "IMAGENETTE", "load_images", "imagenette_val", "pretrained_layers",
           "measure_pretrained", "run_pretrained", "augment", "claims", "data", "equivariance", "models", "paper",
           "parts", "pretrained", "results", "runs", "settings", "studies", "track", "views"]
