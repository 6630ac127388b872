"""The built book as a reader's browser sees it (issue 22): headless Chromium (Debian's ``chromium`` and
``chromium-driver``) driven by Selenium over every page of ``_build/html``.

The book is built once for the module from the committed quick parts (pages render, nothing trains), unless
``HELPERS_BOOK`` names a built ``html`` folder. Without Chromium the tests skip, except under ``CI=true``
(``.ci/run`` installs it). Screenshots of every page's first screen go to ``_build/screenshots/``.

Issue 43: the landing page's verdict table (chapters 0-5, each row as its page and its record say), the API
reference (``helpers.metrics`` and the other modules documented), the repository URL from ``pyproject.toml`` alone,
linked bibliography entries and no file of an earlier build.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = {"00_template": 1, "01_genuine_invariance": 6, "02_invariant_weights": 6,
            "03_learned_equivariance_depth": 5, "04_liegg": 5,
            "05_four_lenses": 4}                                     # page: figures it must show at least
CONTROLS = {"01_genuine_invariance": {"ν", "β"}, "02_invariant_weights": {"η_rot", "generator"},
            "05_four_lenses": {"ν"}}


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        msg = f"{tool} not found (apt-get install chromium chromium-driver)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg + "; under CI=true a missing browser is a failure")
        pytest.skip(msg)
    return path


@pytest.fixture(scope="module")
def book() -> Path:
    if os.environ.get("HELPERS_BOOK"):
        return Path(os.environ["HELPERS_BOOK"])
    from helpers import chapters

    return chapters.build_book("quick", progress=None).parent


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = _need("chromium")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update", "--window-size=1280,900",
                 "--allow-file-access-from-files"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(_need("chromedriver")), options=opts)
    yield driver
    driver.quit()


def _pages(book: Path) -> list[Path]:
    return sorted(book.glob("book/*.html")) + [book / "index.html"]


def test_no_page_holds_a_machine_path_a_raw_repr_or_a_remote_script(book):
    for page in _pages(book):
        text = page.read_text()
        for path in {str(ROOT), str(Path.home())}:
            assert path not in text, f"{page.name} shows the machine path {path}"
        assert not re.search(r"&lt;Figure size|<Figure size|interactive\(children", text), page.name
        remote = re.findall(r"<(?:script|link|img)[^>]+(?:src|href)=\"(https?:[^\"]+)\"", text)
        remote = [u for u in remote if not u.endswith((".html", "/")) or "<script" in u]
        assert not [u for u in remote if re.search(r"\.(js|css|woff2?|png|svg)(\?|$)", u)], (page.name, remote)


@pytest.mark.parametrize("stem", list(CHAPTERS))
def test_chapter_page_loads_offline_with_its_figures_and_claims(book, browser, stem):
    page = book / "book" / f"{stem}.html"
    browser.get(page.as_uri())
    browser.get_log("browser")                       # start the log at this page
    browser.refresh()
    state = browser.execute_script("return document.readyState")
    assert state == "complete"
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, f"{stem}: console errors {errors}"
    resources = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    outside = [r for r in resources if not r.startswith((book.as_uri(), "data:"))]
    assert not outside, f"{stem}: requests outside the book's folder: {outside}"
    figures = browser.execute_script(
        "return [...document.querySelectorAll('img')].filter(i => i.naturalWidth > 100).length")
    assert figures >= CHAPTERS[stem], f"{stem}: {figures} figures shown, expected at least {CHAPTERS[stem]}"
    body = browser.find_element("tag name", "body").text
    assert "Reproductions" in body and "verdict" in body, f"{stem}: no paper-vs-ours claims table"
    assert browser.execute_script("return !!document.querySelector('mjx-container')") or stem == "00_template", \
        f"{stem}: MathJax rendered no equation"
    shots = ROOT / "_build" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(shots / f"{stem}.png"))


@pytest.mark.parametrize("stem", list(CONTROLS))
def test_dragging_each_control_changes_the_image(book, browser, stem):
    from selenium.webdriver.common.action_chains import ActionChains

    browser.get((book / "book" / f"{stem}.html").as_uri())
    controls = browser.find_elements("css selector", ".ls-frames")
    names = {c.get_attribute("data-name") for c in controls}
    assert CONTROLS[stem] <= names, f"{stem}: controls {names}, expected {CONTROLS[stem]}"
    shown = "return [...arguments[0].querySelectorAll('img')].filter(i => i.style.display !== 'none').map(i => i.src)"
    for c in controls:
        slider = c.find_element("css selector", "input[type=range]")
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", slider)
        before, label = browser.execute_script(shown, c), c.find_element("tag name", "output").text
        assert len(before) == 1
        ActionChains(browser).click_and_hold(slider).move_by_offset(slider.size["width"] // 2, 0).release().perform()
        after = browser.execute_script(shown, c)
        assert len(after) == 1 and after != before, f"{stem}: dragging {c.get_attribute('data-name')} changed nothing"
        assert c.find_element("tag name", "output").text != label


# --------------------------------------------------------------------------- the landing page, the API, the URL
_VERDICT = r"(\d+) (partly|inconclusive|not reproduced|diverged|not run)"


def _counts(text: str) -> dict[str, int]:
    """``{verdict: n}`` (zeros left out) from a score such as "7 of 9 reproduced, 1 partly, 1 not reproduced";
    the counts must add up to the total it states."""
    m = re.search(r"(\d+) of (\d+) reproduced", text)
    assert m, f"no score in {text!r}"
    out = {"reproduced": int(m.group(1))}
    for n, verdict in re.findall(_VERDICT, text[m.end():]):
        out[verdict] = int(n)
    assert sum(out.values()) == int(m.group(2)), f"{text!r}: the counts do not add up"
    return {k: v for k, v in out.items() if v}


def test_intro_verdict_table_lists_every_chapter_and_matches_its_page(book, browser):
    """The landing page's table has chapters 0-5; each row's profile and verdicts are those of the chapter's page
    (its evidence line and its verdicts at a glance) and of the record that page wrote; its link opens the
    section with the claims table."""
    assert "book/intro.html" in (book / "index.html").read_text()       # the front page redirects there
    browser.get((book / "book" / "intro.html").as_uri())
    rows = browser.execute_script(
        "return [...document.querySelectorAll('table.ls-verdicts tbody tr')].map(r => ({"
        "cells: [...r.cells].map(c => c.innerText.trim()),"
        "chapter: r.cells[1].querySelector('a').href, claims: r.cells[4].querySelector('a').href}))")
    assert [r["cells"][0] for r in rows] == ["0", "1", "2", "3", "4", "5"], rows
    assert [Path(r["chapter"]).stem for r in rows] == list(CHAPTERS)
    built = (book.resolve() == (ROOT / "_build" / "html").resolve())
    for r, stem in zip(rows, CHAPTERS):
        profile, verdicts = r["cells"][2].split()[0], _counts(r["cells"][3])
        browser.get(r["chapter"])
        text = browser.find_element("tag name", "body").text
        shown = re.search(r"Evidence on this page: the (\w+) profile", text)
        assert shown and shown.group(1) == profile, f"{stem}: the intro says {profile}, the page {shown}"
        glance = re.search(r"Verdicts \([^)]*\): ([^;.]*)", text)
        assert glance and _counts(glance.group(1)) == verdicts, f"{stem}: intro {verdicts}, page {glance}"
        if built:      # the record the page wrote in this build
            import json

            rec = json.loads((ROOT / "_build" / "runs" / "book" / stem / "results.json").read_text())
            mine = [c["verdict"] for c in rec["claims"] if c.get("kind", "reproduction") == "reproduction"]
            assert rec["profile"] == profile and {v: mine.count(v) for v in set(mine)} == verdicts, stem
        browser.get(r["claims"])
        target = r["claims"].split("#", 1)[1]
        section = browser.execute_script("const e = document.getElementById(arguments[0]);"
                                         "return e && (e.closest('section') || e).innerText", target)
        assert section and "Reproductions" in section, f"{stem}: #{target} is not the claims table's section"


def test_api_reference_documents_helpers_metrics(book, browser):
    browser.get((book / "book" / "api.html").as_uri())
    documented = browser.execute_script("return [...document.querySelectorAll('dt.sig[id]')].map(e => e.id)")
    metrics = [i for i in documented if i.startswith("helpers.metrics.")]
    assert len(metrics) >= 20 and "helpers.metrics.logit_invariance" in metrics, metrics
    for module in ("groups", "models", "training", "store", "runner"):
        assert any(i.startswith(f"helpers.{module}.") for i in documented), f"helpers.{module} is not documented"
    doc = browser.execute_script("return document.getElementById('helpers.metrics.logit_invariance')"
                                 ".nextElementSibling.innerText")
    assert len(doc.split()) > 10, f"logit_invariance documented without its docstring: {doc!r}"


def test_the_repository_url_comes_from_one_place(book):
    """Every link to the repository in the built book (GitHub button, Colab launch buttons) and the setup cell of
    every downloadable notebook hold pyproject.toml's URL, and no page links to another repository."""
    import json

    from helpers import repository

    url = repository.repository_url()
    org_repo = url.split("github.com/", 1)[1]
    for stem in CHAPTERS:
        html = (book / "book" / f"{stem}.html").read_text()
        assert f'href="{url}"' in html, f"{stem}: no GitHub button to {url}"
        colab = f"https://colab.research.google.com/github/{org_repo}/blob/main/book/{stem}.ipynb"
        assert f'href="{colab}"' in html, f"{stem}: no Colab button for {colab}"
        linked = re.findall(r'href="https://(?:github\.com|colab\.research\.google\.com/github)/([\w.-]+/[\w.-]+)', html)
        others = {u for u in linked if u != org_repo}
        assert not others, f"{stem}: links to other repositories {others}"
        nb = json.loads((book / "_sources" / "book" / f"{stem}.ipynb").read_text())
        setup = "".join(next(c for c in nb["cells"] if c["cell_type"] == "code")["source"])
        assert f'REPOSITORY, HERE = "{url}", ' in setup, f"{stem}: the downloadable notebook clones another URL"


