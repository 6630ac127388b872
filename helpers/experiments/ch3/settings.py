"""Chapter 3's profiles: one frozen ``Settings`` per profile (quick, standard, steps, paper), the names of what the
profiles train (tasks, augmentations, the measures' keys) and the names of their parts (``width_part``)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from ...training import FitConfig

__all__ = ["STEM", "Settings", "SETTINGS", "AUGMENTATIONS", "MNIST6_TASKS", "MEASURES", "EQUIVARIANCE", "slug",
           "mnist6_part", "aug_part", "width_part"]

STEM = "03_learned_equivariance_depth"  # the notebook of the chapter (book/<STEM>.ipynb)

MNIST6_TASKS = ("MNIST6", "MNIST6-Rot-Inv", "MNIST6-Rot-Eq")
AUGMENTATIONS = ("baseline", "random crop", "horizontal flip", "CutMix", "RandAugment")
#: What ``equivariance.measure`` reports per layer and part, with their plot labels, in the page's order: eq. 7's
#: second reading, the best channel c' per image, keeps the key it had first (``equivariance``).
MEASURES = {"invariance": "invariance (eq. 4)", "equivariance_shared": "equivariance (eq. 7, c' shared over X)",
            "equivariance": "equivariance (c' per image)"}
#: The key of the chapter's equivariance (eq. 7), per matching: ``"shared"`` (the measure) or ``"sample"``.
EQUIVARIANCE = {"shared": "equivariance_shared", "sample": "equivariance"}


@dataclass(frozen=True)
class Settings:
    """One profile of the chapter (paper values in brackets).

    Attributes:
        seeds: training seeds of every model [3]; cifar_seeds: those of the CIFAR models where they differ (standard
            trains them on all three: C3.4a and C3.5 compare two networks' means, issue 21).
        mnist6_train, mnist6_val: MNIST6 split sizes (the validation images are also the evaluation set).
        mnist6_fit: optimiser of the 7-layer CNN [Adam 0.01, batch 128, L2 5e-4, 100 epochs, /10 at 25, 50].
        cifar_train, cifar_val: CIFAR-10 images used (capped by what exists offline). Standard trains on the 8,068 of
            the offline subset also where the full set downloads, so it is the same size online and offline [all].
        resnet_blocks: residual blocks per stage of the augmentation ResNet (7 -> ResNet-44).
        wrn_blocks: blocks per stage of the wide ResNets (6 -> WRN-40); widths: their width factors.
        cifar_fit: optimiser [SGD 0.1, momentum 0.9, L2 1e-4, batch 128, 200 epochs, /10 at 100, 150], in bfloat16
            mixed precision (``FitConfig.precision``; the paper does not say).
        augmentations, widths: which variants are trained.
        n_eval: evaluation images of the measure [2000]; n_pretrained: those of the pretrained models, Figs. 4, 7.
        shifts: diagonal shifts in pixels [1..16; whole pixels at every layer, ``equivariance.diagonal_shift``].
        image_dir: natural images for the pretrained models: a folder, ``"imagenette"`` or ``""`` (skipped); only the
            ``pretrained`` part reads it.
        track_epochs: epochs (counted from 1) after which the CIFAR networks are measured along training, with their
            validation accuracy (``track``: the matched-accuracy rule); track_augmentations: the augmentation parts
            too, not only the widths.
        width_stop_acc: ``((k, acc %), ...)``: WRN-40-k stops (measured there) once its validation accuracy reaches
            acc; the matched-accuracy comparison needs it only up to the common accuracy.
        channels_last: the networks train in channels-last layout in float32 too (bf16 always does): other float
            rounding, ~1.25x (ResNet-44) to ~1.6x (7-layer CNN) faster a step at one CPU thread
            (``benchmarks.ch3_throughput``).
        The last four enter only the hashes of the parts that read them, and only away from their defaults.
    """

    seeds: tuple[int, ...]
    mnist6_train: int
    mnist6_val: int
    mnist6_fit: FitConfig
    cifar_train: int
    cifar_val: int
    resnet_blocks: int
    wrn_blocks: int
    cifar_fit: FitConfig
    augmentations: tuple[str, ...] = AUGMENTATIONS
    widths: tuple[int, ...] = (1, 2, 4, 8)
    n_eval: int = 2000
    shifts: tuple[int, ...] = (4, 8, 12, 16)
    cifar_seeds: tuple[int, ...] | None = None
    n_pretrained: int = 2000
    image_dir: str = ""
    track_epochs: tuple[int, ...] = field(default=(), metadata={"omit_default": True})
    track_augmentations: bool = field(default=False, metadata={"omit_default": True})
    width_stop_acc: tuple[tuple[int, float], ...] = field(default=(), metadata={"omit_default": True})
    channels_last: bool = field(default=False, metadata={"omit_default": True})

    def stop_acc(self, k: int) -> float | None:
        """The validation accuracy (%) at which WRN-40-k stops (``width_stop_acc``), or None."""
        return dict(self.width_stop_acc).get(k)

    @property
    def cifar_seed_list(self) -> tuple[int, ...]:
        """Seeds of the CIFAR models (``cifar_seeds``, default ``seeds``)."""
        return self.cifar_seeds if self.cifar_seeds is not None else self.seeds


def _adam(epochs: int, milestones: tuple[int, ...]) -> FitConfig:
    return FitConfig(epochs=epochs, batch_size=128, lr=0.01, weight_decay=5e-4, schedule="step",
                     milestones=milestones, gamma=0.1, eval_batch_size=1000)


def _sgd(epochs: int, milestones: tuple[int, ...], precision: str = "bf16") -> FitConfig:
    # bf16 mixed precision: 2.3-4.4x a CIFAR step on this project's CPU, and the chapter's measures within float32's
    # seed spread (benchmarks.mixed_precision, its rule fixed before the run; the page's Deviations)
    return FitConfig(epochs=epochs, batch_size=128, lr=0.1, optimizer="sgd", momentum=0.9, weight_decay=1e-4,
                     schedule="step", milestones=milestones, gamma=0.1, eval_batch_size=1000, precision=precision)


#: The steps profile's CIFAR schedule (issue 40), fixed before its results: 100 epochs (6,300 steps of 128 on the
#: 8,068-image subset), the paper's drops at 50 % and 75 %: 200 epochs of ResNet-44 cost ~4 h of one CPU thread per
#: seed (benchmarks.ch3_throughput). Float32 (bf16 is no faster on this CPU), in channels-last layout.
STEPS_EPOCHS = 100
#: Epochs after which the steps profile measures its width networks: dense early, and just after each drop.
STEPS_TRACK = (1, 2, 3, 5, 7, 10, 15, 20, 30, 40, 50, 51, 53, 56, 60, 70, 75, 76, 80, 90, 100)


SETTINGS = {
    "quick": Settings(seeds=(0,), mnist6_train=800, mnist6_val=300, mnist6_fit=replace(_adam(3, (2,)), batch_size=32),
                      cifar_train=800, cifar_val=300, resnet_blocks=1, wrn_blocks=1,
                      cifar_fit=replace(_sgd(3, (2,)), batch_size=32), augmentations=("baseline", "random crop",
                      "RandAugment"), widths=(1, 2), n_eval=150, n_pretrained=100),
    "standard": Settings(seeds=(0, 1, 2), mnist6_train=20_000, mnist6_val=2000, mnist6_fit=_adam(15, (8, 12)),
                         cifar_train=8068, cifar_val=2000, resnet_blocks=7, wrn_blocks=6,
                         cifar_fit=_sgd(15, (8, 12)), n_eval=1000, n_pretrained=500),
    # the paper's optimisation and step counts where a CPU can afford them: MNIST6 exactly at the paper's settings
    # (its fields are the paper profile's, so its parts are the paper's), the CIFAR networks on the subset
    "steps": Settings(seeds=(0, 1, 2), mnist6_train=50_000, mnist6_val=2000, mnist6_fit=_adam(100, (25, 50)),
                      cifar_train=8068, cifar_val=2000, resnet_blocks=7, wrn_blocks=6,
                      cifar_fit=_sgd(STEPS_EPOCHS, (STEPS_EPOCHS // 2, STEPS_EPOCHS * 3 // 4), "fp32"),
                      track_epochs=STEPS_TRACK, width_stop_acc=((4, 50.0), (8, 50.0)), channels_last=True),
    "paper": Settings(seeds=(0, 1, 2), mnist6_train=50_000, mnist6_val=2000, mnist6_fit=_adam(100, (25, 50)),
                      cifar_train=50_000, cifar_val=2000, resnet_blocks=7, wrn_blocks=6,
                      cifar_fit=_sgd(200, (100, 150))),
}


# --------------------------------------------------------------------------- part names
def slug(label: str) -> str:
    """A label as a part name: ``"random crop"`` -> ``"random-crop"``, ``"MNIST6-Rot-Inv"`` -> ``"mnist6-rot-inv"``."""
    return label.lower().replace(" ", "-")


mnist6_part = slug  #: the part of one MNIST6 task, e.g. ``"mnist6-rot-inv"``


def aug_part(aug: str) -> str:
    """The part of one augmentation, e.g. ``"aug-random-crop"``."""
    return f"aug-{slug(aug)}"


def width_part(s: Settings, k: int) -> str:
    """The part that holds WRN width k: ``"width-<k>"``, or ``"aug-baseline"`` for k = 1 where that is the same
    network, data, seeds and recipe (``wrn_blocks == resnet_blocks``)."""
    reuses_baseline = s.wrn_blocks == s.resnet_blocks and "baseline" in s.augmentations
    return aug_part("baseline") if k == 1 and reuses_baseline else f"width-{k}"
