"""Numbered figure captions, captioned tables and wrapped listings for the book's pages (issue 43).

A page shows each figure with ``figure(fig, name, caption, alt)``:

- in a page executed in batch for the book (``HELPERS_STATIC=1``, set by ``python -m helpers run`` / ``build``),
  the figure is glued (MyST-NB ``glue``) and a MyST ``{glue:figure}`` directive is shown beside it, so Jupyter
  Book renders it as a numbered figure, "Fig. N", with the caption under it and ``alt`` as the image's alt text;
  the page's text refers to it as ``{numref}`fig-ch1-drift``` (the figure's ``name``);
- in a live kernel (Jupyter, Colab), the figure and then its caption as a line of Markdown.

``table(frame, caption)`` turns a DataFrame into a pandas ``Styler`` with the caption inside the table's own HTML
(``<caption>``), compact enough for the page column, so a caption can never be printed apart from its table
(``nb_merge_streams`` moves every printed line of a cell above the cell's displayed tables).

``source(*objs)`` shows Python source as a highlighted listing whose long lines wrap at the column.

The book's column: ``plots.PAGE_COLUMN_PX``; figures are sized for it with ``plots.column_figsize`` and
``plots.panel_grid``.
"""
from __future__ import annotations

import inspect
import os
import re
from typing import Any

__all__ = ["NAME_PATTERN", "FIT_COLUMNS", "is_static", "figure", "figure_markdown", "table", "number", "source",
           "source_html", "recorded"]

#: A figure's name: its label in the book (``{numref}`` target) and its glue key; unique across the book, so
#: it starts with the chapter: ``fig-ch1-drift``.
NAME_PATTERN = re.compile(r"^fig-ch\d+-[a-z0-9]+(-[a-z0-9]+)*$")


def is_static() -> bool:
    """True in pages executed in batch for the book (``HELPERS_STATIC`` set and not ``0``)."""
    return os.environ.get("HELPERS_STATIC", "") not in ("", "0")


def _one_line(text: str, what: str) -> str:
    text = " ".join(str(text).split())
    if not text:
        raise ValueError(f"a figure needs a non-empty {what}, got {text!r}")
    return text


def figure_markdown(name: str, caption: str, alt: str) -> str:
    """The MyST ``{glue:figure}`` directive that shows the glued figure ``name`` as a numbered figure.

    Raises:
        ValueError: a name not of the form ``fig-ch<N>-<words>`` (``NAME_PATTERN``), or an empty caption or alt.
    """
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ValueError(f"figure name must look like 'fig-ch1-drift' (lower case, digits, dashes), got {name!r}")
    caption, alt = _one_line(caption, "caption"), _one_line(alt, "alt text")
    return f"```{{glue:figure}} {name}\n:name: {name}\n:alt: {alt}\n\n{caption}\n```\n"


def figure(fig, name: str, caption: str, alt: str | None = None) -> None:
    """Show ``fig`` as a numbered figure with ``caption`` (a paragraph of MyST: math and roles work) and ``alt``
    (what the figure shows, for a reader who cannot see it; default: the caption), then close it.

    In the book the page refers to it as ``{numref}`name```.

    Raises:
        ValueError: a bad ``name`` (see ``figure_markdown``), an empty caption or alt, or ``fig`` not a Figure.
    """
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise ValueError(f"figure() shows a matplotlib Figure, got {type(fig).__name__}")
    md = figure_markdown(name, caption, alt if alt is not None else caption)
    from IPython.display import Markdown, display

    if is_static():
        from myst_nb import glue

        glue(name, fig, display=False)
        display(Markdown(md))
    else:
        display(fig)
        display(Markdown(f"*Figure `{name}`.* {_one_line(caption, 'caption')}"))
    import matplotlib.pyplot as plt

    plt.close(fig)  # else the inline backend shows it a second time at the end of the cell


# ----------------------------------------------------------------------------- tables
#: Compact cells: the table's text at 85 %, headers that may wrap, numbers on one line.
_TABLE_STYLES = [
    {"selector": "", "props": [("font-size", "0.85em"), ("max-width", "100%")]},
    {"selector": "caption", "props": [("caption-side", "top"), ("text-align", "left"), ("font-weight", "normal"),
                                      ("font-style", "italic"), ("padding-bottom", "0.3em")]},
    {"selector": "th", "props": [("white-space", "normal"), ("padding", "0.2em 0.4em")]},
    {"selector": "td", "props": [("padding", "0.2em 0.4em")]},
]


def number(v: Any, precision: int = 3) -> str:
    """A table cell: a float with ``precision`` decimals, or in scientific notation with ``precision`` significant
    digits when it is that small (``4.1e-16``, not ``0.000``) or 10^6 and above; anything else as ``str``."""
    import numpy as np

    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (float, np.floating)):
        return str(v)
    v = float(v)
    if v != 0 and (abs(v) < 10.0 ** -precision or abs(v) >= 1e6):
        return f"{v:.{max(precision - 1, 0)}e}"
    return f"{v:.{precision}f}"


