"""Chapter 3 (Bruintjes, Motyka & van Gemert 2023): learned in- and equivariance across depth.

Files, the compute: ``settings`` (profiles, part names), ``data`` (MNIST6, CIFAR-10 subsets), ``models`` (toy CNNs,
the 7-layer CNN, CIFAR ResNets), ``augment`` (the training augmentations), ``equivariance`` (transformations and the
per-layer measure on ``helpers.metrics.similarity``), ``pretrained`` (timm ImageNet models, Figs. 4/7), ``track``
(curves and measures along training), ``runs`` (the training runs), ``parts`` (the list of parts). The reading:
``results`` (stored results reshaped; the matched-accuracy rule), ``paper`` (the paper's numbers), ``claims`` (the
claims and their values), ``views`` (figures and tables), ``studies`` (the committed studies beside the parts:
the earlier whole-run records from the chapter's frozen table, the mixed-precision benchmark). The package exposes
what ``helpers.runner`` needs: ``STEM``, ``SETTINGS`` and ``PARTS``.
"""
from __future__ import annotations

from . import (augment, claims, data, equivariance, models, paper, parts, pretrained, results, runs,  # noqa: F401
               settings, studies, track, views)
from .augment import augmenter, cutmix_loss, randaugment_batch
from .data import MNIST6_DIGITS, cifar10, mnist6
from .equivariance import diagonal_shift, measure, part_means, rotation
from .models import CifarResNet, ConvNet7, ToyCNN, gaussian_kernel, toy_cnns
from .parts import all_parts as PARTS  # noqa: N812
from .pretrained import (IMAGENETTE, PRETRAINED, imagenette_val, is_token_model, load_images, measure_pretrained,
                         pretrained_layers, run_pretrained)
from .settings import AUGMENTATIONS, MEASURES, MNIST6_TASKS, SETTINGS, STEM, Settings

__all__ = ["STEM", "SETTINGS", "PARTS", "Settings", "AUGMENTATIONS", "MNIST6_TASKS", "MNIST6_DIGITS", "MEASURES",
           "mnist6", "cifar10", "rotation", "diagonal_shift", "measure", "part_means", "gaussian_kernel", "ToyCNN",
           "toy_cnns", "ConvNet7", "CifarResNet", "augmenter", "randaugment_batch", "cutmix_loss", "PRETRAINED",
           "IMAGENETTE", "load_images", "imagenette_val", "is_token_model", "pretrained_layers", "measure_pretrained",
           "run_pretrained", "augment", "claims", "data", "equivariance", "models", "paper", "parts",
           "pretrained", "results", "runs", "settings", "studies", "track", "views"]
