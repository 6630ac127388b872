"""The book's chapters, and running them headlessly (papermill) and building the HTML book.

``python -m helpers run`` and ``python -m helpers build`` call ``run_chapters`` and
``build_book``. Both need a checkout of the repository (the notebooks live in ``book/``).
Executed notebooks and each chapter's ``results.json`` go to ``_build/runs/<profile>/`` by
default; the source notebooks are never modified.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from .profiles import Profile, resolve

__all__ = ["Chapter", "CHAPTERS", "repo_root", "available", "get_chapters", "notebook_parameters", "run_chapters",
           "build_book"]

#: Parameters every run sets itself (``run_chapters``' own arguments).
_RUN_PARAMETERS = ("profile", "seed", "output_dir")


@dataclass(frozen=True)
class Chapter:
    key: str
    notebook: str  # relative to the repository root
    title: str

    @property
    def stem(self) -> str:
        return Path(self.notebook).stem


CHAPTERS = (
    Chapter("0", "book/00_template.ipynb", "How a chapter runs (the template)"),
    Chapter("1", "book/01_genuine_invariance.ipynb", "Learned vs genuine invariance"),
    Chapter("2", "book/02_invariant_weights.ipynb", "Invariant weights by marginal likelihood"),
    Chapter("3", "book/03_learned_equivariance_depth.ipynb", "Learned equivariance across depth"),
    Chapter("4", "book/04_liegg.ipynb", "LieGG: learned Lie group generators"),
)


def repo_root() -> Path:
    """The checkout that holds ``book/`` and ``_toc.yml``; a clear error when helpers is installed without one."""
    root = Path(__file__).resolve().parent.parent
    if not (root / "_toc.yml").exists() or not (root / "book").is_dir():
        raise RuntimeError(
            f"no book found next to the helpers package ({root}); running or building chapters needs a "
            "checkout of the repository (git clone, then pip install -e .)")
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
        norm = str(k).lower().removeprefix("ch").lstrip("0") or "0"
        match = [c for c in CHAPTERS if c.key == norm]
        if not match:
            raise ValueError(f"unknown chapter {k!r}; valid: {valid + ['all']}")
        if match[0] not in have:
            raise ValueError(f"chapter {k!r} ({match[0].notebook}) is not written yet; available: {valid + ['all']}")
        out.append(match[0])
    return out


def notebook_parameters(ch: Chapter, root: Path | None = None) -> list[str]:
    """The names in a chapter's ``parameters`` cell (what papermill may set; ``papermill.inspect_notebook``)."""
    import papermill as pm

    return list(pm.inspect_notebook(str((root or repo_root()) / ch.notebook)))


def _extra_parameters(chapters: list[Chapter], params: dict, root: Path) -> dict[str, dict]:
    """``params`` split by chapter: each chapter gets those its parameters cell has. Raises ``ValueError`` for a
    name no selected chapter has, or one ``run_chapters`` sets itself."""
    names = {ch.key: notebook_parameters(ch, root) for ch in chapters}
    for name in params:
        if name in _RUN_PARAMETERS:
            raise ValueError(f"parameter {name!r} is set by its own option (--profile, --seed, --out)")
        if not any(name in have for have in names.values()):
            listed = "; ".join(f"chapter {k}: {[n for n in v if n not in _RUN_PARAMETERS]}" for k, v in names.items())
            raise ValueError(f"no selected chapter has a parameter {name!r} ({listed})")
    return {ch.key: {k: v for k, v in params.items() if k in names[ch.key]} for ch in chapters}


def run_chapters(keys: Sequence[str] | None = None, profile: str | Profile = "auto",
                 out: str | os.PathLike | None = None, seed: int = 0, log_output: bool = False,
                 params: dict | None = None) -> list[dict]:
    """Execute chapters with papermill in ``profile``.

    Writes ``<out>/<stem>.ipynb`` (executed) and ``<out>/<stem>/results.json`` per chapter;
    ``out`` defaults to ``_build/runs/<profile>``. ``params``: further notebook parameters (e.g. chapter 3's
    ``image_dir``), each passed to the chapters whose parameters cell has it. Returns one summary dict per chapter.

    Raises:
        ValueError: a parameter that no selected chapter has.
        papermill.PapermillExecutionError: a chapter failed (its executed notebook shows where).
    """
    import papermill as pm

    root = repo_root()
    chapters = get_chapters(keys, root)
    extra = _extra_parameters(chapters, params or {}, root)
    prof = resolve(profile)
    out = Path(out) if out else root / "_build" / "runs" / prof.name
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("HELPERS_PROGRESS", "0")  # the kernels inherit it: no tqdm in executed notebooks
    summary = []
    for ch in chapters:
        t0 = time.perf_counter()
        print(f"[helpers] chapter {ch.key} ({ch.stem}) in profile {prof.name} on {prof.device} ...", flush=True)
        pm.execute_notebook(
            str(root / ch.notebook), str(out / f"{ch.stem}.ipynb"),
            parameters={**extra[ch.key], "profile": prof.name, "seed": seed, "output_dir": str((out / ch.stem).resolve())},
            cwd=str(root / "book"), kernel_name="python3", progress_bar=False, log_output=log_output,
        )
        dt = time.perf_counter() - t0
        print(f"[helpers] chapter {ch.key} done in {dt:.1f} s", flush=True)
        summary.append({"chapter": ch.key, "notebook": str(out / f"{ch.stem}.ipynb"), "seconds": round(dt, 1)})
    return summary


def _hide_original_parameters(nb_path: Path) -> None:
    """In an executed copy, drop the default ``parameters`` cell: the injected one shows what ran."""
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    if any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells):
        nb.cells = [c for c in nb.cells if "parameters" not in c.metadata.get("tags", [])]
    nbformat.write(nb, nb_path)


def build_book(profile: str | Profile = "auto", execute: bool = True, strict: bool = True) -> Path:
    """Execute every available chapter in ``profile`` and build the HTML book into ``_build/html``.

    The sources are staged in ``_build/src`` (executed notebooks in place of the clean ones), so
    the repository's notebooks stay output-free. With ``execute=False`` the clean notebooks are
    built as they are (no outputs). Returns the path of ``_build/html/index.html``.
    """
    root = repo_root()
    prof = resolve(profile)
    src = root / "_build" / "src"
    if src.exists():
        shutil.rmtree(src)
    shutil.copytree(root / "book", src / "book", ignore=shutil.ignore_patterns("runs", ".ipynb_checkpoints"))
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, src / name)
    if execute:
        runs = root / "_build" / "runs" / prof.name
        for ch in run_chapters(None, prof, runs):
            executed = Path(ch["notebook"])
            target = src / "book" / executed.name
            shutil.copy2(executed, target)
            _hide_original_parameters(target)
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(src), "--path-output", str(root)]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    print("[helpers]", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)
    index = root / "_build" / "html" / "index.html"
    print(f"[helpers] book built: {index}")
    return index
