"""Chapter 5's profiles: one task (rotation-MNIST), one model zoo, four papers' measures."""
from __future__ import annotations

from dataclasses import dataclass, field

from ...training import FitConfig
from ..ch2 import TrainConfig

__all__ = ["Settings", "SETTINGS", "KINDS", "ARCHS", "N_CLASSES", "SIZE", "DEPTH"]

#: The zoo's training regimes: ``plain`` (nothing), ``DA-R4`` / ``DA-SO2`` (augmentation by a random quarter turn /
#: a random angle), ``WT`` (weight-tying over R4, ``helpers.models.GroupPooledMLP``), ``IR`` (ch1's invariance
#: regulariser, eq. 4 of Moskalev et al. 2023, on top of DA-R4, one member per nu), ``ML-η`` (chapter 2's ReLU net
#: whose rotation eta is learned by the ELBO, eq. 9 of van der Ouderaa & van der Wilk 2022).
KINDS = ("plain", "DA-R4", "DA-SO2", "WT", "IR", "ML-η")
#: The zoo's two families: MLPs (``helpers.models.MLP`` / ``GroupPooledMLP``, and ML-η) and small CNNs
#: (``helpers.models.SmallCNN``; WT with kernels tied over the quarter turns).
ARCHS = ("mlp", "cnn")
N_CLASSES = 10
SIZE = 28
#: Depth parts of an MLP: its hidden layers split in thirds, and the logits (an MLP has no pooling layer).
DEPTH = ("Early", "Middle", "Late", "Final")


@dataclass(frozen=True)
class Settings:
    """One profile of the chapter.

    Attributes:
        n_train, n_val, n_test: rotation-MNIST split sizes (``ch4.data.rotation_mnist``: every image at its own
            uniform angle, blurred with sigma ``blur``).
        seeds: ensemble members per configuration (>= 3: every comparison of means needs them).
        hidden: the base MLP's hidden widths (>= 3 layers, so that Early / Middle / Late each get one).
        sizes: further widths / depths, each trained plain and with DA-R4.
        nus: the IR weights (eq. 4 of ch1), 0 included: IR at nu = 0 is DA-R4 with an extra forward pass.
        fit: optimiser settings (every member alike).
        activation: the MLPs' nonlinearity (Swish: LieGG's first-order condition wants a smooth network).
        n_eval: test images for LI, DI, the per-layer correlations and LieGG; n_si, ig_steps: SI (captum).
        eta_hidden, eta_fit, eta_init_degrees, eta_points: the ML-η member: chapter 2's ReLU net of ``eta_hidden``
            units, rotation eta learned from ``eta_init_degrees`` (one member per seed, one sweep), trained with
            ``eta_fit`` (chapter 2's ``TrainConfig``); measured with the deterministic grid of ``eta_points``
            rotations in [-eta, eta] (Sec. 3.4) and the posterior mean of W2.
        cnn, cnn_nus, cnn_fit: the CNN family: ``SmallCNN`` with these three blocks' channels, trained plain, DA-R4,
            DA-SO2, WT (kernels tied over R4) and IR at each of ``cnn_nus`` (> 0: nu = 0 is DA-R4), with ``cnn_fit``.
        probe_degrees, probe_points: the marginal-likelihood probe (``metrics.preferred_rotation``): the grid of
            eta (degrees) and the S rotations of each; it reads the first ``n_eval`` training images.
    """

    n_train: int
    n_val: int
    n_test: int
    seeds: tuple[int, ...]
    hidden: tuple[int, ...]
    sizes: tuple[tuple[int, ...], ...]
    nus: tuple[float, ...]
    fit: FitConfig
    blur: float = 1.5
    activation: str = "swish"
    n_eval: int = 500
    n_si: int = 48
    ig_steps: int = 16
    eta_hidden: int = 256
    eta_fit: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=8, batch_size=128, lr=1e-2, lr_eta=1e-2,
                                                                     samples=8, log_every=10))
    eta_init_degrees: float = 5.0
    eta_points: int = 16
    cnn: tuple[int, ...] = (8, 16, 32)
    cnn_nus: tuple[float, ...] = (1.0, 10.0)
    # Adam 1e-2 on batches of 64: at 3e-3 / 128 the CNNs stand near 35 % after 3 epochs of 10,000 images, at 1e-2 / 64
    # they reach 56-63 % after 6 (three seeds, measured on this CPU)
    cnn_fit: FitConfig = field(default_factory=lambda: FitConfig(epochs=12, batch_size=64, lr=1e-2))
    probe_degrees: tuple[float, ...] = tuple(range(0, 181, 10))
    probe_points: int = 16

    def __post_init__(self):
        if len(self.seeds) < 3:
            raise ValueError(f"chapter 5 compares means over seeds and needs >= 3 seeds, got {self.seeds}")
        for h in (self.hidden, *self.sizes):
            if len(h) < 3:
                raise ValueError(f"every MLP needs >= 3 hidden layers (Early, Middle, Late), got {h}")
        if len(self.cnn) != 3 or min(self.cnn_nus, default=1.0) <= 0:
            raise ValueError(f"the CNN family has three blocks and IR at nu > 0 (nu = 0 is DA-R4); got cnn={self.cnn}, "
                             f"cnn_nus={self.cnn_nus}")


SETTINGS = {
    "quick": Settings(3000, 500, 1000, (0, 1, 2), (96, 96, 96), ((48, 48, 48), (96,) * 5),
                      (0.0, 1.0, 10.0), FitConfig(epochs=8, batch_size=128, lr=2e-3),
                      n_eval=400, n_si=32, ig_steps=12, cnn_nus=(10.0,), eta_points=8,
                      cnn_fit=FitConfig(epochs=4, batch_size=64, lr=1e-2),
                      probe_degrees=tuple(range(0, 181, 20)), probe_points=8),
    "standard": Settings(10_000, 2000, 5000, (0, 1, 2, 3, 4), (128, 128, 128), ((64, 64, 64), (256, 256, 256),
                                                                                 (128,) * 6),
                         (0.0, 0.3, 1.0, 3.0, 10.0), FitConfig(epochs=20, batch_size=256, lr=2e-3),
                         n_eval=1000, n_si=100, ig_steps=24, eta_hidden=512,
                         eta_fit=TrainConfig(epochs=10, batch_size=128, lr=1e-2, lr_eta=1e-2, samples=8,
                                             log_every=20)),
    "paper": Settings(10_000, 2000, 10_000, (0, 1, 2, 3, 4), (128, 128, 128), ((64, 64, 64), (256, 256, 256),
                                                                              (128,) * 6),
                      (0.0, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0), FitConfig(epochs=100, batch_size=256, lr=1e-3),
                      n_eval=2000, n_si=300, ig_steps=32, eta_hidden=1024,
                      eta_fit=TrainConfig(epochs=100, batch_size=128, samples=32, log_every=100),
                      probe_degrees=tuple(range(0, 181, 5)), probe_points=32, cnn=(16, 32, 64),
                      cnn_nus=(0.3, 1.0, 3.0, 10.0), cnn_fit=FitConfig(epochs=50, batch_size=64, lr=3e-3)),
}
