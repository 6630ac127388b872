"""The book's structure: toc <-> notebooks, clean notebooks, the parameters cell, one repository URL, the CLI."""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from helpers import chapters, registry

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
    registered = {c.notebook for c in registry.CHAPTERS}
    for nb in NOTEBOOKS:
        assert f"book/{nb.name}" in registered, f"{nb.name} is not in helpers.registry.CHAPTERS"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_clean_and_parameterised(nb):
    cells = json.loads(nb.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), "committed with outputs"
    params = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, "exactly one cell tagged 'parameters'"
    src = "".join(params[0]["source"])
    for name in ("profile", "output_dir", "store"):
        assert re.search(rf"^{name}\s*=", src, flags=re.M), f"parameters cell lacks {name}"
    assert "google.colab" in "".join(code[0]["source"]), "the first code cell installs the package on Colab"
    src_all = "".join("".join(c["source"]) for c in code)
    assert "runner.evidence(" in src_all, "a page gets its parts through runner.evidence (load or compute)"
    assert re.search(r'^profile = "best"', src, flags=re.M), "a page renders the best stored evidence by default"


def test_one_repository_url():
    """pyproject.toml's [project.urls] Repository is the only place the URL is typed: _config.yml names none (the
    helpers.repository Sphinx extension sets it), and every setup cell is the one written from it."""
    from helpers import repository

    url = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
    assert repository.repository_url() == url
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert "url" not in config.get("repository", {}), "_config.yml types the repository URL; pyproject.toml has it"
    assert "helpers.repository" in config["sphinx"]["extra_extensions"]
    typed = [p.relative_to(ROOT) for p in [ROOT / "_config.yml", ROOT / "README.md", *sorted((ROOT / "book").glob("*.md")),
                                           *sorted((ROOT / "helpers").rglob("*.py"))] if url in p.read_text()]
    assert not typed, f"{typed} type the repository URL"
    stale = repository.stale_setup_cells()
    assert not stale, f"{[p.name for p in stale]}: setup cell differs from pyproject's URL; run python -m helpers.repository"
    for nb in NOTEBOOKS:
        assert f'REPOSITORY, HERE = "{url}", ' in repository.setup_cells()[nb]


