"""Build the book from an empty _build/ with warnings as errors, then check the result."""

import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from conftest import CHAPTERS, ROOT

pytestmark = pytest.mark.book
HTML = ROOT / "_build" / "html"


class _Text(HTMLParser):
    """Visible text of a page (no scripts, styles or inline SVG code)."""

    def __init__(self):
        super().__init__()
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(page: Path) -> str:
    parser = _Text()
    parser.feed(page.read_text(encoding="utf8"))
    return " ".join(parser.parts)


@pytest.fixture(scope="module")
def build():
    shutil.rmtree(ROOT / "_build", ignore_errors=True)
    jb = Path(sys.executable).with_name("jupyter-book")
    proc = subprocess.run(
        [str(jb), "build", str(ROOT), "-W", "-n", "--keep-going"],
        capture_output=True, text=True, cwd=ROOT,
    )
    return proc


def test_build_succeeds_without_warnings(build):
    log = build.stdout + build.stderr
    assert build.returncode == 0, log[-5000:]
    assert "build succeeded" in log
    assert not re.search(r"\bWARNING\b", log), log[-5000:]


def test_every_page_is_built(build):
    for page in ["index", "chapters/intro", "chapters/how_to_use", "chapters/bibliography",
                 "chapters/execution_stats"] + [f"chapters/{nb.stem}" for nb in CHAPTERS.glob("*.ipynb")]:
        assert (HTML / f"{page}.html").is_file(), page


def test_no_unfinished_text_in_the_site(build):
    for page in HTML.rglob("*.html"):
        if "_static" in page.parts or "_sources" in page.parts:
            continue
        text = visible_text(page)
        assert not re.search(r"\bTODO\b|coming soon|\bTBD\b", text, re.I), page


class _Loads(HTMLParser):
    """Addresses a page loads by itself: scripts, stylesheets, icons, images, frames."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "img", "iframe") and attrs.get("src"):
            self.urls.append(attrs["src"])
        elif tag == "link" and attrs.get("href") and attrs.get("rel", "") in (
                "stylesheet", "preload", "icon", "shortcut icon", "modulepreload", "prefetch"):
            self.urls.append(attrs["href"])


def test_pages_load_nothing_from_other_hosts(build):
    for page in HTML.rglob("*.html"):
        if "_static" in page.parts:
            continue
        html = page.read_text(encoding="utf8")
        if 'http-equiv="Refresh"' in html:
            continue  # the root index.html only redirects to the introduction
        parser = _Loads()
        parser.feed(html)
        assert parser.urls, page
        remote = [url for url in parser.urls if re.match(r"(https?:)?//", url)]
        assert not remote, f"{page.relative_to(HTML)} loads {remote}"


def test_execution_statistics_list_every_notebook(build):
    text = visible_text(HTML / "chapters" / "execution_stats.html")
    for path in CHAPTERS.glob("*.ipynb"):
        record = nbformat.read(path, as_version=4).metadata["tnn_execution"]
        assert f"chapters/{path.stem}" in text
        assert str(round(record["runtime_s"], 2)) in text
        assert f"peak {record['peak_memory_mb']:.0f} MB" in text


def test_bibliography_has_the_course_references(build):
    text = " ".join(visible_text(HTML / "chapters" / "bibliography.html").split()).lower()
    for needle in ["Learning representations by back-propagating errors",
                   "Understanding the difficulty of training deep feedforward",
                   "Delving Deep into Rectifiers", "Batch Normalization: Accelerating",
                   "How Does Batch Normalization Help Optimization", "Adam: A Method for Stochastic",
                   "A Neural Probabilistic Language Model", "Dropout: A Simple Way",
                   "Large Batch Training of Convolutional Networks", "Large Batch Optimization for Deep Learning",
                   "Decoupled Weight Decay Regularization", "Cyclical Learning Rates"]:
        assert needle.lower() in text, needle
