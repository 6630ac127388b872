"""Running the book's chapters headlessly (papermill) and building the HTML book (the chapters: ``helpers.registry``).

``python -m helpers run`` and ``python -m helpers build`` call ``run_chapters`` and ``build_book``: first the
chapter's missing parts are computed (``helpers.runner.compute``, in this process or on Ray, with a line of
progress per part), then its page is executed with papermill, which only loads the stored parts and renders
them. Both need a checkout of the repository (the notebooks live in ``book/``). Executed notebooks and each
chapter's ``results.json`` go to ``_build/runs/<profile>/`` by default; the source notebooks are never modified.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Sequence
from unittest import mock

from . import lookup, runner
from .registry import Chapter, get_chapters, repo_root

__all__ = ["notebook_parameters", "run_chapters", "build_book", "without_machine_paths"]

#: Longest a page's cell may run, by profile (seconds; None: no limit). Pages only load stored parts, but a page
#: opened alone computes what is missing, and a hung cell must not hang CI. ``cell_timeout`` overrides it.
CELL_TIMEOUT = {"quick": 900, "standard": 3600, "paper": None}
#: Parameters every run sets itself (``run_chapters``' own arguments).
_RUN_PARAMETERS = ("profile", "output_dir", "store")


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
            raise ValueError(f"parameter {name!r} is set by its own option (--profile, --out, --store)")
        if not any(name in have for have in names.values()):
            listed = "; ".join(f"chapter {k}: {[n for n in v if n not in _RUN_PARAMETERS]}" for k, v in names.items())
            raise ValueError(f"no selected chapter has a parameter {name!r} ({listed})")
    return {ch.key: {k: v for k, v in params.items() if k in names[ch.key]} for ch in chapters}


def run_chapters(keys: Sequence[str] | None = None, profile: str = "best", out: str | os.PathLike | None = None,
                 log_output: bool = False, params: dict | None = None, *,
                 store: str | os.PathLike | None = None, cluster: str | None = None, parts: Sequence[str] | None = None,
                 force: bool = False, recompute: bool = False, pages: bool = True, threads: int | None = None,
                 cell_timeout: int | None = None, committed: bool | None = None, progress=print) -> list[dict]:
    """Compute the chapters' missing parts, then render their pages with papermill.

    Writes ``<out>/<stem>.ipynb`` (executed) and ``<out>/<stem>/results.json`` per chapter; ``out`` defaults to
    ``_build/runs/<profile>``. With ``store="results"`` the parts and the page's ``results.json`` go into the
    committed ``results/<profile>/<stem>/`` (replacing committed files needs ``force``). ``parts``: only these
    parts, and no page (a page needs all of them). ``params``: further notebook parameters (e.g. chapter 3's
    ``image_dir``), each passed to the chapters whose parameters cell has it. ``cell_timeout``: seconds a page's
    cell may run (default ``CELL_TIMEOUT`` of the profile). ``committed=False`` ignores the committed ``results/``
    (everything is computed anew, pages included). The other arguments are ``helpers.runner.compute``'s.
    Returns one summary dict per chapter.

    Raises:
        ValueError: a parameter that no selected chapter has; an unknown part or profile.
        FileExistsError: committed evidence would be replaced without ``force``.
        papermill.PapermillExecutionError: a page failed (its executed notebook shows where).
    """
    root = repo_root()
    chapters = get_chapters(keys, root)
    extra = _extra_parameters(chapters, params or {}, root)
    if parts and len(chapters) != 1:
        raise ValueError(f"--parts names parts of one chapter; {len(chapters)} chapters are selected")
    write = lookup.stores(store, committed)[0]
    summary = []
    for ch in chapters:
        t0 = time.perf_counter()
        run = runner.compute(ch.stem, profile, parts, store=write, cluster=cluster, force=force,
                             recompute=recompute, threads=threads, progress=progress, committed=committed)
        t_parts = time.perf_counter() - t0
        row = {"chapter": ch.key, "profile": run.profile, "computed": run.computed, "parts_s": round(t_parts, 1)}
        if pages and not parts:
            timeout = cell_timeout if cell_timeout is not None else CELL_TIMEOUT.get(run.profile)
            row |= _render_page(ch, run.profile, out, write, extra[ch.key], log_output, force, root, progress,
                                timeout, committed)
        row["seconds"] = round(time.perf_counter() - t0, 1)
        summary.append(row)
    return summary


def _render_page(ch: Chapter, profile: str, out, write, extra: dict, log_output: bool, force: bool,
                 root: Path, progress, timeout: int | None, committed: bool | None = None) -> dict:
    """Execute one chapter's page (its parts all stored) with papermill; the kernel shows no progress bars."""
    import papermill as pm

    out = Path(out) if out else root / "_build" / "runs" / profile
    out.mkdir(parents=True, exist_ok=True)
    record_dir = write.root / profile / ch.stem if write.protected else out / ch.stem
    if write.protected and (record_dir / "results.json").exists() and not force:
        raise FileExistsError(f"{record_dir / 'results.json'} is committed evidence; pass --force to replace it")
    t0 = time.perf_counter()
    if progress is not None:
        progress(f"[helpers] {ch.stem}: rendering the page ({profile}) ...")
    env = {"HELPERS_PROGRESS": "0", "HELPERS_STATIC": "1"}  # the kernel inherits these: no tqdm bars, no sliders
    if committed is False:
        env["HELPERS_IGNORE_COMMITTED"] = "1"
    with mock.patch.dict(os.environ, env):
        pm.execute_notebook(
            str(root / ch.notebook), str(out / f"{ch.stem}.ipynb"),
            parameters={**extra, "profile": profile, "output_dir": str(record_dir.resolve()),
                        "store": str(write.root.resolve())},
            cwd=str(root / "book"), kernel_name="python3", progress_bar=False, log_output=log_output,
            execution_timeout=timeout)
    without_machine_paths(out / f"{ch.stem}.ipynb", root)
    dt = time.perf_counter() - t0
    if progress is not None:
        progress(f"[helpers] {ch.stem}: page rendered in {dt:.1f} s -> {out / f'{ch.stem}.ipynb'}")
    return {"notebook": str(out / f"{ch.stem}.ipynb"), "page_s": round(dt, 1),
            "results": str(record_dir / "results.json")}


