"""Chapter 5's stored results as the claims and views read them. Pure: reshapes, computes nothing.

- ``members``: ``{label: record}`` over every part of a page's evidence (the zoo's configurations);
- ``frame``: one row per trained network, one column per lens (``LENSES``);
- ``networks``: one family's distinct networks (IR at nu = 0, DA-R4 itself, counted once).
"""
from __future__ import annotations

from typing import Mapping

import pandas as pd

from .settings import DEPTH

__all__ = ["LENSES", "PARTS", "members", "frame", "networks"]

#: Every number a network gets, with its direction: +1 where larger means more invariant, -1 where smaller does,
#: 0 for accuracy (no direction), and its label on the page.
LENSES = {"acc": (0, "accuracy (%)"), "LI": (-1, "LI (ch1)"), "DI": (-1, "DI (ch1)"), "SI": (1, "SI (ch1)"),
          "inv_Early": (1, "Early inv. (ch3)"), "inv_Middle": (1, "Middle inv. (ch3)"),
          "inv_Late": (1, "Late inv. (ch3)"), "inv_Final": (1, "Final inv. (ch3)"),
          "eqv_Middle": (1, "Middle equiv. (ch3)"),
          "liegg_rotation": (-1, "LieGG rot. variance (ch4)"), "lie_Middle": (-1, "Middle LieGG rot. var. (ch4)"),
          "liegg_variance": (-1, "LieGG variance (ch4)"), "liegg_bias": (-1, "LieGG bias (ch4)"),
          "eta_star": (1, "ML-preferred η° (ch2)")}
#: The parts that hold the zoo's members, in the order the page reads them.
PARTS = ("regimes", "nu", "sizes", "eta", "cnn")


def members(ev: Mapping) -> dict[str, dict]:
    """``{label: record}`` over every part of a page's evidence (the zoo's configurations)."""
    return {k: r for name in PARTS if name in ev for k, r in ev[name]["members"].items()}


def frame(ev: Mapping):
    """One row per trained network (configuration x seed), one column per lens (``LENSES``) plus
    ``config``, ``kind``, ``nu``, ``arch`` (``mlp`` / ``cnn``), ``member`` (seed index) and ``hidden``; per-depth columns ``inv_``, ``eqv_`` and
    ``lie_`` + Early / Middle / Late / Final (NaN for ML-η), ``eta_star`` (the probe's eta, degrees) and
    ``eta_learned`` (ML-η's own eta, NaN otherwise): a ``pandas.DataFrame``."""
    rows = []
    for lab, r in members(ev).items():
        for m in range(len(r["acc"])):
            row = {"config": lab, "kind": r["kind"], "nu": r["nu"], "hidden": "×".join(map(str, r["hidden"])),
                   "arch": r.get("arch", "mlp"), "member": m}
            row |= {k: float(r[k][m]) for k in ("acc", "LI", "DI", "SI", "liegg_variance", "liegg_bias",
                                                "liegg_rotation", "eta_star")}
            row["eta_learned"] = float("nan") if r["eta_learned"][m] is None else float(r["eta_learned"][m])
            row |= {f"{pre}_{p}": float(r[f"{pre}_parts"][m][i]) for pre in ("inv", "eqv", "lie")
                    for i, p in enumerate(DEPTH)}
            rows.append(row)
    return pd.DataFrame(rows)


def networks(df, arch: str | None = "mlp"):
    """The zoo's distinct networks of one family (``arch``: ``"mlp"``, the MLP zoo with ML-η, or ``"cnn"``; None:
    both): IR at nu = 0 is DA-R4 itself (same seeds, batches and augmentations, and eq. 4's term times 0), so its
    rows are dropped rather than counted twice."""
    keep = ~((df.kind == "IR") & (df.nu == 0)) & ((df.arch == arch) if arch else True)
    return df[keep]
