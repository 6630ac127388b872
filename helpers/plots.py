"""Pure plotting functions in one consistent seaborn style.

Every function takes data and returns a matplotlib Figure (or draws on a given Axes); none
computes a metric. ``METHOD_COLORS`` keeps a method's colour the same across chapters.
"""
from __future__ import annotations

import os
from typing import Sequence

import matplotlib

if not os.environ.get("DISPLAY") and "ipykernel" not in __import__("sys").modules:
    matplotlib.use("Agg")
import matplotlib.pyplot as plt
import seaborn as sns
import numpy as np
import torch
from torch import Tensor

__all__ = ["METHOD_COLORS", "PAGE_COLUMN_PX", "MIN_TEXT_PX", "MIN_SHOWN", "DPI", "set_style", "min_text_px",
           "max_width_in", "column_figsize", "panel_grid", "legible", "image_grid"]

#: The rendered book's text column in pixels (sphinx-book-theme in a 1280-px window): a wider figure is shrunk
#: to it, and its text with it.
PAGE_COLUMN_PX = 675
#: The smallest text a figure may show at that width (issue 22).
MIN_TEXT_PX = 9.0
#: The smallest fraction of its natural width at which the page may show a figure (issue 43): a figure is at
#: most ``max_width_in()`` wide, so the column never shrinks it further.
MIN_SHOWN = 0.6
#: The resolution of the figures the notebooks show inline (``set_style``): their natural width in pixels is
#: their width in inches times this.
DPI = 110

METHOD_COLORS = {
    "WT": "#1b9e77", "DA": "#d95f02", "IR": "#7570b3",   # ch1
    "learned": "#e7298a", "fixed": "#66a61e",             # ch2
    "invariance": "#1f78b4", "equivariance": "#e31a1c",   # ch3
    "shallow": "#a6761d", "deep": "#666666",              # ch4
}


def set_style(context: str = "notebook") -> None:
    """The book's style: seaborn whitegrid, colour-blind palette, compact figures; in a notebook, every figure is
    made ``legible`` before it is shown."""
    sns.set_theme(context=context, style="whitegrid", palette="colorblind")
    plt.rcParams.update({"figure.dpi": DPI, "savefig.dpi": 150, "figure.figsize": (6.4, 4.0),
                         "axes.titlesize": "medium", "image.cmap": "gray"})
    _legible_in_notebooks()


def _texts(fig):
    from matplotlib.text import Text

    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def min_text_px(fig) -> float:
    """The smallest text of ``fig`` in screen pixels once the page shows it at most ``PAGE_COLUMN_PX`` wide
    (``inf`` for a figure without text)."""
    fig.draw_without_rendering()      # tick labels get their text at draw time
    sizes = [t.get_fontsize() for t in _texts(fig)]
    if not sizes:
        return float("inf")
    w_in, dpi = fig.get_size_inches()[0], fig.get_dpi()
    return min(sizes) / 72 * min(dpi, PAGE_COLUMN_PX / w_in)


def max_width_in() -> float:
    """The widest figure (inches, at ``DPI``) the column shows at no less than ``MIN_SHOWN`` of its natural
    width: 10.2 in for the book's 675-px column at 110 dpi."""
    return PAGE_COLUMN_PX / (MIN_SHOWN * DPI)


def column_figsize(ncols: int = 1, nrows: int = 1, panel: tuple[float, float] = (3.6, 2.8)) -> tuple[float, float]:
    """The size of an ``nrows x ncols`` grid of ``panel``-sized axes (inches), shrunk as a whole to the widest
    figure the column shows legibly (``max_width_in``).

    Raises:
        ValueError: ``ncols`` or ``nrows`` below 1.
    """
    if ncols < 1 or nrows < 1:
        raise ValueError(f"a grid needs at least one row and column, got {nrows} x {ncols}")
    w, h = panel[0] * ncols, panel[1] * nrows
    scale = min(1.0, max_width_in() / w)
    return (w * scale, h * scale)


