"""Scaffold a new exercise: every piece in its place, with what is left to write marked.

    python scripts/new_exercise.py PAGE NAME "SIGNATURE"
    python scripts/new_exercise.py 03_optimizers nadam_step "p, grad, m, v, t, lr, betas, eps"

creates

1. the checker ``check_NAME`` in ``utils/exercises/<module>.py`` (the module that already
   serves PAGE), registered with ``@exercise(PAGE, NAME)``, so the generic tests
   (``tests/test_exercises.py``) pick it up;
2. the reference solution ``NAME`` in ``tests/solutions/<module>.py``: the one copy of the
   solution, which the tests run through the checker and the page shows in its folded
   Solutions block (``scripts/sync_solutions.py``);
3. on the page, before its Solutions block: the exercise's text (cell ``ex-NAME-text``), the
   stub and the checker call (cell ``ex-NAME``), and the checker's import;

then prints every place marked ``FILL IN``. Nothing marked so may be committed: the tests
fail until each is written (the checker raises, the reference raises, and
``tests/test_solutions_shown.py`` refuses ``FILL IN`` on a page). The whole recipe is the
book's page "Adding an exercise" (``chapters/adding_exercises.md``).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "scripts")]

from utils.exercises import registry  # noqa: E402

MARK = "FILL IN"

CHECKER = '''

@exercise("{page}", "{name}")
def check_{name}({name}: Callable | None) -> None:
    """Exercise: ``{name}({signature})`` -> {MARK}: what it returns."""
    g = torch.Generator().manual_seed(0)
    inputs = ()  # {MARK}: the arguments, e.g. (torch.randn(4, 3, generator=g, dtype=torch.float64),)

    def reference({signature}):
        raise NotImplementedError("{MARK}: an independent reference (PyTorch where it has one)")

    check_function({name}, reference, *inputs, name="{name}", atol=1e-12, rtol=1e-10,
                   mistakes={{
                       # {MARK}: "the mistake, and what to do instead": lambda {signature}: ...,
                   }})
'''

REFERENCE = '''

def {name}({signature}):
    """{MARK}: the prose the page's Solutions block shows before this code (or delete it)."""
    raise NotImplementedError("{MARK}: the solution, as the page will show it")
'''

TEXT = ("**Exercise {number} ({name}).** {MARK}: what to write, what it is for, and what the "
        "checker tries (the shown example and hidden cases).")

STUB = '''def {name}({signature}):
    raise NotImplementedError


check_{name}({name})'''


def _module_for(page: str) -> str:
    modules = {e.module for e in registry() if e.page == page}
    if len(modules) != 1:
        served = sorted({e.page for e in registry()})
        raise SystemExit(f"no exercises module serves the page {page!r} (pages with exercises: "
                         f"{', '.join(served)}); add the first exercise of a new page by hand")
    return modules.pop()


def _add_to_module(path: Path, text: str, needed: list[str]) -> None:
    source = path.read_text()
    head = "\n".join(line for line in needed if line not in source)
    if head:  # imports the checker template needs, after the module's last import
        last = list(re.finditer(r"^(from|import) .*$", source, re.M))[-1]
        source = source[:last.end()] + "\n" + head + source[last.end():]
    path.write_text(source.rstrip("\n") + "\n" + text)


def _add_to_page(path: Path, page: str, module: str, name: str, signature: str) -> int:
    nb = nbformat.read(path, as_version=4)
    if any(cell.get("id") == f"ex-{name}" for cell in nb.cells):
        raise SystemExit(f"{page} already has an exercise {name}")
    number = len(re.findall(r"\*\*Exercise \d+", "\n".join(c.source for c in nb.cells))) + 1
    at = next((i for i, c in enumerate(nb.cells) if c.get("id") == "solutions"),
              next(i for i, c in enumerate(nb.cells) if re.search(r"^## Summary", c.source, re.M)))
    nb.cells[at:at] = [
        nbformat.v4.new_markdown_cell(TEXT.format(number=number, name=name, MARK=MARK),
                                      id=f"ex-{name}-text"),
        nbformat.v4.new_code_cell(STUB.format(name=name, signature=signature), id=f"ex-{name}")]
    imports = [c for c in nb.cells if c.cell_type == "code"][1]  # after the setup cell
    line = f"from utils.exercises.{module} import check_{name}"
    lines = imports.source.splitlines()
    seed = next(i for i, text in enumerate(lines) if text.startswith("set_seed("))
    while seed > 0 and not lines[seed - 1].strip():
        seed -= 1
    lines.insert(seed, line)
    imports.source = "\n".join(lines)
    nbformat.write(nb, path)
    return number


def scaffold(page: str, name: str, signature: str) -> list[str]:
    """Create the pieces; return the places marked FILL IN, as 'file:line: text'."""
    if not name.isidentifier() or not name[0].islower():
        raise SystemExit(f"NAME must be a lower-case Python name, got {name!r}")
    page_path = ROOT / "chapters" / f"{page}.ipynb"
    if not page_path.is_file():
        raise SystemExit(f"no page chapters/{page}.ipynb")
    module = _module_for(page)
    fields = dict(page=page, name=name, signature=signature, MARK=MARK)
    checker_path = ROOT / "utils" / "exercises" / f"{module}.py"
    reference_path = ROOT / "tests" / "solutions" / f"{module}.py"
    _add_to_module(checker_path, CHECKER.format(**fields),
                   ["from collections.abc import Callable", "import torch",
                    "from ..checks import check_function", "from . import exercise"])
    _add_to_module(reference_path, REFERENCE.format(**fields), [])
    _add_to_page(page_path, page, module, name, signature)
    import sync_solutions
    sync_solutions.sync(page_path)
    marked = []
    for path in (checker_path, reference_path, page_path):
        for number, text in enumerate(path.read_text().splitlines(), 1):
            if MARK in text:
                marked.append(f"{path.relative_to(ROOT)}:{number}: {text.strip()[:100]}")
    return marked


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("page", help="the notebook's file stem, e.g. 03_optimizers")
    parser.add_argument("name", help="the function the student writes, e.g. nadam_step")
    parser.add_argument("signature", help='its parameters, e.g. "p, grad, lr"')
    args = parser.parse_args(argv)
    marked = scaffold(args.page, args.name, args.signature)
    print(f"created the exercise {args.name} on {args.page}. Left to fill in ({MARK}):")
    print("\n".join(f"  {m}" for m in marked))
    print("then: python scripts/sync_solutions.py; "
          f"python scripts/execute_notebooks.py chapters/{args.page}.ipynb; "
          "pytest tests/test_exercises.py tests/test_solutions_shown.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
