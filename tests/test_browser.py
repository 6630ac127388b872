"""The built book as a reader's browser sees it (issue 22): headless Chromium (Debian's ``chromium`` and
``chromium-driver``) driven by Selenium over every page of ``_build/html``.

The book is built once for the module from the committed quick parts (pages render, nothing trains), unless
``HELPERS_BOOK`` names a built ``html`` folder. Without Chromium the tests skip, except under ``CI=true``
(``.ci/run`` installs it). Screenshots of every page's first screen go to ``_build/screenshots/``.
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
