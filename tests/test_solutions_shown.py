"""One copy of each solution: the folded Solutions block of every self-study page is written
from ``tests/solutions/`` (``scripts/sync_solutions.py``), every solution it shows passes
its checker, graded homework shows none, and the exercise cells follow one id scheme."""

import math
import re
import sys

import nbformat
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from conftest import CHAPTERS, ROOT
from utils.exercises import registry

sys.path.insert(0, str(ROOT / "scripts"))
import sync_solutions  # noqa: E402

EXERCISES = registry()
PAGES = sorted({e.page for e in EXERCISES})
SELF_STUDY = sorted({e.page for e in EXERCISES if not e.graded})


def _read(page):
    return nbformat.read(CHAPTERS / f"{page}.ipynb", as_version=4)


def _block(nb):
    cells = [c for c in nb.cells if c.get("id") == "solutions"]
    assert len(cells) == 1, "one Solutions cell, with id 'solutions'"
    return cells[0].source


@pytest.mark.parametrize("page", SELF_STUDY)
def test_the_solutions_block_is_written_from_tests_solutions(page):
    assert not sync_solutions.sync(CHAPTERS / f"{page}.ipynb", write=False), (
        f"{page}: its Solutions block is out of step with tests/solutions: "
        "run python scripts/sync_solutions.py")


@pytest.mark.parametrize("page", SELF_STUDY)
def test_every_shown_solution_passes_its_checker(page, capsys):
    code = "\n".join(re.findall(r"^    .*$|^$", _block(_read(page)), re.M))
    namespace = {"torch": torch, "math": math, "F": F, "np": np}
    exec(compile(code.replace("\n    ", "\n").removeprefix("    "), page, "exec"), namespace)
    shown = [e for e in EXERCISES if e.page == page and e.answer[0].islower()]
    for entry in shown:
        entry.checker(namespace[entry.answer])
        lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
        assert lines and all("close: True" in line or line.endswith("| ok") for line in lines), lines


@pytest.mark.parametrize("page", sorted({e.page for e in EXERCISES if e.graded}))
def test_graded_homework_shows_no_solution(page):
    for cell in _read(page).cells:
        assert not re.search(r"\{admonition\}\s*Solution", cell.source), cell.source[:80]


@pytest.mark.parametrize("page", PAGES)
def test_exercise_cells_follow_the_id_scheme(page):
    nb = _read(page)
    ids = [cell.get("id") for cell in nb.cells]
    for entry in EXERCISES:
        if entry.page == page and entry.answer[0].islower():
            assert f"ex-{entry.answer}" in ids, f"{page}: no cell with id ex-{entry.answer}"
            cell = nb.cells[ids.index(f"ex-{entry.answer}")]
            answer = re.escape(entry.answer)  # a function, or a value (a prediction)
            assert re.search(rf"^(def {answer}\(|{answer}\s*=)", cell.source, re.M), cell.source[:200]
            assert entry.checker.__name__ in cell.source
            text = next(c for c in reversed(nb.cells[:ids.index(f"ex-{entry.answer}")])
                        if c.cell_type == "markdown")
            assert text.get("id") == f"ex-{entry.answer}-text", (
                f"{page}: the exercise's text, the Markdown just above its cell, has the id "
                f"ex-{entry.answer}-text")
    if page in SELF_STUDY:
        after = nb.cells[ids.index("solutions") + 1]
        assert re.search(r"^## Summary", after.source, re.M), "the Solutions block sits just before ## Summary"


def test_nothing_marked_fill_in_is_published():
    """scripts/new_exercise.py marks what is left to write; none of it may ship."""
    places = [*(ROOT / "utils").rglob("*.py"), *(ROOT / "tests" / "solutions").glob("*.py"),
              *CHAPTERS.glob("*.ipynb"), *CHAPTERS.glob("*.md")]
    recipe = CHAPTERS / "adding_exercises.md"  # the recipe shows the scaffold's real output
    marked = [str(p.relative_to(ROOT)) for p in places if p != recipe and "FILL IN" in p.read_text()]
    assert not marked, f"left marked FILL IN: {marked}"
