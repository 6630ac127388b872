"""The numbers of Moskalev et al. 2023 that chapter 1 compares with, typed in as printed."""
from __future__ import annotations

__all__ = ["PAPER_TABLE1"]

#: The paper's Table 1: acc (%), LI, DI, SI, mean ± spread over its 4 seeds, per group and model.
PAPER_TABLE1 = {
    "rot4": {"WT": ("94.6 ± 0.1", "0.00 ± 0.0", "0.0 ± 0.0", "1.00 ± 0.00"),
             "DA": ("94.0 ± 0.5", "98.6 ± 5.4", "0.3 ± 0.1", "0.17 ± 0.04"),
             "IR": ("87.9 ± 0.8", "0.02 ± 0.0", "0.0 ± 0.0", "0.95 ± 0.03")},
    "trans3": {"WT": ("96.6 ± 0.1", "0.0 ± 0.0", "0.0 ± 0.0", "1.00 ± 0.0"),
               "DA": ("96.2 ± 0.2", "50.8 ± 6.8", "0.1 ± 0.0", "0.57 ± 0.08"),
               "IR": ("93.1 ± 0.1", "0.01 ± 0.0", "0.0 ± 0.0", "0.95 ± 0.07")},
}
