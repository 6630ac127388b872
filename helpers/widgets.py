"""ipywidgets that wrap pure functions, with a static figure that renders without a live kernel.

``explore(draw, values, name)`` always shows a static small-multiples figure for a few values
(what the rendered book shows), and, in a live kernel where ipywidgets can be imported, a slider over all
``values`` that redraws with the same function (what a reader with a live kernel uses). Pages executed in
batch (``python -m helpers run`` / ``build`` set ``HELPERS_STATIC=1`` for their kernels) get no slider: a
static page has no kernel to move it, and a widget in a batch run only leaves a dead control behind.
``draw(value, ax)`` must be pure: it reads precomputed results and draws on ``ax``.
"""
from __future__ import annotations

import os
from typing import Any, Callable, Sequence

import matplotlib.pyplot as plt

__all__ = ["explore", "static_values"]


def static_values(values: Sequence[Any], k: int = 3) -> list[Any]:
    """``k`` values spread evenly over ``values`` (first and last included)."""
    values = list(values)
    if not values:
        raise ValueError("explore needs at least one value")
    if len(values) <= k:
        return values
    step = (len(values) - 1) / (k - 1)
    return [values[round(i * step)] for i in range(k)]


def explore(draw: Callable[[Any, Any], None], values: Sequence[Any], name: str,
            static: Sequence[Any] | None = None, size: tuple[float, float] = (4.0, 3.2),
            fmt: Callable[[Any], str] = str, interactive: bool | None = None):
    """A static figure for ``static`` values plus (when possible) a slider over ``values``.

    Args:
        draw: ``draw(value, ax)``, pure.
        values: the slider's values (e.g. the precomputed sweep).
        name: the parameter's name (slider label, panel titles).
        static: values for the static panels; default three spread over ``values``.
        fmt: formats a value for titles and the slider.
        interactive: add the slider; default: unless ``HELPERS_STATIC`` is set (batch runs).
    Returns:
        The static Figure and the widget (or None).
    """
    static = list(static) if static is not None else static_values(values)
    fig, axes = plt.subplots(1, len(static), figsize=(size[0] * len(static), size[1]), squeeze=False)
    for v, ax in zip(static, axes[0]):
        draw(v, ax)
        ax.set_title(f"{name} = {fmt(v)}")
    fig.tight_layout()
    plt.show()
    if interactive is None:
        interactive = os.environ.get("HELPERS_STATIC", "") in ("", "0")
    if not interactive:
        return fig, None
    try:
        import ipywidgets as W
        from IPython.display import display
    except ImportError:
        return fig, None
    options = [(fmt(v), v) for v in values]

    def _redraw(value):
        f, ax = plt.subplots(figsize=size)
        draw(value, ax)
        ax.set_title(f"{name} = {fmt(value)}")
        plt.show()

    widget = W.interactive(_redraw, value=W.SelectionSlider(options=options, description=name,
                                                             continuous_update=False))
    display(widget)
    return fig, widget