def test_bibliography_entries_link_out_and_the_build_holds_nothing_stale(book):
    page = (book / "book" / "bibliography.html").read_text()
    entries = re.findall(r'<div class="citation"[^>]*>(.*?)</div>', page, flags=re.S)
    assert len(entries) >= 20
    unlinked = [re.sub(r"<[^>]+>", "", e)[:80] for e in entries if not re.search(r'href="https?://', e)]
    assert not unlinked, f"bibliography entries without a link: {unlinked}"
    referenced = set()
    for html in book.rglob("*.html"):
        referenced |= set(re.findall(r"_images/([^\"'\s)?#]+)", html.read_text()))
    stale = sorted(p.name for p in (book / "_images").glob("*") if p.name not in referenced)
    assert not stale, f"{len(stale)} images no page shows (an earlier build's): {stale[:5]}"


# --------------------------------------------------------------------------- issue 43: figures and outputs for the column
LAID_OUT = ("00_template", "01_genuine_invariance", "02_invariant_weights", "03_learned_equivariance_depth",
            "04_liegg", "05_four_lenses")   # the chapters laid out so far
_OUTPUTS_JS = """
const out = {imgs: [], wide: [], texts: []};
for (const o of document.querySelectorAll('div.cell_output')) {
  const col = o.clientWidth;
  for (const i of o.querySelectorAll('img')) {
    if (i.naturalWidth <= 100 || getComputedStyle(i).display === 'none') continue;   // icons; hidden frames
    const fig = i.closest('figure'), num = fig && fig.querySelector('figcaption .caption-number');
    out.imgs.push({natural: i.naturalWidth, shown: i.getBoundingClientRect().width, alt: i.alt || '',
                   frame: !!i.closest('.ls-frames'), number: num ? num.innerText.trim() : null,
                   caption: fig && fig.querySelector('figcaption') ? fig.querySelector('figcaption').innerText : ''});
  }
  for (const b of o.querySelectorAll(':scope > *, pre, table')) {
    const w = Math.max(b.scrollWidth, b.getBoundingClientRect().width);
    if (w > col + 1) out.wide.push({tag: b.tagName, width: w, column: col, text: b.innerText.slice(0, 100)});
  }
  for (const p of o.querySelectorAll('pre:not(.ls-source)')) out.texts.push(p.innerText);   // listings are code
}
out.sliders = [...document.querySelectorAll('.ls-frames')].map(d => JSON.parse(d.dataset.labels));
return out;
"""


