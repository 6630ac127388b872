"""Chapter 4's numbers typed in: the paper's (Moskalev et al. 2022) and those of the LieGG authors' own code as
measured for this book, for the claims and the page to cite."""
from __future__ import annotations

__all__ = ["AUTHORS_CODE", "FIG4B_SPEARMAN", "SAMPLE_PERCENT"]

#: Ranges of the LieGG authors' own code on their rotation-MNIST, by data draw (validation accuracy, the bias of
#: the smallest singular vector, the symmetry variance in their pixel units), as measured for this book (issue 21).
AUTHORS_CODE = {"accuracy": (86.0, 87.0), "bias": (0.027, 0.10), "variance_pixel_units": (5.6e-4, 1.2e-3)}
#: Fig. 4b: Spearman's rho of the symmetry variance and of the symmetry bias with test accuracy over the sweep.
FIG4B_SPEARMAN = {"variance": -0.49, "bias": -0.31}
#: Sec. 5.4 / Figs. 6-7: the percentage of the training samples in the polarization matrix from which on the
#: symmetry is extracted "as precisely as" from all of them, per task.
SAMPLE_PERCENT = {"O(5)": 0.25, "rotation-MNIST": 5}
