"""Chapter 4's profiles (paper values in comments, Appendix A.3 of Moskalev et al. 2022)."""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Settings", "SETTINGS"]


@dataclass(frozen=True)
class Settings:
    """One profile of chapter 4. Paper values in comments (Appendix A.3)."""

    seeds: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8)   # paper: 8 seeds
    # O(5) regression (Sec. 5.1, A.3.1): MLP (10x32) -> 3*(32x32) -> (32x1), Swish, Adam 1e-3,
    # min(900000/N, 1000) epochs
    o5_n: int = 10_000
    o5_sizes: tuple[int, ...] = (100, 250, 500, 1000, 2500, 5000, 10_000, 20_000)
    o5_hidden: tuple[int, ...] = (32, 32, 32, 32)
    o5_budget: int = 900_000
    o5_max_epochs: int = 1000
    o5_batch: int = 500
    o5_lr: float = 1e-3
    o5_test: int = 5000
    # rotation-MNIST (Sec. 5.2, A.3.2): 10k/2k/50k, shallow 2x47, deep 6x116, Adam 1e-3, 300 epochs
    rot_train: int = 10_000
    rot_val: int = 2_000
    rot_test: int = 10_000
    blur: float = 1.5
    rot_epochs: int = 300
    rot_batch: int = 512
    shallow: tuple[int, ...] = (47, 47)
    deep: tuple[int, ...] = (116,) * 6
    # width/depth sweep (Sec. 5.3, A.3.4): 40k..200k parameters step 20k, 1..5 hidden layers
    sweep_params: tuple[int, ...] = tuple(range(40_000, 200_001, 20_000))
    sweep_depths: tuple[int, ...] = (1, 2, 3, 4, 5)
    sweep_seeds: int = 2
    sweep_epochs: int = 300
    # layer-wise symmetries (Sec. 5.4): MLP-7 and its 3-layer sub-network
    lw_width: int = 116
    lw_epochs: int = 300
    # sample complexity (A.2): fractions of the training rows used to build E
    fractions: tuple[float, ...] = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
    fraction_repeats: int = 5
    # rotation-augmented CIFAR-10 (A.3.3): 7-layer perceptron, width 400, 300 epochs
    cifar_hidden: tuple[int, ...] = (400,) * 6
    cifar_epochs: int = 300
    cifar_train: int | None = None   # None: every training image available
    cifar_val: int = 1000


SETTINGS = {
    "quick": Settings(
        seeds=(1, 2, 3), o5_n=5000, o5_sizes=(100, 250, 500, 1000, 2500, 5000), o5_budget=450_000,
        o5_max_epochs=400, o5_test=2000, rot_train=6000, rot_val=1000, rot_test=2000, rot_epochs=20,
        rot_batch=128, sweep_params=(40_000, 120_000, 200_000), sweep_depths=(1, 3, 5), sweep_epochs=10,
        lw_epochs=10, fractions=(0.0025, 0.01, 0.05, 0.25, 1.0), fraction_repeats=3,
        cifar_hidden=(256,) * 6, cifar_epochs=8, cifar_train=3000, cifar_val=500),
    "standard": Settings(
        seeds=(1, 2, 3, 4), o5_sizes=(100, 250, 500, 1000, 2500, 5000, 10_000), rot_epochs=100,
        sweep_epochs=60, lw_epochs=60, cifar_epochs=60),
    "paper": Settings(),
}