@pytest.fixture(scope="module")
def outputs(book, browser):
    """``{stem: what _OUTPUTS_JS reads off the page}`` for the laid-out chapters, in a 1280 x 900 window."""
    seen = {}
    for stem in LAID_OUT:
        browser.get((book / "book" / f"{stem}.html").as_uri())
        seen[stem] = browser.execute_script(_OUTPUTS_JS)
    return seen


@pytest.mark.parametrize("stem", LAID_OUT)
def test_no_output_figure_is_shrunk_below_six_tenths(outputs, stem):
    imgs = outputs[stem]["imgs"]
    assert len(imgs) >= CHAPTERS[stem]
    small = [(i["natural"], round(i["shown"]), i["caption"][:50]) for i in imgs if i["shown"] < 0.6 * i["natural"]]
    assert not small, f"{stem}: figures shown below 0.6 of their natural width (natural, shown, caption): {small}"


@pytest.mark.parametrize("stem", LAID_OUT)
def test_every_output_figure_has_a_numbered_caption_and_alt_text(outputs, stem):
    """Every output image but a slider's frames is a numbered figure ("Fig. N", 1, 2, ... in page order) with a
    caption, and its alt text says what it shows (not a file name)."""
    figs = [i for i in outputs[stem]["imgs"] if not i["frame"]]
    bare = [i["alt"][:60] for i in figs if not i["number"]]
    assert not bare, f"{stem}: output figures without a numbered caption: {bare}"
    numbers = [int(re.fullmatch(r"Fig\. (\d+)", i["number"]).group(1)) for i in figs]   # the book numbers them on
    assert numbers == list(range(numbers[0], numbers[0] + len(figs))), numbers              # from page to page
    assert all(len(i["caption"].split()) >= 5 for i in figs), [i["caption"] for i in figs]
    named = [i["alt"] for i in figs if re.search(r"_images/|\.png$|^[0-9a-f]{16,}", i["alt"]) or len(i["alt"]) < 10]
    assert not named, f"{stem}: alt text that does not say what the figure shows: {named}"


