"""The book's repository URL, defined once: ``pyproject.toml``'s ``[project.urls] Repository``.

Everything that names the repository reads it from there:

- the book's GitHub button and its Colab launch buttons: this module is a Sphinx extension (``_config.yml``'s
  ``sphinx.extra_extensions``) that sets the theme's ``repository_url`` when the book is built;
- the first code cell of every chapter notebook, which clones the repository on Colab. A notebook opened in
  Colab cannot read a file of a repository it has not cloned yet, so that cell holds a copy of the URL, written
  from ``pyproject.toml`` by ``python -m helpers.repository`` (``--check`` only reports; ``tests/test_book.py``
  fails while a copy differs).

A fork changes the one line in ``pyproject.toml`` and runs ``python -m helpers.repository``.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from pathlib import Path

from .registry import repo_root

__all__ = ["repository_url", "setup_cell", "setup_cells", "stale_setup_cells", "write_setup_cells", "CLONE_DIR"]

#: Where the setup cell clones the repository on Colab.
CLONE_DIR = "/content/learned-symmetry"
_URL = re.compile(r"^(https?|ssh|git|file)://[^\s\"'\\]+$")


def repository_url(root: str | Path | None = None) -> str:
    """The repository URL: ``[project.urls] Repository`` of ``<root>/pyproject.toml`` (default: this checkout).

    Raises:
        ValueError: no such entry, or a value that is not a ``https://``, ``ssh://``, ``git://`` or ``file://``
            URL (or holds a quote or a space), naming the file and the value.
    """
    path = Path(root or repo_root()) / "pyproject.toml"
    urls = tomllib.loads(path.read_text()).get("project", {}).get("urls", {})
    url = urls.get("Repository")
    if not isinstance(url, str) or not _URL.match(url):
        raise ValueError(f"{path}: [project.urls] Repository is {url!r}; it must be the repository's URL, "
                         "e.g. \"https://github.com/OWNER/NAME\"")
    return url.rstrip("/")


def setup_cell(url: str, clone_dir: str = CLONE_DIR) -> str:
    """The source of every chapter's first code cell for ``url``: on Colab it clones the repository (code and
    committed evidence) and installs its package; elsewhere it does nothing.

    When the clone fails, its error names the URL and says which of two things went wrong: the host cannot be
    reached (no network), or it answers and has no such repository (a wrong URL, or a private repository).
    """
    return f'''\
# On Colab: clone the book's repository (its code and its committed evidence, results/) and install its package.
# Elsewhere this cell does nothing. REPOSITORY is pyproject.toml's [project.urls] Repository, copied here by
# `python -m helpers.repository` (a fork changes that line and runs it).
import os, socket, subprocess, sys, urllib.parse
REPOSITORY, HERE = {json.dumps(url)}, {json.dumps(clone_dir)}
if "google.colab" in sys.modules:
    def _run(*cmd):
        return subprocess.run(cmd, capture_output=True, text=True, env={{**os.environ, "GIT_TERMINAL_PROMPT": "0"}})

    def _why(url):  # no network, or no repository at an address that answers?
        u = urllib.parse.urlsplit(url)
        if u.scheme == "file":
            return f"there is no git repository at {{u.path}}"
        try:
            socket.create_connection((u.hostname, u.port or {{"http": 80, "ssh": 22, "git": 9418}}.get(u.scheme, 443)), 10).close()
        except OSError as e:
            return f"{{u.hostname}} cannot be reached ({{e}}): check the runtime's internet access"
        return (f"{{u.hostname}} answers but has no repository {{u.path}}: it does not exist or is private "
                "(a fork sets its own URL in pyproject.toml's [project.urls] and runs python -m helpers.repository)")

    if not os.path.isdir(os.path.join(HERE, ".git")):
        for cmd in (("git", "ls-remote", "--heads", REPOSITORY), ("git", "clone", "-q", "--depth", "1", REPOSITORY, HERE)):
            done = _run(*cmd)
            if done.returncode != 0:  # stop here, not later on a ModuleNotFoundError
                why = _why(REPOSITORY) if cmd[1] == "ls-remote" else f"cloning into {{HERE}} failed"
                raise RuntimeError(f"cannot fetch the book's repository {{REPOSITORY}}: {{why}}.\\n"
                                   f"`{{' '.join(cmd)}}` said: {{done.stderr.strip()[-1500:]}}")
    done = _run(sys.executable, "-m", "pip", "install", "-q", "-e", HERE)
    if done.returncode != 0:
        raise RuntimeError(f"installing the book's package from {{HERE}} (a clone of {{REPOSITORY}}) failed:\\n"
                           f"{{done.stdout[-1500:]}}{{done.stderr[-1500:]}}")
    sys.path.insert(0, HERE)'''


def _first_code(nb: dict) -> dict:
    cells = [c for c in nb["cells"] if c["cell_type"] == "code"]
    if not cells:
        raise ValueError("a chapter notebook without code cells")
    return cells[0]


def setup_cells(root: str | Path | None = None) -> dict[Path, str]:
    """Each chapter notebook's first code cell (its setup cell), by notebook path."""
    return {p: "".join(_first_code(json.loads(p.read_text()))["source"])
            for p in sorted(Path(root or repo_root()).glob("book/*.ipynb"))}


def stale_setup_cells(root: str | Path | None = None) -> list[Path]:
    """The notebooks whose setup cell is not ``setup_cell(repository_url())``."""
    want = setup_cell(repository_url(root))
    return [p for p, src in setup_cells(root).items() if src != want]


def write_setup_cells(root: str | Path | None = None) -> list[Path]:
    """Write ``setup_cell(repository_url())`` into every chapter notebook whose setup cell differs; nothing else
    of the notebook changes (it is written back as Jupyter writes it: one-space indent, UTF-8). Returns the
    notebooks written."""
    want = setup_cell(repository_url(root))
    lines = want.splitlines(keepends=True)
    written = []
    for p in stale_setup_cells(root):
        nb = json.loads(p.read_text())
        _first_code(nb)["source"] = lines
        p.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        written.append(p)
    return written


# --------------------------------------------------------------------------- Sphinx extension
def _set_repository(app, config) -> None:
    """``config-inited``: the theme's repository URL (GitHub button, Colab launch buttons) from pyproject.toml."""
    config.html_theme_options["repository_url"] = repository_url()
    config.html_theme_options["use_repository_button"] = True


def setup(app):
    """Sphinx extension: the book's repository URL comes from ``pyproject.toml``."""
    app.connect("config-inited", _set_repository)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m helpers.repository", description=(
        "Copy pyproject.toml's [project.urls] Repository into every chapter notebook's setup cell."))
    ap.add_argument("--check", action="store_true", help="only report the notebooks that differ (exit 1 if any)")
    args = ap.parse_args(argv)
    root = repo_root()
    url = repository_url(root)
    if args.check:
        stale = stale_setup_cells(root)
        for p in stale:
            print(f"{p.relative_to(root)}: the setup cell is not the one for {url}; run python -m helpers.repository")
        return 1 if stale else 0
    written = write_setup_cells(root)
    print(f"{url}: wrote the setup cell of {len(written)} notebook(s)"
          + "".join(f"\n  {p.relative_to(root)}" for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
