"""The book's chapters: their keys, notebooks and packages, and the checkout that holds them.

The ground floor of the package (it imports nothing of ``helpers``): the runner, the papermill runner
(``helpers.chapters``), the CLI and the landing page find a chapter here, by key, and load its package by name
(``chapter_module``: ``importlib``, never a static import of a chapter).

A chapter package (``helpers.experiments.chN``) provides ``STEM`` (its notebook's stem), ``SETTINGS``
(``{profile: settings}``) and ``PARTS(settings) -> list[Part]``. A new chapter is one line of ``CHAPTERS``.
"""
from __future__ import annotations

import importlib
import re
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

__all__ = ["Chapter", "CHAPTERS", "get_chapter", "get_chapters", "available", "chapter_module", "repo_root",
           "repo_root_or_none"]

_KEY = re.compile(r"^(?:ch)?0?([0-9])$")


@dataclass(frozen=True)
class Chapter:
    key: str
    notebook: str  # relative to the repository root
    title: str
    module: str  # the chapter package: STEM, SETTINGS, PARTS (``chapter_module``)

    @property
    def stem(self) -> str:
        return Path(self.notebook).stem


CHAPTERS = (
    Chapter("0", "book/00_template.ipynb", "How a chapter runs (the template)", "helpers.experiments.ch0"),
    Chapter("1", "book/01_genuine_invariance.ipynb", "Learned vs genuine invariance", "helpers.experiments.ch1"),
    Chapter("2", "book/02_invariant_weights.ipynb", "Invariant weights by marginal likelihood",
            "helpers.experiments.ch2"),
    Chapter("3", "book/03_learned_equivariance_depth.ipynb", "Learned equivariance across depth",
            "helpers.experiments.ch3"),
    Chapter("4", "book/04_liegg.ipynb", "LieGG: learned Lie group generators", "helpers.experiments.ch4"),
    Chapter("5", "book/05_four_lenses.ipynb", "One model zoo, four lenses", "helpers.experiments.ch5"),
)


def get_chapter(key: str) -> Chapter:
    """A chapter by key: ``"1"``, ``"01"``, ``"ch1"`` or its notebook's stem (``"01_genuine_invariance"``).

    Raises:
        ValueError: anything else (``"ch"``, ``""``, ``"x"``, ``"11"``), listing the valid keys.
    """
    text = str(key).strip().lower()
    for c in CHAPTERS:
        if text == c.stem:
            return c
    m = _KEY.match(text)
    match = [c for c in CHAPTERS if m and c.key == m.group(1)]
    if not match:
        raise ValueError(f"unknown chapter {key!r}; valid: {[c.key for c in CHAPTERS] + ['all']} "
                         "(or chN, 0N, or a notebook's stem)")
    return match[0]


def chapter_module(chapter: str | types.ModuleType) -> types.ModuleType:
    """A chapter package: the module itself, or a chapter key / stem (``"1"``, ``"ch1"``, ``"01_genuine_invariance"``).

    Raises:
        ValueError: an unknown chapter, or a module that does not provide ``STEM``, ``SETTINGS`` and ``PARTS``.
    """
    if isinstance(chapter, str):
        chapter = importlib.import_module(get_chapter(chapter).module)
    missing = [a for a in ("STEM", "SETTINGS", "PARTS") if not hasattr(chapter, a)]
    if missing:
        raise ValueError(f"{getattr(chapter, '__name__', chapter)!r} is not a chapter package (lacks {missing})")
    return chapter


def repo_root_or_none() -> Path | None:
    """The checkout that holds this package (``_toc.yml`` and ``book/`` beside it), or None when ``helpers`` was
    installed without one (e.g. from git on Colab)."""
    root = Path(__file__).resolve().parent.parent
    return root if (root / "_toc.yml").exists() and (root / "book").is_dir() else None


def repo_root() -> Path:
    """The checkout that holds ``book/`` and ``_toc.yml``; a clear error when helpers is installed without one."""
    root = repo_root_or_none()
    if root is None:
        raise RuntimeError(
            f"no book found next to the helpers package ({Path(__file__).resolve().parent.parent}); running or "
            "building chapters needs a checkout of the repository (git clone, then pip install -e .)")
    return root


def available(root: Path | None = None) -> list[Chapter]:
    """The chapters whose notebooks exist in this checkout."""
    root = root or repo_root()
    return [c for c in CHAPTERS if (root / c.notebook).exists()]


def get_chapters(keys: Iterable[str] | None = None, root: Path | None = None) -> list[Chapter]:
    """Chapters by key (``"1"``, ``"ch1"`` or ``"01"``); all available ones when ``keys`` is None or ``["all"]``.

    Raises:
        ValueError: an unknown key, or a chapter whose notebook is not written yet; lists the valid keys.
    """
    have = available(root)
    valid = [c.key for c in have]
    keys = list(keys) if keys is not None else ["all"]
    if keys == ["all"]:
        return have
    out = []
    for k in keys:
        ch = get_chapter(k)
        if ch not in have:
            raise ValueError(f"chapter {k!r} ({ch.notebook}) is not written yet; available: {valid + ['all']}")
        out.append(ch)
    return out
