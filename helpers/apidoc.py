"""Sphinx glue for the book's API reference (``book/api.md``, Sphinx autodoc + napoleon).

The package's docstrings are plain text written for ``help()``: Google-style *Args / Returns / Raises*
sections, ``literal`` names, and in module docstrings bullet lists and indented diagrams or file layouts. This
extension makes those plain-text conventions valid reStructuredText before napoleon reads them, so the page
renders them as written and the strict build (``-W -n``) has nothing to warn about:

- in a module docstring, an indented block after a blank line (a diagram, a file layout) becomes a literal
  block, and a bullet list gets the blank lines around it that reStructuredText needs;
- ``|x|`` (an absolute value or a size, e.g. ``|G|``) is text, not a substitution reference;
- a constant's ``#:`` comment is its description, never "type: description" (napoleon's reading of a colon).

``Returns`` and ``Yields`` sections are shown as written (``napoleon_custom_sections`` in ``_config.yml``):
their text often starts with a dict literal whose colons napoleon would take for a type.
"""
from __future__ import annotations

import re

__all__ = ["module_docstring_as_rst", "escape_bars", "setup"]

_BARS = re.compile(r"(?<![\\\w|])\|(?=[^|\s])([^|`]*?[^|\s\\])\|(?![A-Za-z0-9|])")


def escape_bars(line: str) -> str:
    """``line`` with each ``|x|`` outside double-backtick literals escaped as ``\\|x\\|`` (reStructuredText reads
    ``|x|`` as a substitution reference)."""
    parts = line.split("``")
    return "``".join(p if i % 2 else _BARS.sub(r"\\|\1\\|", p) for i, p in enumerate(parts))


def module_docstring_as_rst(lines: list[str]) -> list[str]:
    """A plain-text module docstring (already dedented) as reStructuredText: each indented block that follows a
    blank line and is not a bullet's continuation becomes a literal block (``::``), and bullet lists are set
    off by blank lines. Lines keep their text; only blank lines and ``::`` markers are added."""
    out: list[str] = []
    in_literal = in_list = False
    for line in lines:
        blank = not line.strip()
        if blank:
            out.append(line)
            continue
        indented = line[0].isspace()
        prev = out[-1] if out else ""
        if in_literal:
            if indented:
                out.append(line)
                continue
            in_literal = False
            if prev.strip():
                out.append("")
        if indented and not prev.strip() and not in_list and out and not _last_text(out).rstrip().endswith("::"):
            out += ["::", "", line]
            in_literal = True
            continue
        line = escape_bars(line)
        if line.lstrip().startswith(("- ", "* ")) and not indented:
            if prev.strip() and not in_list:
                out.append("")
            in_list = True
        elif in_list and not indented:
            if prev.strip():
                out.append("")
            in_list = False
        out.append(line)
    return out


def _last_text(lines: list[str]) -> str:
    return next((s for s in reversed(lines) if s.strip()), "")


_AS_WRITTEN: dict[str, list[str]] = {}


def _plain_text(app, what, name, obj, options, lines) -> None:
    """``autodoc-process-docstring``, before napoleon: see the module docstring."""
    if what == "module":
        lines[:] = module_docstring_as_rst(lines)
        return
    lines[:] = [escape_bars(line) for line in lines]
    if what in ("data", "attribute"):
        _AS_WRITTEN[name] = list(lines)


def _restore_constants(app, what, name, obj, options, lines) -> None:
    """``autodoc-process-docstring``, after napoleon: a constant's description as written (napoleon reads
    "text (1: more)" on its first line as "type: description")."""
    if what in ("data", "attribute") and name in _AS_WRITTEN:
        lines[:] = _AS_WRITTEN.pop(name)


def setup(app):
    """Sphinx extension: autodoc and napoleon, and the plain-text docstrings made reStructuredText."""
    app.setup_extension("sphinx.ext.autodoc")
    app.setup_extension("sphinx.ext.napoleon")
    app.connect("autodoc-process-docstring", _plain_text, priority=100)
    app.connect("autodoc-process-docstring", _restore_constants, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
