"""JavaScript the rendered book needs, vendored from the npm registry so that no page fetches anything.

Jupyter Book takes MathJax from a CDN by default: offline, a page's equations stay raw LaTeX. ``mathjax()``
puts MathJax 3 (its ES5 build: ``tex-mml-chtml.js`` with the CHTML fonts, the TeX extensions it loads on demand,
the menu and accessibility code) in a local cache, once, from the npm registry's tarball, checked against the
registry's published SHA-512 integrity; ``build_book`` stages it as ``_static/mathjax/`` and ``_config.yml``
points ``mathjax_path`` there.
"""
from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import tarfile
import urllib.request
from pathlib import Path

__all__ = ["MATHJAX", "mathjax", "stage_mathjax"]

#: The MathJax release the book uses: the npm registry's tarball and its published integrity (``npm view
#: mathjax@3.2.2 dist.integrity``).
MATHJAX = {"version": "3.2.2", "url": "https://registry.npmjs.org/mathjax/-/mathjax-3.2.2.tgz",
           "sha512": "Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="}
# what a page with tex-mml-chtml.js can load: the entry point, fonts, on-demand TeX extensions, menu, a11y
_KEEP = ("es5/tex-mml-chtml.js", "es5/output/chtml/", "es5/input/", "es5/ui/", "es5/a11y/", "es5/adaptors/",
         "es5/sre/", "LICENSE")


def _integrity(data: bytes) -> str:
    return base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def mathjax(root: str | os.PathLike | None = None, tarball: str | os.PathLike | None = None) -> Path:
    """The folder holding MathJax's ``tex-mml-chtml.js`` (and what it loads), downloaded once.

    Args:
        root: the cache (default ``$HELPERS_VENDOR``, else ``~/.cache/learned-symmetry/vendor``).
        tarball: a local copy of the npm tarball to use instead of downloading it (e.g. ``npm pack mathjax@3.2.2``).
    Raises:
        RuntimeError: the tarball could not be had, or its SHA-512 is not the registry's; the message says how
            to provide it.
    """
    cache = os.environ.get("HELPERS_VENDOR", Path.home() / ".cache" / "learned-symmetry" / "vendor")
    dest = Path(root if root is not None else cache) / f"mathjax-{MATHJAX['version']}"
    if (dest / "tex-mml-chtml.js").is_file():
        return dest
    try:
        if tarball is not None:
            data = Path(tarball).read_bytes()
        else:
            with urllib.request.urlopen(MATHJAX["url"], timeout=60) as r:
                data = r.read()
    except OSError as e:
        raise RuntimeError(f"MathJax {MATHJAX['version']} could not be downloaded from {MATHJAX['url']} ({e}). "
                           f"Offline, run `npm pack mathjax@{MATHJAX['version']}` where the npm registry is reachable "
                           f"and pass the tarball (python -m helpers build --mathjax FILE), or build with "
                           f"HELPERS_MATHJAX=cdn to let pages load it from a CDN") from e
    if _integrity(data) != MATHJAX["sha512"]:
        raise RuntimeError(f"the MathJax tarball's SHA-512 is {_integrity(data)}, not the registry's "
                           f"{MATHJAX['sha512']}: not using it")
    tmp = dest.with_name(dest.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for m in tar.getmembers():
            rel = m.name.removeprefix("package/")
            if m.isfile() and rel.startswith(_KEEP):
                out = tmp / rel.removeprefix("es5/")
                out.parent.mkdir(parents=True, exist_ok=True)
                member = tar.extractfile(m)
                assert member is not None  # m is a regular file
                out.write_bytes(member.read())
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return dest


def stage_mathjax(static_dir: str | os.PathLike, tarball: str | os.PathLike | None = None) -> Path:
    """Copy MathJax (``mathjax()``) to ``<static_dir>/mathjax`` for the build. Returns that folder."""
    target = Path(static_dir) / "mathjax"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(mathjax(tarball=tarball), target)
    return target


if __name__ == "__main__":   # python -m helpers.vendor [TARBALL]: fetch (or unpack) MathJax into the cache
    import sys

    print(f"[helpers] MathJax {MATHJAX['version']}: {mathjax(tarball=sys.argv[1] if len(sys.argv) > 1 else None)}")
