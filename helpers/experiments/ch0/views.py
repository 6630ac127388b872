"""Chapter 0's figures, drawn from the stored part."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ... import plots

__all__ = ["headline", "examples"]


def examples(r: dict):
    """A few of the test digits the part used, with their labels."""
    ex = r["examples"]
    return plots.image_grid(np.asarray(ex["images"]), titles=[str(int(v)) for v in ex["labels"]])


def headline(ev) -> plt.Figure:
    """The page's first figure: validation accuracy per epoch of each seed, the loop (circles) against the ensemble
    (crosses)."""
    r, seeds = ev["ensemble-vs-loop"], ev.settings.seeds
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for m, (a, b) in enumerate(zip(r["val_curve_loop"], r["val_curve_ensemble"])):
        ax.plot(np.arange(1, len(a) + 1), 100 * np.asarray(a), "o-", color=f"C{m}", label=f"seed {seeds[m]}: loop")
        ax.plot(np.arange(1, len(b) + 1), 100 * np.asarray(b), "x--", color=f"C{m}", ms=9,
                label=f"seed {seeds[m]}: ensemble")
    ax.set(xlabel="epoch", ylabel="validation accuracy (%)", title="The ensemble retraces each separate run")
    ax.legend(fontsize="small", ncol=2)
    return fig