def panel_grid(n: int, panel: tuple[float, float] = (3.6, 2.8), max_cols: int | None = None, **subplots_kw):
    """``n`` panels of about ``panel`` inches in as many rows as the column needs: at most ``max_cols`` (default:
    as many as fit ``max_width_in``) a row; axes left over in the last row are removed.

    Returns:
        The Figure and a list of its ``n`` axes, row by row.
    Raises:
        ValueError: ``n`` below 1.
    """
    if n < 1:
        raise ValueError(f"panel_grid needs at least one panel, got n = {n}")
    fit = max(1, int(max_width_in() // panel[0]))
    ncols = min(n, fit if max_cols is None else max(1, min(max_cols, fit)))
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=column_figsize(ncols, nrows, panel), squeeze=False, **subplots_kw)
    flat = list(axes.flat)
    for ax in flat[n:]:
        fig.delaxes(ax)
    return fig, flat[:n]


def legible(fig):
    """Raise every text of ``fig`` smaller than ``MIN_TEXT_PX`` (at the page's column width) to that size, and lay
    the figure out again (a figure the column shows below ``MIN_SHOWN`` of its natural width should instead be
    laid out with ``panel_grid`` / ``column_figsize``). Returns ``fig``."""
    if min_text_px(fig) >= MIN_TEXT_PX:
        return fig
    w_in, dpi = fig.get_size_inches()[0], fig.get_dpi()
    need_pt = MIN_TEXT_PX * 72 / min(dpi, PAGE_COLUMN_PX / w_in)
    for t in _texts(fig):
        if t.get_fontsize() < need_pt:
            t.set_fontsize(need_pt)
    engine = fig.get_layout_engine()
    if engine is None or type(engine).__name__ != "ConstrainedLayoutEngine":
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fig.tight_layout()
    return fig


def _legible_in_notebooks() -> None:
    """In an IPython kernel, pass every Figure through ``legible`` before the inline backend shows it."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    ip = get_ipython()
    if ip is None:
        return
    from matplotlib.figure import Figure

    plt.close(plt.figure())     # the inline backend registers its formatters when the first figure is made
    png = ip.display_formatter.formatters["image/png"]
    shown = png.lookup_by_type(Figure) if Figure in png.type_printers else None
    if shown is None or getattr(shown, "_legible", False):
        return

    def show(fig, *args, **kwargs):
        return shown(legible(fig), *args, **kwargs)

    setattr(show, "_legible", True)
    png.for_type(Figure, show)


def image_grid(images: Tensor | np.ndarray, titles: Sequence[str] | None = None, ncols: int | None = None,
               size: float = 1.6):
    """Show grey images ``(N, H, W)`` or ``(N, 1, H, W)`` (or ``(R, C, H, W)`` as an R x C grid), tensors or arrays.

    Returns:
        The Figure.
    """
    imgs = images.detach().cpu().float() if isinstance(images, Tensor) else torch.as_tensor(np.asarray(images)).float()
    if imgs.ndim == 4 and imgs.shape[1] != 1:  # (R, C, H, W) grid
        rows, cols = imgs.shape[:2]
        imgs = imgs.reshape(rows * cols, *imgs.shape[2:])  # (R*C, H, W)
    else:
        cols = ncols or min(len(imgs), 8)
        rows = -(-len(imgs) // cols)
    size = min(size, max_width_in() / cols)      # the grid fits the column (MIN_SHOWN of its width or more)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([]), ax.set_yticks([])
        ax.grid(False)
        if i >= len(imgs):
            ax.axis("off")
            continue
        img = imgs[i]
        ax.imshow((img[0] if img.ndim == 3 else img).numpy(), cmap="gray")
        if titles is not None and i < len(titles):
            ax.set_title(titles[i], fontsize="small")
    fig.tight_layout()
    return fig
