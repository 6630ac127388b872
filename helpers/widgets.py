"""Controls over precomputed results: a static figure, a slider that works in the static HTML book, and an
ipywidgets slider in a live kernel.

``explore(draw, values, name)`` always shows a static small-multiples figure for a few values (what a printed
page shows). Then:

- in a live kernel where ipywidgets can be imported, a slider over all ``values`` that redraws with the same
  function (Jupyter, Colab);
- in pages executed in batch (``python -m helpers run`` / ``build`` set ``HELPERS_STATIC=1`` for their kernels),
  a *frame slider*: one image per value, drawn once, and an ``<input type="range">`` that shows one at a time.
  It is self-contained HTML (images inline, a one-line ``oninput`` handler, no ``<script>`` tag, nothing
  fetched), so it works in the rendered book without a kernel or a network.

``draw(value, ax)`` must be pure: it reads precomputed results and draws on ``ax``.
"""
from __future__ import annotations

import base64
import html
import io
import json
from typing import Any, Callable, Sequence

import matplotlib.pyplot as plt

from .captions import figure, is_static
from .plots import legible, panel_grid

__all__ = ["explore", "static_values", "frames_html", "FRAME_CLASS"]

#: The CSS class of every frame slider (the browser tests find the controls by it).
FRAME_CLASS = "ls-frames"


def static_values(values: Sequence[Any], k: int = 3) -> list[Any]:
    """``k`` values spread evenly over ``values`` (first and last included)."""
    values = list(values)
    if not values:
        raise ValueError("explore needs at least one value")
    if len(values) <= k:
        return values
    step = (len(values) - 1) / (k - 1)
    return [values[round(i * step)] for i in range(k)]


# one handler, inline: show the image whose index is the slider's value, and its label
_ONINPUT = ("var d=this.closest('.{cls}'),im=d.querySelectorAll('img'),l=JSON.parse(d.dataset.labels);"
            "for(var i=0;i<im.length;i++){{im[i].style.display=(i==this.value)?'':'none';}}"
            "d.querySelector('output').textContent=l[this.value];")


def frames_html(draw: Callable[[Any, Any], None], values: Sequence[Any], name: str,
                size: tuple[float, float] = (4.0, 3.2), fmt: Callable[[Any], str] = str, dpi: int = 90) -> str:
    """A self-contained slider over precomputed frames, as HTML: ``draw(value, ax)`` once per value into an
    inline PNG, and a range input that shows one frame at a time (the first one first).

    Returns:
        HTML with no ``<script>`` tag and no external resource.
    """
    values = list(values)
    if not values:
        raise ValueError("explore needs at least one value")
    labels = [fmt(v) for v in values]
    imgs = []
    for i, v in enumerate(values):
        fig, ax = plt.subplots(figsize=size)
        draw(v, ax)
        ax.set_title(f"{name} = {labels[i]}")
        fig.tight_layout()
        buf = io.BytesIO()
        legible(fig).savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
        src = base64.b64encode(buf.getvalue()).decode("ascii")
        plt.close(fig)
        hidden = "" if i == 0 else " style=\"display:none\""
        imgs.append(f'<img src="data:image/png;base64,{src}" alt="{html.escape(name)} = {html.escape(labels[i])}"'
                    f' class="{FRAME_CLASS}-frame"{hidden}>')
    handler = html.escape(_ONINPUT.format(cls=FRAME_CLASS), quote=True)
    return (f'<div class="{FRAME_CLASS}" data-name="{html.escape(name)}" '
            f'data-labels="{html.escape(json.dumps(labels), quote=True)}" style="max-width:100%">'
            f'<label style="display:block">{html.escape(name)} = <output>{html.escape(labels[0])}</output> '
            f'<input type="range" min="0" max="{len(values) - 1}" step="1" value="0" '
            f'aria-label="{html.escape(name)}" style="width:60%;vertical-align:middle" oninput="{handler}">'
            f'</label>{"".join(imgs)}</div>')


def explore(draw: Callable[[Any, Any], None], values: Sequence[Any], name: str, *, figure_name: str, caption: str,
            static: Sequence[Any] | None = None, size: tuple[float, float] = (4.0, 3.2),
            fmt: Callable[[Any], str] = str, alt: str | None = None):
    """A static figure for ``static`` values, shown as a numbered figure (``captions.figure``), then a slider over
    ``values``: ipywidgets in a live kernel, a frame slider (``frames_html``) in a page executed in batch
    (``HELPERS_STATIC`` set).

    Args:
        draw: ``draw(value, ax)``, pure.
        values: the slider's values (e.g. the precomputed sweep).
        name: the parameter's name (slider label, panel titles).
        static: values for the static panels; default three spread over ``values``.
        fmt: formats a value for titles and the slider.
        figure_name, caption, alt: the static figure's name, caption and alt text (``captions.figure``); its panels
            are laid out in as many rows as the page column needs (``plots.panel_grid``).
    Returns:
        The static Figure and the ipywidgets widget (None where the frame slider, or no slider, was shown).
    """
    values = list(values)
    static = list(static) if static is not None else static_values(values)
    fig, axes = panel_grid(len(static), size)
    for v, ax in zip(static, axes):
        draw(v, ax)
        ax.set_title(f"{name} = {fmt(v)}")
    fig.tight_layout()
    figure(fig, figure_name, caption, alt)
    from IPython.display import HTML, display

    interactive = not is_static()
    if interactive:
        try:
            import ipywidgets as W
        except ImportError:
            interactive = False
    if not interactive:
        display(HTML(frames_html(draw, values, name, size, fmt)))
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
