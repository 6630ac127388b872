"""The paper's numbers, typed in and cited (van der Ouderaa & van der Wilk 2022): what chapter 2's claims and views
compare ours against (Tables 1-3, each below its comment). Nothing here is computed.
"""
from __future__ import annotations

__all__ = ["PAPER_TABLE1", "PAPER_BEST_FIXED", "PAPER_TABLE2", "PAPER_TABLE3"]

#: Table 1 (RFF): ``{member: {dataset: (ELBO per datapoint, test accuracy %)}}``.
PAPER_TABLE1 = {
    "fixed 5": {"full": (-1.07, 79.29), "partial": (-0.80, 86.71), "regular": (-0.36, 96.00)},
    "fixed 45": {"full": (-0.63, 87.35), "partial": (-0.49, 91.13), "regular": (-0.26, 95.93)},
    "fixed 90": {"full": (-0.52, 90.33), "partial": (-0.44, 91.69), "regular": (-0.30, 94.69)},
    "fixed 135": {"full": (-0.45, 91.19), "partial": (-0.45, 91.04), "regular": (-0.36, 92.13)},
    "fixed 175": {"full": (-0.43, 91.57), "partial": (-0.47, 90.47), "regular": (-0.45, 90.97)},
    "learned (5 init)": {"full": (-0.43, 91.72), "partial": (-0.42, 92.34), "regular": (-0.26, 96.40)},
}
#: Table 1's argmax-ELBO fixed eta_rot (degrees) per dataset.
PAPER_BEST_FIXED = {"full": 175.0, "partial": 90.0, "regular": 45.0}
_T2_COLS = ("full", "translated", "scaled", "regular")
#: Table 2 (ReLU, MNIST): ``{invariance: {dataset: test accuracy %}}``.
PAPER_TABLE2 = {k: dict(zip(_T2_COLS, v)) for k, v in {
    "none": (90.35, 89.34, 96.61, 98.10), "rotation": (98.05, 94.08, 97.62, 98.64),
    "translation": (93.59, 97.87, 97.98, 98.76), "scale": (93.80, 94.30, 98.06, 98.35),
    "affine": (98.14, 97.66, 98.31, 98.93)}.items()}
#: Table 3 (ReLU, CIFAR-10): ``{invariance: {dataset: test accuracy %}}``.
PAPER_TABLE3 = {k: dict(zip(_T2_COLS, v)) for k, v in {
    "none": (41.24, 40.75, 46.56, 54.49), "rotation": (46.04, 40.71, 46.77, 54.72),
    "translation": (40.99, 45.20, 47.44, 55.79), "scale": (40.92, 41.22, 49.28, 54.72),
    "affine": (46.12, 45.77, 48.81, 55.44)}.items()}
