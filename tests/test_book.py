"""The book's structure: toc <-> notebooks, clean notebooks, the parameters cell, one repository URL, the CLI."""
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from helpers import chapters

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def _toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [c["file"] for c in part["chapters"]]
    return files


def test_toc_lists_exactly_the_notebooks_and_pages():
    files = _toc_files()
    for f in files:
        assert any((ROOT / f"{f}{ext}").exists() for ext in (".md", ".ipynb")), f"{f} in _toc.yml does not exist"
    listed = {f for f in files}
    for nb in NOTEBOOKS:
        assert f"book/{nb.stem}" in listed, f"{nb.name} is not in _toc.yml"
    registered = {c.notebook for c in chapters.CHAPTERS}
    for nb in NOTEBOOKS:
        assert f"book/{nb.name}" in registered, f"{nb.name} is not in helpers.chapters.CHAPTERS"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_clean_and_parameterised(nb):
    cells = json.loads(nb.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), "committed with outputs"
    params = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, "exactly one cell tagged 'parameters'"
    src = "".join(params[0]["source"])
    for name in ("profile", "seed", "output_dir", "store"):
        assert re.search(rf"^{name}\s*=", src, flags=re.M), f"parameters cell lacks {name}"
    assert "google.colab" in "".join(code[0]["source"]), "the first code cell installs the package on Colab"
    src_all = "".join("".join(c["source"]) for c in code)
    assert "runner.evidence(" in src_all, "a page gets its parts through runner.evidence (load or compute)"
    assert re.search(r'^profile = "best"', src, flags=re.M), "a page renders the best stored evidence by default"


def test_one_repository_url():
    url = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
    assert yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"] == url
    for nb in NOTEBOOKS:
        colab = "".join(json.loads(nb.read_text())["cells"][1]["source"])
        assert f'"{url}"' in colab, f"{nb.name}: the Colab cell installs from another URL"
        assert "raise RuntimeError" in colab, f"{nb.name}: a failed Colab install must stop the notebook"


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "helpers", *args], capture_output=True, text=True, cwd=ROOT)


def test_cli_errors_name_the_bad_value():
    r = _cli("run", "--chapter", "9", "--profile", "quick")
    assert r.returncode == 2 and "unknown chapter '9'" in r.stderr and "valid:" in r.stderr
    r = _cli("run", "--chapter", "1", "--profile", "fast")
    assert r.returncode == 2 and "invalid choice: 'fast'" in r.stderr and "quick" in r.stderr
    r = _cli("list")
    assert r.returncode == 0 and "00_template" in r.stdout
    r = _cli("run", "--chapter", "1", "--profile", "quick", "-p", "image_dir", "imagenette")
    assert r.returncode == 2 and "no selected chapter has a parameter 'image_dir'" in r.stderr
    r = _cli("run", "--chapter", "3", "--profile", "quick", "-p", "profile", "paper")
    assert r.returncode == 2 and "'profile' is set by its own option" in r.stderr
    r = _cli("run", "--chapter", "1", "--profile", "quick", "--parts", "group-rot5", "--store", "/nonexistent/x")
    assert r.returncode == 2 and "no part 'group-rot5' in this profile; valid: ['group-rot4'" in r.stderr
    r = _cli("run", "--chapter", "1", "3", "--parts", "group-rot4")
    assert r.returncode == 2 and "--parts names parts of one chapter; 2 chapters are selected" in r.stderr
    r = _cli("run", "--chapter", "0", "--profile", "quick", "--cluster", "slurm", "--store", "/nonexistent/x")
    assert r.returncode == 2 and "unknown cluster 'slurm'" in r.stderr
    r = _cli("parts", "--chapter", "0", "--profile", "quick", "--store", "/nonexistent/x")
    assert r.returncode == 0 and "00_template  quick:" in r.stdout and "ensemble-vs-loop" in r.stdout


def test_further_notebook_parameters_go_to_the_chapters_that_have_them():
    ch1, ch3 = chapters.get_chapters(["1", "3"])
    assert chapters.notebook_parameters(ch3) == ["profile", "seed", "output_dir", "store", "image_dir"]
    split = chapters._extra_parameters([ch1, ch3], {"image_dir": "imagenette"}, chapters.repo_root())
    assert split == {"1": {}, "3": {"image_dir": "imagenette"}}
    from helpers.__main__ import _literal
    assert (_literal("3"), _literal("0.5"), _literal("True"), _literal("imagenette"), _literal("/a b")) == (
        3, 0.5, True, "imagenette", "/a b")


def test_chapter_keys():
    assert [c.key for c in chapters.get_chapters(["ch0", "01", "2", "03_learned_equivariance_depth"])] == ["0", "1", "2", "3"]
    for bad in ("x", "ch", "", "11", "ch01x", "1.0"):
        with pytest.raises(ValueError, match=f"unknown chapter {bad!r}"):
            chapters.get_chapters([bad])
    missing = [c for c in chapters.CHAPTERS if c not in chapters.available()]
    if missing:
        with pytest.raises(ValueError, match="not written yet"):
            chapters.get_chapters([missing[0].key])


def test_mathjax_is_vendored_and_checked(tmp_path):
    """MathJax comes from the npm registry's tarball, checked against its published SHA-512; a tampered tarball
    is refused with a message that names both digests."""
    import io
    import tarfile

    from helpers import vendor

    good = io.BytesIO()
    with tarfile.open(fileobj=good, mode="w:gz") as tar:
        data = b"// MathJax"
        info = tarfile.TarInfo("package/es5/tex-mml-chtml.js")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    bad = tmp_path / "mathjax.tgz"
    bad.write_bytes(good.getvalue())
    with pytest.raises(RuntimeError, match="SHA-512 is .* not the registry's"):
        vendor.mathjax(tmp_path / "cache", tarball=bad)
    assert not (tmp_path / "cache" / f"mathjax-{vendor.MATHJAX['version']}").exists()
    missing = tmp_path / "nothing.tgz"
    with pytest.raises(RuntimeError, match="HELPERS_MATHJAX=cdn"):
        vendor.mathjax(tmp_path / "cache", tarball=missing)