#: A wide table: the column's width, smaller text and padding, cells that wrap at spaces.
_FIT_STYLES = [
    {"selector": "", "props": [("width", "100%"), ("font-size", "0.75em")]},
    {"selector": "th", "props": [("padding", "0.15em 0.2em")]},
    {"selector": "td", "props": [("white-space", "normal"), ("padding", "0.15em 0.2em")]},
]
#: From this many columns (index included) on, a table takes the column's width and wraps its cells (``table``).
FIT_COLUMNS = 7


def table(frame, caption: str, precision: int = 3, hide_index: bool = False):
    """``frame`` (a DataFrame, or a Styler) as a pandas ``Styler`` with ``caption`` inside its HTML, floats to
    ``precision`` decimals (``number``: very small or large ones in scientific notation, in text columns too),
    missing values as a dash, compact cells; display it (or make it a cell's last expression).

    A table of ``FIT_COLUMNS`` or more columns (index included) takes the column's width and its cells wrap at
    spaces to stay within it; a narrower table keeps its own width.

    Raises:
        ValueError: an empty caption, or ``frame`` neither a DataFrame nor a Styler.
    """
    import pandas as pd
    from pandas.io.formats.style import Styler

    caption = _one_line(caption, "caption") if caption is not None else None
    if isinstance(frame, pd.Series):
        frame = frame.to_frame()
    if isinstance(frame, pd.DataFrame):
        styler = frame.style.format(lambda v: number(v, precision), na_rep="—")
    elif isinstance(frame, Styler):
        styler = frame
    else:
        raise ValueError(f"table() takes a DataFrame or a Styler, got {type(frame).__name__}")
    if caption is None:
        raise ValueError("a table needs a caption")
    fit = styler.data.shape[1] + (0 if hide_index else styler.data.index.nlevels) >= FIT_COLUMNS
    styler = styler.set_caption(caption).set_table_attributes('class="dataframe ls-table"')
    styles = _TABLE_STYLES + (_FIT_STYLES if fit else [])
    styler = styler.set_table_styles(styles, overwrite=False)
    if hide_index:
        styler = styler.hide(axis="index")
    return styler


# ----------------------------------------------------------------------------- source listings
def source_html(*objs: Any) -> str:
    """The source of each of ``objs`` (functions, classes; a string is taken as code), highlighted, in one listing whose long lines wrap
    at the column (inline styles: no stylesheet needed)."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    if not objs:
        raise ValueError("source() needs at least one function, class or string of code")
    code = "\n\n".join((o if isinstance(o, str) else inspect.getsource(o)).rstrip() for o in objs)
    body = highlight(code, PythonLexer(), HtmlFormatter(nowrap=True, noclasses=True, style="friendly"))
    return ('<pre class="ls-source" style="white-space:pre-wrap;overflow-wrap:anywhere;font-size:0.8em;'
            f'line-height:1.35;padding:0.6em;background:#f8f8f8;border-radius:4px">{body}</pre>')


def source(*objs: Any) -> None:
    """Display the source of ``objs`` as one wrapped, highlighted listing (``source_html``)."""
    from IPython.display import HTML, display

    display(HTML(source_html(*objs)))


# ----------------------------------------------------------------------------- the recorded runs of a chapter
def recorded(chapter: str, names: tuple[str, ...] = ("results.json",)) -> None:
    """Display a chapter's recorded runs and, claim by claim, what each page record measured
    (``records.recorded_runs`` and ``records.recorded_claims``: the page records' verdicts, and an earlier whole-run
    record's as the chapter's frozen table holds them; nothing is judged here), as two captioned tables that fit
    the column: verdict columns no run has are left out, wall times in whole seconds, and a verification's kind is
    written beside its claim id instead of in a column of its own."""
    from IPython.display import display

    from .claims import VERDICTS
    from .records import recorded_claims, recorded_runs

    runs = recorded_runs(chapter, names=names)
    runs = runs[[c for c in runs.columns if c not in VERDICTS or (runs[c] != 0).any()]]
    display(table(runs, "The runs of this chapter recorded in the repository, with the count of each verdict among "
                        "the reproductions by today's rules (verdicts no run has are left out).",
                  precision=0, hide_index=True))
    claims = recorded_claims(chapter)
    if "kind" in claims:
        claims.index = [c if k == "reproduction" else f"{c} ({k})" for c, k in zip(claims.index, claims["kind"])]
        claims = claims.drop(columns="kind").rename_axis("claim")
    display(table(claims, "Claim by claim, what each recorded run measured and its verdict by today's rules."))
