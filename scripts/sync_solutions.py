"""Write each self-study page's folded Solutions block from the one copy of each solution.

The reference solutions live in ``tests/solutions/<module>.py``: the tests run them through
the checkers, and this script shows the same code on the pages, so a wrong solution cannot
hide in Markdown. For every page with registered exercises (``utils.exercises.registry()``)
that is not graded homework, the block lists the page's exercises in order: the function's
docstring as prose, then its code without the docstring; an answer that is a value (a
prediction, a perceptron's weights) is shown as its assignment in the solutions module,
with the comment lines just above it, which give the reasoning.

It also gives the cells their ids in the one scheme the book uses (see "Adding an
exercise"): ``ex-<answer>`` for the cell with the stub and the checker call, and
``solutions`` for the Solutions block, which sits in its own cell after the last exercise.

    python scripts/sync_solutions.py           # rewrite the blocks that changed
    python scripts/sync_solutions.py --check   # exit 1 if a page is out of step
"""

from __future__ import annotations

import argparse
import ast
import importlib
import inspect
import re
import sys
import textwrap
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from utils.exercises import registry  # noqa: E402

HEADER = "```{admonition} Solutions\n:class: dropdown\n"


def _shown(fn) -> tuple[str, str]:
    """(docstring, code without the docstring) of a reference function."""
    source = textwrap.dedent(inspect.getsource(fn))
    node = ast.parse(source).body[0]
    doc = ast.get_docstring(node) or ""
    lines = source.splitlines()
    first = node.body[0]
    if doc:  # drop the docstring's lines
        del lines[first.lineno - 1:first.end_lineno]
    return " ".join(doc.split()), "\n".join(lines).rstrip() + "\n"


def _shown_value(module: str, name: str) -> str:
    """The assignment of a reference value (a prediction, say) in its solutions module,
    with the comment lines just above it, which give the reasoning."""
    path = ROOT / "tests" / "solutions" / f"{module}.py"
    source = path.read_text()
    lines = source.splitlines()
    for node in ast.parse(source).body:
        targets = (node.targets if isinstance(node, ast.Assign) else
                   [node.target] if isinstance(node, ast.AnnAssign) else [])
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            start = node.lineno - 1
            while start and lines[start - 1].lstrip().startswith("#"):
                start -= 1
            return "\n".join(lines[start:node.end_lineno]) + "\n"
    raise SystemExit(f"{path}: no top-level assignment of {name!r}")


def render(page: str) -> str | None:
    """The Solutions block of ``page``, or None if the page has no function exercises."""
    parts = []
    for entry in registry():
        if entry.page != page or entry.graded or not entry.answer[0].islower():
            continue
        fn = getattr(importlib.import_module(f"solutions.{entry.module}"), entry.answer)
        doc, code = _shown(fn) if callable(fn) else ("", _shown_value(entry.module, entry.answer))
        parts.append((doc + "\n\n" if doc else "") + textwrap.indent(code, "    "))
    if not parts:
        return None
    return HEADER + "\n" + "\n".join(parts) + "```"


def _is_block(cell) -> bool:
    return cell.cell_type == "markdown" and cell.source.lstrip().startswith("```{admonition} Solution")


def sync(path: Path, write: bool = True) -> bool:
    """Bring one notebook in step; return True if it changed (written only if ``write``)."""
    nb = nbformat.read(path, as_version=4)
    before = nbformat.writes(nb)
    for entry in registry():  # the ids of the exercise cells
        if entry.page == path.stem and entry.answer[0].islower():
            for cell in nb.cells:
                answer = re.escape(entry.answer)  # a function, or a value (a prediction)
                if cell.cell_type == "code" and re.search(rf"^(def {answer}\(|{answer}\s*=)",
                                                         cell.source, re.M):
                    cell.id = f"ex-{entry.answer}"
                    at = nb.cells.index(cell)  # the exercise's text: the Markdown just above
                    text = next(c for c in reversed(nb.cells[:at]) if c.cell_type == "markdown")
                    text.id = f"ex-{entry.answer}-text"
    block = render(path.stem)
    blocks = [i for i, cell in enumerate(nb.cells) if _is_block(cell)]
    if blocks:
        i = blocks[0]
        text = nb.cells[i].source
        head = re.match(r"\A(\s*```\{admonition\}.*?\n```\s*)+", text, flags=re.S)
        rest = text[head.end():].strip()
        nb.cells[i].source = block if block is not None else head.group(0).strip()
        nb.cells[i].id = "solutions"
        if rest:  # e.g. "## Summary" written in the same cell: it gets its own cell
            taken = {cell.get("id") for cell in nb.cells}
            new_id = next(f"after-solutions-{k}" for k in range(len(nb.cells)) if f"after-solutions-{k}" not in taken)
            nb.cells.insert(i + 1, nbformat.v4.new_markdown_cell(rest, id=new_id))
    after = nbformat.writes(nb)
    if after != before and write:
        nbformat.write(nb, path)
    return after != before


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a page's solutions are out of step")
    args = parser.parse_args(argv)
    pages = sorted({e.page for e in registry()})
    stale = []
    for page in pages:
        path = ROOT / "chapters" / f"{page}.ipynb"
        if sync(path, write=not args.check):
            stale.append(page)
    verb = "out of step" if args.check else "rewritten"
    print(f"{len(stale)} of {len(pages)} pages {verb}" + (f": {', '.join(stale)}" if stale else ""))
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