@pytest.mark.parametrize("stem", LAID_OUT)
def test_no_output_block_is_wider_than_its_column(outputs, stem):
    assert not outputs[stem]["wide"], f"{stem}: output blocks wider than the column: {outputs[stem]['wide']}"


@pytest.mark.parametrize("stem", LAID_OUT)
def test_no_raw_dict_or_array_is_printed(outputs, stem):
    raw = re.compile(r"\{'[^']*': |\[\s*\[?-?\d+\.\d*(?:e[-+]\d+)?\s+-?\d|array\(|\bdtype=")
    found = [t[:120] for t in outputs[stem]["texts"] if raw.search(t)]
    assert not found, f"{stem}: raw Python values printed: {found}"


@pytest.mark.parametrize("stem", LAID_OUT)
def test_slider_values_are_distinct(outputs, stem):
    for labels in outputs[stem]["sliders"]:
        assert len(set(labels)) == len(labels), f"{stem}: a slider repeats values: {labels}"


def test_raw_printout_pattern_catches_dicts_and_arrays():
    """The pattern of the test above on known printouts (a test that cannot fail would prove nothing)."""
    raw = re.compile(r"\{'[^']*': |\[\s*\[?-?\d+\.\d*(?:e[-+]\d+)?\s+-?\d|array\(|\bdtype=")
    for printed in ("{'spearman_var_acc': -0.535}", "[1. 1. 1. 1. 1.]", "[[ 0.1  -0.9]\n [ 0.9  0.2]]",
                    "array([1, 2])"):
        assert raw.search(printed), printed
    for text in ("test accuracy 82.0 ± 0.4 %", "ν = [0, 1]", "seeds 0, 1, 2", "C4.1–C4.4b reproduce"):
        assert not raw.search(text), text


def test_ch2_tables_carry_their_captions_and_the_text_cites_every_figure(book):
    """Chapter 2 (issue 43): every table among its outputs has its caption inside it (the "Paper vs ours" and
    "Earlier records" captions used to be printed apart, above their tables), and the text refers to each numbered
    figure by its number (a link to the figure's label from outside the figure)."""
    html = (book / "book" / "02_invariant_weights.html").read_text()
    tables = re.findall(r"<table\b.*?</table>", html, flags=re.S)
    output_tables = [t for t in tables if 'class="dataframe' in t or "ls-table" in t]
    assert len(output_tables) >= 10, len(output_tables)
    bare = [re.sub(r"<[^>]+>", " ", t)[:80] for t in output_tables if "<caption" not in t]
    assert not bare, f"tables without a caption: {bare}"
    labels = re.findall(r'<figure[^>]*\bid="(fig-ch2-[a-z0-9-]+)"', html)
    assert len(labels) >= 10, labels
    uncited = [name for name in labels if f'href="#{name}"' not in html and "-so-far-" not in name]   # the
    # stored parts of a profile in progress appear only on a page that renders another profile
    assert not uncited, f"figures the text never refers to by number: {uncited}"
