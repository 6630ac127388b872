"""Chapter 1's profiles (Moskalev et al. 2023, Sec. 4.1)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...training import FitConfig

__all__ = ["Settings", "SETTINGS", "MODELS", "N_CLASSES", "SIZE", "Extension", "EXTENSION", "nu_part_name"]

MODELS = ("WT", "DA", "IR")
N_CLASSES = 9   # MNIST without the digit 9, Fashion-MNIST without its last class (ankle boot)
SIZE = 36       # 28 x 28 zero-padded to 36 x 36 (Sec. 4.1)


@dataclass(frozen=True)
class Settings:
    """One profile of the chapter.

    Attributes:
        n_train, n_test, n_val: split sizes (paper: 10k / 50k / 2k).
        seeds: ensemble members (paper: 4 seeds).
        hidden: hidden widths of the 5-layer ReLU MLP (paper: 128 each, ~230k parameters).
        fit: optimiser settings (paper: Adam, batch 512, lr 8e-4, 300 epochs, best validation accuracy).
        groups: group names (``"rot4"``, ``"trans3"``).
        nus: the nu grid of the LI regulariser (eq. 4); the smallest with SI >= ``si_target`` is used.
        nus_other: nu grids of the KL and normalised-L2 regularisers (Fig. 5).
        si_target: the paper's selection rule SI >= 0.95.
        n_eval: test samples for LI, DI and sigma_max; n_si: test samples for SI (captum).
        ig_steps: integrated-gradient steps.
        betas: drift degrees of Fig. 4.
        n_tsne: test samples in the t-SNE (each with its whole orbit).
        split_sweeps: one part per nu (``ir-<g>-<penalty>-<nu>``) and one for WT and DA (``group-<g>``), instead of
            one part per sweep: parts of about 20 min on this project's CPU at the paper's budget, which a run can
            resume between sessions and Ray can spread over GPUs (``parts.all_parts``). A member trains exactly as
            in the whole sweep (``models.train_sweep``), so both layouts measure the same models.
    """

    n_train: int
    n_test: int
    n_val: int
    seeds: tuple[int, ...]
    hidden: tuple[int, ...]
    fit: FitConfig
    groups: tuple[str, ...] = ("rot4", "trans3")
    nus: tuple[float, ...] = (0.1, 1.0, 10.0)
    nus_other: dict = field(default_factory=lambda: {"kl": (10.0, 100.0), "l2_normalized": (1.0, 10.0)})
    si_target: float = 0.95
    n_eval: int = 2000
    n_si: int = 200
    ig_steps: int = 32
    betas: tuple[float, ...] = tuple(np.round(np.linspace(0, 1, 11), 2))
    n_tsne: int = 300
    split_sweeps: bool = False


SETTINGS = {
    "quick": Settings(3000, 2000, 1000, (0, 1), (128,) * 5, FitConfig(epochs=12, batch_size=128, lr=8e-4),
                      nus=(1.0, 10.0, 30.0), nus_other={"kl": (100.0,), "l2_normalized": (30.0,)},
                      n_eval=1000, n_si=48, ig_steps=16, betas=(0.0, 0.25, 0.5, 0.75, 1.0), n_tsne=150),
    "standard": Settings(10_000, 50_000, 2_000, (0, 1, 2, 3), (128,) * 5,
                         FitConfig(epochs=100, batch_size=512, lr=8e-4),
                         nus=(1.0, 3.0, 10.0, 30.0, 100.0),
                         # normalised L2 up to 1000: a CPU run of R4 gave SI 0.81 at 300 and a collapsed,
                         # constant network (accuracy 14 %) at 1000 -- the grid shows both sides of that cliff
                         nus_other={"kl": (10.0, 30.0, 100.0, 300.0),
                                    "l2_normalized": (3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)},
                         n_eval=5000, n_si=500),
    "paper": Settings(10_000, 50_000, 2_000, (0, 1, 2, 3), (128,) * 5,
                      FitConfig(epochs=300, batch_size=512, lr=8e-4),
                      nus=(0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0),
                      nus_other={"kl": (3.0, 10.0, 30.0, 100.0, 300.0, 1000.0),
                                 "l2_normalized": (1.0, 3.0, 10.0, 30.0, 100.0, 300.0)},
                      n_eval=50_000, n_si=2000, ig_steps=50, split_sweeps=True),
}


@dataclass(frozen=True)
class Extension:
    """A study beyond the standard profile's grid (part ``extension-<group>-<penalty>``, ``runs.run_extension``): IR
    with the ``penalty`` regulariser on ``group`` at ``nus``, trained and measured as a sweep of ``Settings.nus_other``
    (Fig. 5). The standard grid of the normalised L2 ends at nu = 1000, where R4's network has collapsed to a
    constant; 3000 shows what lies beyond."""

    group: str = "rot4"
    penalty: str = "l2_normalized"
    nus: tuple[float, ...] = (3000.0,)


#: The standard profile's extension (a part of that profile only, ``parts``).
EXTENSION = Extension()


def nu_part_name(group_name: str, penalty: str, nu: float) -> str:
    """The name of one nu's part in the split layout (``split_sweeps``), e.g. ``ir-rot4-l2-0.3``."""
    return f"ir-{group_name}-{penalty}-{float(nu):g}"