def test_repository_url_errors_name_the_bad_value(tmp_path):
    from helpers import repository

    (tmp_path / "pyproject.toml").write_text('[project.urls]\nRepository = "github.com/x y"\n')
    with pytest.raises(ValueError, match=r"Repository is 'github.com/x y'; it must be the repository's URL"):
        repository.repository_url(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    with pytest.raises(ValueError, match="Repository is None"):
        repository.repository_url(tmp_path)


def test_a_fork_changes_one_line(tmp_path):
    """A fork edits pyproject.toml's URL; python -m helpers.repository rewrites the setup cells, nothing else."""
    from helpers import repository

    (tmp_path / "book").mkdir()
    text = (ROOT / "pyproject.toml").read_text()
    url = repository.repository_url()
    (tmp_path / "pyproject.toml").write_text(text.replace(f'"{url}"', '"https://github.com/someone/fork"'))
    for nb in NOTEBOOKS[:2]:
        shutil.copy(nb, tmp_path / "book" / nb.name)
    before = {p.name: json.loads(p.read_text()) for p in (tmp_path / "book").glob("*.ipynb")}
    assert len(repository.stale_setup_cells(tmp_path)) == 2
    assert [p.name for p in repository.write_setup_cells(tmp_path)] == sorted(before)
    assert repository.stale_setup_cells(tmp_path) == [] and repository.write_setup_cells(tmp_path) == []
    for p in (tmp_path / "book").glob("*.ipynb"):
        after = json.loads(p.read_text())
        changed = [i for i, (a, b) in enumerate(zip(before[p.name]["cells"], after["cells"])) if a != b]
        assert changed == [1] and len(after["cells"]) == len(before[p.name]["cells"]), p.name
        assert '"https://github.com/someone/fork"' in "".join(after["cells"][1]["source"])


_FAKE_COLAB = "import sys, types; sys.modules['google.colab'] = types.ModuleType('google.colab')\n"


def _setup_cell_as(url: str, here: Path) -> str:
    """The notebooks' setup cell (as committed) with the URL and the clone folder replaced, run as if on Colab."""
    from helpers import repository

    cell = repository.setup_cells()[NOTEBOOKS[0]]
    old_url, old_here = json.dumps(repository.repository_url()), json.dumps(repository.CLONE_DIR)
    assert old_url in cell and old_here in cell
    return _FAKE_COLAB + cell.replace(old_url, json.dumps(url)).replace(old_here, json.dumps(str(here)))


def test_setup_cell_tells_no_network_from_no_repository(tmp_path):
    """Without a repository at a host that answers, the error says so; when the host cannot be reached, it says
    that instead; both name the URL."""
    import http.server
    import threading

    def fails(url):
        r = subprocess.run([sys.executable, "-c", _setup_cell_as(url, tmp_path / "clone")], capture_output=True,
                           text=True, cwd=tmp_path, timeout=120)
        assert r.returncode != 0 and not (tmp_path / "clone").exists()
        return r.stderr.strip().splitlines()

    missing = tmp_path / "no-such-repository"
    err = fails(missing.as_uri())
    assert f"RuntimeError: cannot fetch the book's repository {missing.as_uri()}: there is no git repository at {missing}." in err

    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_error(404)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/owner/private"
        err = fails(url)
        assert f"RuntimeError: cannot fetch the book's repository {url}: 127.0.0.1 answers but has no repository " \
               "/owner/private: it does not exist or is private (a fork sets its own URL in pyproject.toml's " \
               "[project.urls] and runs python -m helpers.repository)." in err
    finally:
        server.shutdown()
    with socket.socket() as s:          # a port nothing listens on: the host cannot be reached
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/owner/name"
    err = fails(url)
    assert any(line.startswith(f"RuntimeError: cannot fetch the book's repository {url}: 127.0.0.1 cannot be "
                               "reached (") and line.endswith("check the runtime's internet access.") for line in err), err


def test_setup_cell_clones_and_installs_from_a_file_url(tmp_path):
    """The setup cell, end to end, against a file:// URL of this checkout (its committed HEAD): it clones, installs
    the package from the clone into a fresh virtual environment (the installed dependencies are lent to it, so
    nothing but the build backend is fetched: pip gets hatchling from the package index, as on Colab), and the
    clone's package then loads the committed evidence of chapter 0 without computing anything."""
    import sysconfig
    import venv

    env_dir, here = tmp_path / "venv", tmp_path / "learned-symmetry"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "zz_lent.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")   # torch & co., not helpers
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    r = subprocess.run([python, "-c", _setup_cell_as(ROOT.as_uri(), here)], capture_output=True, text=True,
                       cwd=tmp_path, env=env, timeout=600)
    if r.returncode != 0 and "hatchling" in r.stderr and os.environ.get("CI", "").lower() != "true":
        pytest.skip(f"pip could not fetch the build backend (no package index here): {r.stderr[-300:]}")
    assert r.returncode == 0, r.stderr[-3000:]
    assert (here / ".git").is_dir() and (here / "results").is_dir()
    check = ("import helpers, helpers.runner as r; ev = r.evidence('0', 'best'); "
             "print(helpers.__file__, ev.profile, len(ev), len(ev.missing))")
    r = subprocess.run([python, "-c", check], capture_output=True, text=True, cwd=tmp_path,
                       env=env | {"HELPERS_PROGRESS": "0"}, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    path, profile, n, missing = r.stdout.split()[-4:]
    assert Path(path) == here / "helpers" / "__init__.py" and profile == "paper" and int(n) > 0 and missing == "0"


#: Works the text names, by a pattern of its name: a page whose prose names one must cite it (issue 43).
NAMED_WORKS = {r"\bAdam\b": "kingma2015adam", r"CutMix": "yun2019cutmix", r"RandAugment": "cubuk2020randaugment",
               r"t-SNE": "vandermaaten2008visualizing", r"Wide ResNet|\bWRN\b|Zagoruyko": "zagoruyko2016wide",
               r"integrated gradients": "sundararajan2017axiomatic", r"\bcaptum\b": "kokhlikyan2020captum",
               r"\btimm\b": "wightman2019timm", r"Imagenette": "howard2019imagenette",
               r"ImageNet": "russakovsky2015imagenet", r"CIFAR": "krizhevsky2009learning",
               r"Fashion-MNIST": "xiao2017fashion", r"\bMNIST\b": "lecun1998gradient",
               r"EfficientNet": "tan2019efficientnet", r"ResNeXt": "xie2017aggregated",
               r"Inception": "szegedy2016rethinking", r"\bViT\b": "dosovitskiy2021image",
               r"MLP-Mixer": "tolstikhin2021mlpmixer", r"Cohen|Welling": "cohen2016group",
               r"random Fourier|\bRFF\b": "rahimi2007random", r"LieGG": "moskalev2022liegg",
               r"\bResNets?\b": "he2016deep"}


def _prose(page: Path) -> str:
    if page.suffix == ".md":
        return page.read_text()
    return "\n".join("".join(c["source"]) for c in json.loads(page.read_text())["cells"] if c["cell_type"] == "markdown")


def _cited(text: str) -> set[str]:
    return {k.strip() for keys in re.findall(r"\{cite:[a-z]+\}`([^`]*)`", text) for k in keys.split(",")}


def test_bibliography_links_every_work_and_every_named_work_is_cited():
    from pybtex.database import parse_file

    entries = parse_file(ROOT / "book" / "references.bib").entries
    unlinked = [k for k, e in entries.items() if not {"doi", "eprint", "url"} & {f.lower() for f in e.fields}]
    assert not unlinked, f"bibliography entries without a DOI, arXiv id or URL: {unlinked}"
    for k, e in entries.items():
        assert re.fullmatch(r"10\.\d{4,}/\S+", e.fields.get("doi", "10.1000/x")), (k, e.fields["doi"])
        assert re.fullmatch(r"\d{4}\.\d{4,5}", e.fields.get("eprint", "1234.5678")), (k, e.fields["eprint"])
        assert e.fields.get("url", "https://").startswith("https://"), (k, e.fields["url"])
    pages = NOTEBOOKS + sorted((ROOT / "book").glob("*.md"))
    cited = set().union(*(_cited(_prose(p)) for p in pages))
    assert cited <= set(entries), f"cited but not in references.bib: {sorted(cited - set(entries))}"
    assert set(entries) <= cited, f"in references.bib but cited nowhere: {sorted(set(entries) - cited)}"
    uncited = [(p.name, name, key) for p in pages for name, key in NAMED_WORKS.items()
               if re.search(name, _prose(p)) and key not in _cited(_prose(p))]
    assert not uncited, f"pages that name a work without citing it (page, name, key): {uncited}"


def test_api_reference_covers_the_package():
    """book/api.md documents the modules a reader calls, from their docstrings (autodoc), and is in the toc."""
    text = (ROOT / "book" / "api.md").read_text()
    documented = re.findall(r"^\.\. automodule:: (\S+)", text, flags=re.M)
    for module in ("helpers.groups", "helpers.metrics", "helpers.models", "helpers.training", "helpers.store",
                   "helpers.runner"):
        assert module in documented, f"book/api.md does not document {module}"
    assert "book/api" in _toc_files()
    assert "helpers.apidoc" in yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["extra_extensions"]


def test_plain_text_docstrings_become_restructuredtext():
    from helpers.apidoc import escape_bars, module_docstring_as_rst

    doc = ["Title.", "", "    a --> b", "        |", "    c", "Text after.", "Tools:", "- one", "  more", "- two",
           "After the list.", "", "    indented again"]
    assert module_docstring_as_rst(doc) == [
        "Title.", "", "::", "", "    a --> b", "        |", "    c", "", "Text after.", "Tools:", "", "- one", "  more",
        "- two", "", "After the list.", "", "::", "", "    indented again"]
    assert module_docstring_as_rst(["Example::", "", "    code"]) == ["Example::", "", "    code"]
    assert escape_bars("the order |G| of ``a|b|c`` and |x|") == r"the order \|G\| of ``a|b|c`` and \|x\|"
    assert escape_bars("a | b, x || y") == "a | b, x || y"


def test_landing_table_reads_the_page_records(tmp_path):
    """helpers.landing: this build's record when the build names one, else the committed record of the best
    profile that has one; a record in another profile's folder is an error; the row's text on known counts."""
    from helpers import landing

    stem = "04_liegg"
    for profile in ("quick", "standard"):
        (tmp_path / "results" / profile / stem).mkdir(parents=True)
        (tmp_path / "results" / profile / stem / "results.json").write_text(json.dumps({"profile": profile}))
    rec, source, path = landing.page_record(stem, tmp_path, built=[])
    assert (rec["profile"], source, path.parent.parent.name) == ("standard", "committed", "standard")
    built = tmp_path / "runs" / stem / "results.json"
    built.parent.mkdir(parents=True)
    built.write_text(json.dumps({"profile": "quick"}))
    other = tmp_path / "runs" / "01_genuine_invariance" / "results.json"
    assert landing.page_record(stem, tmp_path, built=[str(other), str(built)])[:2] == ({"profile": "quick"}, "this build")
    assert landing.page_record("00_template", tmp_path, built=[str(built)]) == (None, "", None)
    (tmp_path / "results" / "paper" / stem).mkdir(parents=True)
    (tmp_path / "results" / "paper" / stem / "results.json").write_text(json.dumps({"profile": "quick"}))
    with pytest.raises(ValueError, match="records profile 'quick', not 'paper'"):
        landing.page_record(stem, tmp_path, built=[])
    row = landing.ChapterVerdicts("3", "x", "t", [], "a", counts={"not run": 2, "reproduced": 1, "partly": 2})
    assert row.summary() == "1 of 5 reproduced; 2 partly, 2 not run"
    assert landing.ChapterVerdicts("0", "x", "t", [], "a").summary() == "no reproductions"


def test_landing_table_has_every_chapter_with_its_claims_section(tmp_path):
    from helpers import landing

    rows = landing.chapter_verdicts(built=[])
    assert [r.key for r in rows] == [c.key for c in registry.available()]
    assert {r.key: r.anchor for r in rows} == {"0": "paper-vs-ours", "1": "paper-vs-ours", "2": "paper-vs-ours",
                                               "3": "paper-vs-ours", "4": "paper-vs-ours", "5": "claims-vs-measurements"}
    assert rows[1].papers == ["moskalev2023genuine"] and rows[0].papers == [] and len(rows[5].papers) == 4
    for r in rows:
        assert r.profile in ("paper", "steps", "standard", "quick") and r.source == "committed", r
        assert sum(r.counts.values()) > 0 and set(r.counts) <= {"reproduced", "partly", "inconclusive",
                                                                "not reproduced", "diverged", "not run"}
    bad = json.loads(NOTEBOOKS[0].read_text())
    bad["cells"] = [c for c in bad["cells"] if ".claims.table(" not in "".join(c["source"])
                    or "summary()" in "".join(c["source"])]
    path = tmp_path / "00_template.ipynb"
    path.write_text(json.dumps(bad))
    with pytest.raises(ValueError, match="00_template.ipynb: no section renders the claims table"):
        landing.claims_anchor(path)


def test_publishing_workflow_and_a_clean_book_build():
    """The GitHub Actions workflow runs .ci/run, builds the book from the committed evidence and deploys it to
    Pages (main and tags) and releases tags; make book starts from an empty _build/html."""
    flow = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    on = flow[True] if True in flow else flow["on"]          # YAML 1.1 reads the key `on` as True
    assert "push" in on and "pull_request" in on and on["push"]["tags"] == ["v*"]
    jobs = flow["jobs"]
    runs = {name: " ".join(step.get("run", "") + step.get("uses", "") for step in job.get("steps", []))
            for name, job in jobs.items()}
    assert ".ci/run" in runs["test"] and "make book" in runs["book"] and "upload-pages-artifact" in runs["book"]
    assert "actions/deploy-pages" in runs["deploy"] and set(jobs["deploy"]["needs"]) == {"test", "book"}
    assert "refs/heads/main" in jobs["deploy"]["if"] and "gh release create" in runs["release"]
    assert jobs["deploy"]["permissions"] == {"pages": "write", "id-token": "write"}
    book = (ROOT / "Makefile").read_text().split("\nbook:")[1].split("\n\n")[0]
    assert "rm -rf _build/html" in book and book.index("rm -rf") < book.index("helpers build")


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
    ch1, ch3 = registry.get_chapters(["1", "3"])
    assert chapters.notebook_parameters(ch3) == ["profile", "output_dir", "store", "image_dir"]
    split = chapters._extra_parameters([ch1, ch3], {"image_dir": "imagenette"}, registry.repo_root())
    assert split == {"1": {}, "3": {"image_dir": "imagenette"}}
    from helpers.__main__ import _literal
    assert (_literal("3"), _literal("0.5"), _literal("True"), _literal("imagenette"), _literal("/a b")) == (
        3, 0.5, True, "imagenette", "/a b")


def test_chapter_keys():
    assert [c.key for c in registry.get_chapters(["ch0", "01", "2", "03_learned_equivariance_depth"])] == ["0", "1", "2", "3"]
    for bad in ("x", "ch", "", "11", "ch01x", "1.0"):
        with pytest.raises(ValueError, match=f"unknown chapter {bad!r}"):
            registry.get_chapters([bad])
    missing = [c for c in registry.CHAPTERS if c not in registry.available()]
    if missing:
        with pytest.raises(ValueError, match="not written yet"):
            registry.get_chapters([missing[0].key])


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
