"""The conventions every chapter notebook follows (checked on the committed files).

- listed in _toc.yml, and every _toc.yml entry exists;
- kernelspec python3;
- the first code cell is the shared setup cell (identical text everywhere, tagged
  ``hide-cell``, installing the notebook's release of the course package from the
  repository named in _config.yml, then pinning the numeric environment);
- the next code cell calls ``set_seed``;
- committed outputs come from one clean top-to-bottom run with the default budget that
  stayed within the notebook's runtime budget (the record written by
  scripts/execute_notebooks.py);
- nothing unfinished (TODO, "coming soon") in the text, no ``# NBVAL`` comments in code.
"""

import re
from pathlib import Path

import nbformat
import pytest
import yaml

from conftest import CHAPTERS, ROOT

# Seconds each notebook may take at the default budget on a 2-core CPU (from its issue).
RUNTIME_BUDGET_S = {
    "00_tools": 30,
    "01_backprop": 60,
    "01x_backprop_exercises": 30,
    "hw1_single_layer": 60,
    "02_boolean": 60,
    "02c_approximation_in_2d": 60,
    "03_optimizers": 90,
    "03c_optimizers_in_practice": 60,
    "03x_optimizers_exercises": 30,
    "04_initialization": 60,
    "04b_deep_diagnostics": 60,
    "05_batchnorm": 60,
    "05b_why_batchnorm": 60,
    "05c_what_limits_the_mlp": 60,
    "hw2_mlp_backprop": 90,
    "05x_batchnorm_exercises": 30,
    "06_regularization": 60,
    "06b_dropout_and_noise": 60,
    "appendix_engine": 30,
}

NOTEBOOKS = sorted(CHAPTERS.glob("*.ipynb"))
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
REPO_URL = CONFIG["repository"]["url"]


def _toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc["parts"]:
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def _code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def test_toc_and_chapters_folder_agree():
    listed = _toc_files()
    for entry in listed:
        assert any((ROOT / f"{entry}{ext}").exists() for ext in (".md", ".ipynb")), f"{entry} in _toc.yml has no file"
    for nb in NOTEBOOKS:
        assert f"chapters/{nb.stem}" in listed, f"{nb.name} is not in _toc.yml"


def test_every_notebook_has_a_runtime_budget():
    assert sorted(nb.stem for nb in NOTEBOOKS) == sorted(RUNTIME_BUDGET_S)


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.stem)
def notebook(request):
    return request.param, nbformat.read(request.param, as_version=4)


def test_kernelspec_is_python3(notebook):
    _, nb = notebook
    assert nb.metadata["kernelspec"]["name"] == "python3"


def test_setup_cell_is_shared_and_tucked_away(notebook):
    _, nb = notebook
    setup = _code_cells(nb)[0]
    reference = _code_cells(nbformat.read(NOTEBOOKS[0], as_version=4))[0]
    assert setup.source == reference.source, "the setup cell must be identical in every notebook"
    assert "hide-cell" in setup.metadata.get("tags", [])
    assert f'f"git+{REPO_URL}@v{{RELEASE}}"' in setup.source, (
        "the setup cell must install the notebook's release from _config.yml's repository.url")
    assert setup.source.rstrip().endswith("utils.reproducibility.pin_numerics()"), (
        "the setup cell ends by pinning the numeric environment")
    assert not setup.outputs, "the setup cell prints nothing when utils is installed"
    seed_cell = _code_cells(nb)[1]
    assert re.search(r"^set_seed\(\d+\)$", seed_cell.source, re.M), "the second code cell calls set_seed(<int>)"


def test_outputs_come_from_one_clean_default_run_within_budget(notebook):
    path, nb = notebook
    counts = [cell.execution_count for cell in _code_cells(nb)]
    assert counts == list(range(1, len(counts) + 1)), "execute top to bottom with scripts/execute_notebooks.py"
    for cell in _code_cells(nb):
        if "raises-exception" not in cell.metadata.get("tags", []):
            assert not [o for o in cell.outputs if o.output_type == "error"], f"an error output in: {cell.source[:60]}"
    record = nb.metadata["tnn_execution"]
    assert record["succeeded"] is True
    assert record["budget"] == "default"
    assert record["runtime_s"] <= RUNTIME_BUDGET_S[path.stem], (
        f"{path.name} took {record['runtime_s']} s, budget {RUNTIME_BUDGET_S[path.stem]} s"
    )


