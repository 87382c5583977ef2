"""Write a class of synthetic submissions of a graded page, made from the real notebook.

    python scripts/make_submissions.py OUT [--page hw1_single_layer]

Each is what a real student might hand in; the grader's tests (``tests/test_grade.py``)
grade the whole folder and expect, row by row, what :data:`EXPECTED` says, and the
instructor's guide's worked example is the grader's output on it (``make grade``).

===================  ==============================================================
``all_correct``      every exercise cell holds the reference solution
``all_stubs``        the notebook as published
``partly_wrong``     the references, except one exercise, which has a mistake
``syntax_error``     correct, but one exercise's cell does not parse
``import_error``     correct, with a first cell that imports a missing module
``endless_loop``     correct, with a cell that never ends, after an exercise
``huge_output``      correct, with a cell that prints a million lines
``tampered``         stubs, each checker call replaced by a print of a passing line
``renamed``          correct, but one exercise's function has another name
``wrong_chapter``    another chapter's notebook (00_tools)
``corrupt``          a notebook file cut in half (not valid JSON)
===================  ==============================================================
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from utils.exercises import registry  # noqa: E402

GRADED_PAGE = "hw1_single_layer"


def _entries(page: str):
    return [e for e in registry() if e.page == page]


def _reference_source(entry) -> str:
    value = getattr(importlib.import_module(f"solutions.{entry.module}"), entry.answer)
    if callable(value):
        return inspect.getsource(value).rstrip() + "\n"
    return f"{entry.answer} = {value!r}\n"


def _replace_definition(source: str, name: str, new: str) -> str:
    """``source`` with the top-level definition (def or assignment) of ``name`` replaced."""
    tree = ast.parse(source)
    for node in tree.body:
        names = ([node.name] if isinstance(node, ast.FunctionDef) else
                 [t.id for t in getattr(node, "targets", []) if isinstance(t, ast.Name)])
        if name in names:
            lines = source.splitlines()
            start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            return "\n".join(lines[:start - 1] + new.rstrip("\n").splitlines() + lines[node.end_lineno:]) + "\n"
    raise ValueError(f"no definition of {name!r} in the cell:\n{source}")


def _cell(nb, cell_id: str):
    return next(c for c in nb.cells if c.get("id") == cell_id)


def _solved(page: str, *, except_for: dict[str, str] | None = None):
    """The page with every exercise cell holding its reference (or the given source)."""
    nb = nbformat.read(ROOT / "chapters" / f"{page}.ipynb", as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    for entry in _entries(page):
        cell = _cell(nb, f"ex-{entry.answer}")
        new = (except_for or {}).get(entry.answer, _reference_source(entry))
        cell.source = _replace_definition(cell.source, entry.answer, new)
    return nb


def _wrong(entry) -> str:
    """A wrong answer to ``entry``: the reference with its result doubled (plus one, for a
    value answer such as a prediction)."""
    source = _reference_source(entry)
    name = entry.answer
    if not source.startswith("def "):
        value = getattr(importlib.import_module(f"solutions.{entry.module}"), name)
        return f"{name} = {2 * value + 1!r}\n"
    return source.replace(f"def {name}(", f"def _{name}_right(", 1) + (
        f"\n\ndef {name}(*args):\n    out = _{name}_right(*args)\n"
        "    return tuple(2 * o for o in out) if isinstance(out, tuple) else 2 * out\n")


def _standalone(page: str):
    """The exercises whose answer no other reference solution uses (a mistake in one of them
    costs only that exercise): the first and the last of them."""
    entries = _entries(page)
    sources = {e.answer: _reference_source(e) for e in entries}
    alone = [e for e in entries
             if not any(e.answer in src for name, src in sources.items() if name != e.answer)]
    return alone[0], alone[-1]


def make(out: Path, page: str = GRADED_PAGE) -> list[str]:
    """Write the synthetic class into ``out``; return the students' names."""
    out.mkdir(parents=True, exist_ok=True)
    entries = _entries(page)
    first, last = _standalone(page)
    subs = {}
    subs["all_correct"] = _solved(page)
    subs["all_stubs"] = _solved(page, except_for={e.answer: _cell(
        nbformat.read(ROOT / "chapters" / f"{page}.ipynb", as_version=4), f"ex-{e.answer}").source
        for e in entries})
    subs["partly_wrong"] = _solved(page, except_for={first.answer: _wrong(first)})
    nb = _solved(page)
    _cell(nb, f"ex-{first.answer}").source += "\nthis line is not Python(\n"
    subs["syntax_error"] = nb
    nb = _solved(page)
    nb.cells.insert(0, nbformat.v4.new_code_cell("import tnn_helpers_that_do_not_exist", id="student-import"))
    subs["import_error"] = nb
    nb = _solved(page)
    at = nb.cells.index(_cell(nb, f"ex-{first.answer}")) + 1
    nb.cells.insert(at, nbformat.v4.new_code_cell("while True:\n    pass", id="student-loop"))
    subs["endless_loop"] = nb
    nb = _solved(page)
    nb.cells.insert(at, nbformat.v4.new_code_cell("for i in range(10**6):\n    print(i)", id="student-print"))
    subs["huge_output"] = nb
    nb = nbformat.read(ROOT / "chapters" / f"{page}.ipynb", as_version=4)
    for entry in entries:
        cell = _cell(nb, f"ex-{entry.answer}")
        call = f"{entry.checker.__name__}("
        cell.source = "\n".join(f"print('{entry.answer} | exact: True | close: True | max diff: 0.0e+00')"
                                if line.startswith(call) else line for line in cell.source.splitlines())
    subs["tampered"] = nb
    nb = _solved(page)
    cell = _cell(nb, f"ex-{last.answer}")
    cell.source = cell.source.replace(f"{last.answer}", f"my_{last.answer}")
    subs["renamed"] = nb
    subs["wrong_chapter"] = nbformat.read(ROOT / "chapters" / "00_tools.ipynb", as_version=4)
    for name, nb in subs.items():
        nbformat.write(nb, out / f"{name}.ipynb")
    text = (out / "all_correct.ipynb").read_text()
    (out / "corrupt.ipynb").write_text(text[: len(text) // 2])
    return sorted([*subs, "corrupt"])


def expected(page: str = GRADED_PAGE) -> dict[str, dict]:
    """What the grader must give each synthetic student: ``points`` per exercise answer (the
    others get 0), and a phrase its ``note`` must contain ("" for none)."""
    full = {e.answer: e.points for e in _entries(page)}
    first, last = (e.answer for e in _standalone(page))
    without = lambda name: {k: v for k, v in full.items() if k != name}  # noqa: E731
    return {
        "all_correct": dict(points=full, note=""),
        "all_stubs": dict(points={}, note=""),
        "partly_wrong": dict(points=without(first), note=""),
        "syntax_error": dict(points=without(first), note=""),
        "import_error": dict(points=full, note=""),
        "endless_loop": dict(points=full, note=""),
        "huge_output": dict(points=full, note=""),
        "tampered": dict(points={}, note=""),
        "renamed": dict(points=without(last), note=""),
        "wrong_chapter": dict(points={}, note="wrong notebook: this is 00_tools"),
        "corrupt": dict(points={}, note="not valid JSON"),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--page", default=GRADED_PAGE)
    args = parser.parse_args(argv)
    names = make(args.out, args.page)
    print(f"{len(names)} synthetic submissions of {args.page} in {args.out}/: {', '.join(names)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
