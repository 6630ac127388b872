"""Chapter 0's profiles."""
from __future__ import annotations

from dataclasses import dataclass

from ...training import FitConfig

__all__ = ["Settings", "SETTINGS"]


@dataclass(frozen=True)
class Settings:
    """One profile: split sizes, the ensemble's seeds, the MLP's hidden widths and the optimiser."""

    n_train: int
    n_val: int
    n_test: int
    seeds: tuple[int, ...]
    hidden: tuple[int, ...]
    fit: FitConfig


SETTINGS = {
    "quick": Settings(4000, 1000, 2000, (0, 1, 2), (128,), FitConfig(epochs=10, batch_size=128, lr=1e-3)),
    "standard": Settings(10000, 2000, 10000, (0, 1, 2, 3), (128, 128), FitConfig(epochs=10, batch_size=256)),
    "paper": Settings(50000, 10000, 10000, (0, 1, 2, 3), (300,), FitConfig(epochs=20, batch_size=256)),
}