BOOK_BUDGET_S = 600  # the whole book at the default budget, on a 2-core CPU
PEAK_MEMORY_MB = 1536  # Binder gives 2 GB; no kernel may peak above 1.5 GB


def test_whole_book_runs_within_ten_minutes_and_every_kernel_within_memory():
    records = {nb.stem: nbformat.read(nb, as_version=4).metadata["tnn_execution"] for nb in NOTEBOOKS}
    total = sum(r["runtime_s"] for r in records.values())
    assert total <= BOOK_BUDGET_S, f"the book took {total:.0f} s to execute, budget {BOOK_BUDGET_S} s"
    for stem, r in records.items():
        assert r["peak_memory_mb"] <= PEAK_MEMORY_MB, f"{stem} peaked at {r['peak_memory_mb']} MB"


def test_nothing_unfinished_is_published(notebook):
    _, nb = notebook
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            assert not re.search(r"\bTODO\b|coming soon|\bTBD\b", cell.source, re.I), cell.source[:80]
            # MathJax prints "\_" literally inside \text{}: write \mathrm{fan\_in} instead
            assert not re.search(r"\\text\{[^}]*\\_", cell.source), cell.source[:80]
        else:
            assert "NBVAL" not in cell.source, "use cell tags, not # NBVAL comments (they show in the book)"


PAGE_WORDS = 3500  # prose a student can study in one sitting (issue #17)
PAGE_CELLS = 50


def prose_words(nb) -> int:
    """Words of the Markdown cells, without fenced code blocks and display math."""
    words = 0
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            text = re.sub(r"```.*?```", " ", cell.source, flags=re.S)
            text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
            words += len(re.findall(r"[A-Za-z0-9][\w'’.,%-]*", text))
    return words


def test_prose_words_counts_words_not_code_or_math():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("Two words.\n\n```python\nx = 1 + 2\n```\n$$a + b$$"),
        nbformat.v4.new_code_cell("print('not prose at all')")])
    assert prose_words(nb) == 2


def test_every_page_can_be_studied_in_one_sitting(notebook):
    path, nb = notebook
    words = prose_words(nb)
    assert words <= PAGE_WORDS, f"{path.name}: {words} words of prose, at most {PAGE_WORDS}: split it"
    assert len(nb.cells) <= PAGE_CELLS, f"{path.name}: {len(nb.cells)} cells, at most {PAGE_CELLS}"


def test_intro_lists_every_page_of_the_book_in_toc_order():
    intro = (CHAPTERS / "intro.md").read_text()
    listed = re.findall(r"^\| \{doc\}`([\w-]+)`", intro, re.M)
    pages = [Path(f).name for f in _toc_files()[1:]]
    assert listed == pages, f"intro.md's table lists {listed}; _toc.yml has {pages}"


GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`([A-Za-z_]\w*)")


def _glued_keys(nb) -> set[str]:
    """The keys utils.book.glue stored in the committed outputs (MyST-NB's scrapbook data)."""
    return {out.get("metadata", {}).get("scrapbook", {}).get("name")
            for cell in _code_cells(nb) for out in cell.outputs} - {None}


def test_every_number_the_prose_glues_comes_from_this_page(notebook):
    """A {glue:text}`key` in the Markdown needs a cell of the same page that glued `key` in
    the committed outputs (the book build fails on a missing key too; this says which)."""
    path, nb = notebook
    used = {key for cell in nb.cells if cell.cell_type == "markdown"
            for key in GLUE_ROLE.findall(cell.source)}
    missing = used - _glued_keys(nb)
    assert not missing, f"{path.name}: the prose quotes {sorted(missing)}, which no cell glued"
