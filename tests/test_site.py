"""Every page of the built site in headless Chromium, with no network beyond 127.0.0.1.

Per page: no failed or blocked request, no page error and no console error except the
exact noise Jupyter Book 1 produces on every page, math typeset wherever there is math,
every image loaded, every widget drawn, and well-formed Binder and Colab links on notebook
pages. A full-page screenshot of each page goes to _build/screenshots/.

Needs a built site (tests/test_book.py, or `make build`) and Debian's chromium.
"""

import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path

import pytest
import yaml

from conftest import CHAPTERS, ROOT

pytestmark = pytest.mark.site
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
# The noise that Jupyter Book 1 itself produces on every page, and nothing broader.
ALLOWED_PAGE_ERRORS = {"Identifier 'THEBE_JS_URL' has already been declared"}
ALLOWED_CONSOLE_ERRORS = {"Got invalid theme mode: . Resetting to auto."}
REPO = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]
OWNER_REPO = REPO["url"].removeprefix("https://github.com/")
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
# Every page of the book (from _toc.yml, so that collection needs no built site) plus the
# pages Sphinx adds.
PAGES = ["index.html", "genindex.html", "search.html", f"{TOC['root']}.html"] + [
    f"{chapter['file']}.html" for part in TOC["parts"] for chapter in part["chapters"]]
NOTEBOOK_PAGES = {f"chapters/{nb.stem}.html" for nb in CHAPTERS.glob("*.ipynb")}


@pytest.fixture(scope="module")
def server():
    if not (HTML / "index.html").is_file():
        pytest.fail("no built site in _build/html: run tests/test_book.py (or `make build`) first")
    handler = functools.partial(QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's 'chromium' or set CHROMIUM")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


class PageWatch:
    """Opens a page and records every problem the browser reports."""

    def __init__(self, browser, server, path):
        self.problems = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
        self.context.route("**/*", self._only_local)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda e: self._note("page error", str(e), ALLOWED_PAGE_ERRORS))
        self.page.on("console", lambda m: m.type == "error" and self._note("console error", m.text, ALLOWED_CONSOLE_ERRORS))
        self.page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url} ({r.failure})"))
        self.page.on("response", lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status}: {r.url}"))
        self.page.goto(f"{server}/{path}", wait_until="load")
        self.page.wait_for_load_state("networkidle")

    def _only_local(self, route):
        url = route.request.url
        if url.startswith(("http://127.0.0.1:", "data:", "blob:", "about:")):
            route.continue_()
        else:
            self.problems.append(f"request to another host: {url}")
            route.abort()

    def _note(self, kind, text, allowed):
        if text.strip() not in allowed:
            self.problems.append(f"{kind}: {text}")

    def close(self):
        self.context.close()


def _wait_for(page, js, what, timeout=20_000):
    try:
        page.wait_for_function(js, timeout=timeout)
    except Exception as error:  # playwright's TimeoutError, with the page state
        pytest.fail(f"{what}: {error}")


def test_the_site_has_every_page():
    built = {p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html")
             if not p.relative_to(HTML).parts[0].startswith("_")}
    assert built == set(PAGES), f"built but not visited: {built - set(PAGES)}; missing: {set(PAGES) - built}"
    assert NOTEBOOK_PAGES <= set(PAGES)


@pytest.mark.parametrize("path", PAGES)
def test_page(browser, server, path):
    watch = PageWatch(browser, server, path)
    page = watch.page
    try:
        # math: every Sphinx math element holds a MathJax rendering
        n_math = page.locator(".math").count()
        if n_math:
            _wait_for(page, "() => [...document.querySelectorAll('.math')].every(e => e.querySelector('mjx-container'))",
                      f"{n_math} math element(s) not typeset")
        # widgets: every embedded widget view is drawn by the widget manager
        n_views = page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count()
        if n_views:
            _wait_for(page, f"() => document.querySelectorAll('.jupyter-widgets.widget-box, .widget-vbox').length >= {n_views}",
                      f"{n_views} widget(s) not drawn")
        # images, including widget pictures and graphviz SVGs
        page.wait_for_load_state("networkidle")
        broken = page.evaluate("() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80))")
        assert not broken, f"images not loaded: {broken}"
        if path in NOTEBOOK_PAGES:
            notebook = path.removesuffix(".html") + ".ipynb"
            hrefs = page.eval_on_selector_all("a[href]", "as => as.map(a => a.href)")
            binder = f"https://mybinder.org/v2/gh/{OWNER_REPO}/{REPO['branch']}?urlpath=lab/tree/{notebook}"
            colab = f"https://colab.research.google.com/github/{OWNER_REPO}/blob/{REPO['branch']}/{notebook}"
            assert binder in hrefs, [h for h in hrefs if "binder" in h]
            assert colab in hrefs, [h for h in hrefs if "colab" in h]
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / (path.replace("/", "__").removesuffix(".html") + ".png")), full_page=True)
        assert not watch.problems, "\n".join(watch.problems)
    finally:
        watch.close()


def test_static_slider_switches_pictures_without_a_kernel(browser, server):
    watch = PageWatch(browser, server, "chapters/00_tools.html")
    page = watch.page
    try:
        _wait_for(page, "() => document.querySelector('.widget-slider .noUi-handle, .widget-slider .slider-handle, .widget-hslider')",
                  "slider not drawn")
        visible = "() => [...document.querySelectorAll('.widget-stack img, .jupyter-widgets img')].filter(i => i.offsetParent !== null).map(i => i.src)"
        before = page.evaluate(visible)
        assert len(before) == 1, f"expected one visible picture, got {len(before)}"
        handle = page.locator(".widget-slider .noUi-handle").first
        handle.focus()
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(300)
        after = page.evaluate(visible)
        assert len(after) == 1 and after != before, "moving the slider did not switch the picture"
        assert not watch.problems, "\n".join(watch.problems)
    finally:
        watch.close()