def without_machine_paths(nb_path: Path, root: Path) -> None:
    """Rewrite an executed notebook so that it names no path of this machine: the checkout's root becomes paths
    relative to it (``store = "_build/store"``, papermill's ``input_path`` ``book/01_...ipynb``) and the home folder
    ``~``; its injected parameters then say which store and record folder it used, relative to the repository."""
    text = nb_path.read_text()
    for prefix, short in ((str(root.resolve()), "."), (str(root), "."), (str(Path.home()), "~")):
        if len(prefix) > 1:
            text = text.replace(prefix + "/", "" if short == "." else short + "/").replace(f'"{prefix}"', f'"{short}"')
    nb_path.write_text(text)


def _stage_executed(nb_path: Path) -> None:
    """In an executed copy for the book, drop the default ``parameters`` cell and hide the injected one
    (it holds machine paths; the page's evidence line names the profile)."""
    import nbformat

    nb = nbformat.read(nb_path, as_version=4)
    if any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells):
        nb.cells = [c for c in nb.cells if "parameters" not in c.metadata.get("tags", [])]
    for c in nb.cells:
        tags = c.metadata.get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            c.metadata["tags"] = [*tags, "remove-cell"]
    nbformat.write(nb, nb_path)


def _dedupe_inline_scripts(html: Path) -> None:
    """Drop the second copy of an identical inline ``<script>`` line from every page: Jupyter Book 1 registers
    sphinx-thebe's and togglebutton's settings twice, and the repeated ``const THEBE_JS_URL`` is a SyntaxError
    in every page's console."""
    for page in html.rglob("*.html"):
        seen, out, changed = set(), [], False
        for line in page.read_text().splitlines(keepends=True):
            s = line.strip()
            if s.startswith("<script>") and s.endswith("</script>"):
                if s in seen:
                    changed = True
                    continue
                seen.add(s)
            out.append(line)
        if changed:
            page.write_text("".join(out))


def build_book(profile: str = "best", execute: bool = True, strict: bool = True, *,
               store: str | os.PathLike | None = None, cluster: str | None = None, progress=print,
               mathjax: str | os.PathLike | None = None) -> Path:
    """Render every available chapter in ``profile`` and build the HTML book into ``_build/html``.

    ``best`` (the default) renders each chapter from its best stored profile (paper, then standard, then
    quick, the first with every part stored) and computes only what no store has. The sources are staged in
    ``_build/src`` (executed notebooks in place of the clean ones), so the repository's notebooks stay
    output-free. With ``execute=False`` the clean notebooks are built as they are (no outputs). MathJax is
    vendored into the book's static files (``helpers.vendor``; ``mathjax``: a local copy of its npm tarball), so
    no page fetches anything; ``HELPERS_MATHJAX=cdn`` builds with the CDN instead. ``_build/html`` is built
    from scratch (nothing of an earlier build stays), and the landing page's verdict table
    (``helpers.landing``) reads the records of the pages just rendered. Returns the path of
    ``_build/html/index.html``.
    """
    root = repo_root()
    src = root / "_build" / "src"
    if src.exists():
        shutil.rmtree(src)
    shutil.copytree(root / "book", src / "book", ignore=shutil.ignore_patterns("runs", ".ipynb_checkpoints"))
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, src / name)
    from . import vendor

    cdn = os.environ.get("HELPERS_MATHJAX", "") == "cdn"
    if cdn:
        config = src / "_config.yml"  # its mathjax_path back at the CDN
        config.write_text(config.read_text().replace(
            "mathjax_path: mathjax/tex-mml-chtml.js", "mathjax_path: https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"))
    else:
        vendor.mathjax(tarball=mathjax)     # fail early, before any page renders, if it cannot be had
    records = []      # the pages' results.json: the landing page's verdict table reads them (helpers.landing)
    if execute:
        for ch in run_chapters(None, profile, root / "_build" / "runs" / "book", store=store, cluster=cluster,
                               progress=progress):
            records.append(ch["results"])
            executed = Path(ch["notebook"])
            target = src / "book" / executed.name
            shutil.copy2(executed, target)
            _stage_executed(target)
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(src), "--path-output", str(root)]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    print("[helpers]", " ".join(cmd), flush=True)
    for stale in ("html", ".doctrees"):     # no image or page of an earlier build survives into this one
        shutil.rmtree(root / "_build" / stale, ignore_errors=True)
    env = {k: v for k, v in os.environ.items() if k != "HELPERS_PAGE_RECORDS"}
    if records:
        env["HELPERS_PAGE_RECORDS"] = os.pathsep.join(records)
    subprocess.run(cmd, check=True, env=env)
    if not cdn:   # copied after the build: Jupyter Book adds every .js of a source _static folder to every page
        vendor.stage_mathjax(root / "_build" / "html" / "_static", mathjax)
    _dedupe_inline_scripts(root / "_build" / "html")
    index = root / "_build" / "html" / "index.html"
    print(f"[helpers] book built: {index}")
    return index
