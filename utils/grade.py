"""Grade a folder of submitted notebooks: a gradebook (CSV) and a feedback file per student.

    python -m utils.grade SUBMISSIONS --out gradebook.csv
    python -m utils.grade SUBMISSIONS --out gradebook.csv --assignment hw1_single_layer --seed 2027

``SUBMISSIONS`` holds one notebook per student: ``<student>.ipynb``, or a folder
``<student>/`` with one ``.ipynb`` in it. For each submission the grader

1. reads it (a file that is not a notebook gets a row that says so) and tells which page of
   the course it is from its exercise cells (ids ``ex-<answer>``); a notebook of another
   page gets a row that says which;
2. executes a temporary copy top to bottom in a fresh kernel, without network access where
   the system allows it (a new network namespace, ``unshare -rn``), with a time limit per
   notebook and per cell; a cell that raises or runs too long is noted and the run goes on,
   so one broken cell costs only the exercises that need it;
3. takes the student's answers (the functions and values each exercise names) out of that
   kernel and runs every exercise's checker on them **in the grader's own process**, from
   the installed :mod:`utils.exercises`: a checker cell the student deleted, edited or moved,
   or a checker the student replaced in the kernel, changes nothing. The hidden cases are
   drawn from the seed the instructor sets (``--seed`` or ``$TNN_HIDDEN_SEED``), which the
   checkers read through :func:`utils.exercises.hidden_seed`;
4. records each exercise's status, points (:data:`utils.exercises.POINTS`) and message.

It writes the gradebook (one row a student, one column an exercise, then the total and the
possible total, and a ``note`` column that says why a row is empty) and, in the folder given
by ``--feedback`` (default: ``feedback/`` next to the gradebook), one Markdown file per
student with every exercise's lines and hints. A submission never stops the grader: each
failure becomes a row with its reason. The grader is built on ``nbclient`` (see the
instructor's guide for why not otter-grader or nbgrader).

Student code runs on the grading machine, as the student's own user would run it, with no
network: grade a class you do not trust inside a throwaway account, container or VM.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from utils.exercises import HIDDEN_SEED_ENV

__all__ = ["Submission", "grade_folder", "grade_submission", "identify_page", "main"]

#: Seconds a whole notebook may run, each cell, and each exercise's checker, by default.
NOTEBOOK_LIMIT_S = 300
CELL_LIMIT_S = 120
CHECK_LIMIT_S = 60
#: Characters of a cell's output kept (a submission that prints for ever cannot fill memory).
OUTPUT_LIMIT = 20_000


@dataclass
class Submission:
    """One student's graded submission: ``note`` says why it could not be graded (empty when
    it was); ``exercises`` maps each exercise id to its status, points, possible and message;
    ``cells`` lists what went wrong while the notebook ran (a cell that raised or timed out)."""

    student: str
    path: str
    note: str = ""
    exercises: dict[str, dict] = field(default_factory=dict)
    cells: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def points(self) -> float:
        return sum(e["points"] for e in self.exercises.values())


# --- which page a notebook is ------------------------------------------------------------

def _entries(page: str) -> list:
    from utils.exercises import registry
    return [e for e in registry() if e.page == page]


def _not_graded(entries: list) -> dict[str, dict]:
    """Each exercise's record for a submission that could not be graded (the note says why)."""
    return {e.id: dict(status="not graded", points=0, possible=e.points, message="")
            for e in entries}


def identify_page(nb: dict) -> str | None:
    """The course page a notebook is, from its exercise cells' ids (``ex-<answer>``): the
    page with the most of its exercises present, or None if none is."""
    from utils.exercises import registry
    ids = {cell.get("id") for cell in nb.get("cells", []) if isinstance(cell, dict)}
    counts: dict[str, int] = {}
    for entry in registry():
        if f"ex-{entry.answer}" in ids:
            counts[entry.page] = counts.get(entry.page, 0) + 1
    return max(counts, key=counts.get) if counts else None


def _read(path: Path) -> tuple[dict | None, str]:
    """The notebook as a dict, or None and why it is not one."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        return None, f"cannot read the file ({type(err).__name__}: {err})"
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as err:
        return None, f"not a valid notebook: the file is not valid JSON ({err})"
    if not (isinstance(nb, dict) and isinstance(nb.get("cells"), list)):
        return None, "not a valid notebook: no list of cells"
    if nb.get("nbformat") != 4:
        return None, f"not a valid notebook: nbformat {nb.get('nbformat')!r}, expected 4"
    return nb, ""


# --- the worker: execute, take the answers out, check them ---------------------------------

_HARVEST = """
import cloudpickle as _tnn_cp, json as _tnn_json
_tnn_found = {}
for _tnn_name in %r:
    if _tnn_name not in globals():
        _tnn_found[_tnn_name] = "missing"
        continue
    try:
        with open(_tnn_name + ".answer", "wb") as _tnn_f:
            _tnn_cp.dump(globals()[_tnn_name], _tnn_f)
        _tnn_found[_tnn_name] = "ok"
    except Exception as _tnn_err:
        _tnn_found[_tnn_name] = "unpicklable: %%s: %%s" %% (type(_tnn_err).__name__, _tnn_err)
with open("answers.json", "w") as _tnn_f:
    _tnn_json.dump(_tnn_found, _tnn_f)
"""


def _first_line(source) -> str:
    source = "".join(source) if isinstance(source, list) else str(source)
    line = next((s for s in source.splitlines() if s.strip()), "")
    return line if len(line) <= 60 else line[:57] + "..."


def _execute(nb_path: Path, names: list[str], notebook_limit: float,
             cell_limit: float) -> tuple[list[str], str]:
    """Run the notebook at ``nb_path`` in a fresh kernel, in its folder, then a cell that
    writes each of ``names`` out of the kernel; return what went wrong per cell, and a note
    if the notebook ran out of time."""
    import nbformat
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    class Client(NotebookClient):
        """Keeps at most OUTPUT_LIMIT characters of each cell's output."""

        def output(self, outs, msg, display_id, cell_index):
            if sum(len(json.dumps(o)) for o in outs) > OUTPUT_LIMIT:
                return None
            return super().output(outs, msg, display_id, cell_index)

    nb = nbformat.read(nb_path, as_version=4)
    start = time.monotonic()
    left = lambda: notebook_limit - (time.monotonic() - start)  # noqa: E731
    km = AsyncKernelManager(transport="ipc", kernel_name="python3")  # works without a network
    client = Client(nb, km=km, timeout_func=lambda cell: max(1, int(min(cell_limit, left()))),
                    interrupt_on_timeout=True, allow_errors=True, startup_timeout=60,
                    resources={"metadata": {"path": str(nb_path.parent)}},
                    record_timing=False, shutdown_kernel="immediate")
    problems, note = [], ""
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            if left() <= 1:
                note = (f"the notebook ran out of its {notebook_limit:g} s before cell {index}; "
                        "later cells did not run")
                problems.append(note)
                break
            try:
                client.execute_cell(cell, index)
            except CellTimeoutError:
                problems.append(f"cell {index} ({_first_line(cell.source)!r}) was stopped "
                                f"after its time limit of {cell_limit:g} s")
                continue
            except DeadKernelError:
                problems.append(f"the kernel died in cell {index} ({_first_line(cell.source)!r})")
                return problems, "the kernel died"
            for out in cell.outputs:
                if out.get("output_type") == "error" and out.get("ename") == "KeyboardInterrupt":
                    problems.append(f"cell {index} ({_first_line(cell.source)!r}) was stopped "
                                    f"after its time limit of {cell_limit:g} s")
                    break
                if out.get("output_type") == "error":
                    what = _first_line(str(out.get("evalue") or ""))
                    problems.append(f"cell {index} ({_first_line(cell.source)!r}) raised "
                                    f"{out.get('ename')}" + (f": {what}" if what else ""))
                    break
        harvest = nbformat.v4.new_code_cell(_HARVEST % (names,))
        client.timeout_func = lambda cell: 60
        nb.cells.append(harvest)
        client.execute_cell(harvest, len(nb.cells) - 1)
    return problems, note


class _TimeUp(BaseException):
    """A checker ran past its limit (a BaseException, so no checker swallows it)."""


def _check(folder: Path, page: str, check_limit: float) -> dict[str, dict]:
    """Run every exercise of ``page`` on the answers taken out of the kernel."""
    import cloudpickle

    from utils.exercises import grading

    found = json.loads((folder / "answers.json").read_text()) if (folder / "answers.json").exists() else {}
    results = {}

    def time_up(signum, frame):
        raise _TimeUp

    signal.signal(signal.SIGALRM, time_up)
    for entry in _entries(page):
        possible = entry.points
        state = found.get(entry.answer, "missing")
        if state == "missing":
            results[entry.id] = dict(status="missing", points=0, possible=possible, message=(
                f"No `{entry.answer}` was defined when the notebook finished: was it renamed or "
                f"deleted, or did its cell fail? The exercise needs the name `{entry.answer}`."))
            continue
        if state != "ok":
            results[entry.id] = dict(status="failed", points=0, possible=possible,
                                     message=f"`{entry.answer}` could not be taken out of the kernel ({state}).")
            continue
        try:
            value = cloudpickle.loads((folder / f"{entry.answer}.answer").read_bytes())
        except Exception as err:  # noqa: BLE001 - whatever the student's object does when loaded
            results[entry.id] = dict(status="failed", points=0, possible=possible,
                                     message=f"`{entry.answer}` could not be loaded ({type(err).__name__}: {err}).")
            continue
        args = tuple(value) if entry.spread and isinstance(value, (tuple, list)) else (value,)
        out = open(os.devnull, "w")
        signal.setitimer(signal.ITIMER_REAL, check_limit)
        try:
            with grading(), contextlib.redirect_stdout(out):
                outcome = entry.checker(*args)
            results[entry.id] = dict(status=outcome.status, points=outcome.points,
                                     possible=outcome.possible, message=outcome.message)
        except _TimeUp:
            results[entry.id] = dict(status="failed", points=0, possible=possible, message=(
                f"Checking `{entry.answer}` ran past its limit of {check_limit:g} s: an endless "
                "loop, or a computation far slower than needed?"))
        except Exception as err:  # noqa: BLE001 - spread answers of the wrong length, say
            results[entry.id] = dict(status="failed", points=0, possible=possible,
                                     message=f"`{entry.answer}` could not be checked: {type(err).__name__}: {err}")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            out.close()
    return results


def _worker(argv: list[str]) -> int:
    """``python -m utils.grade --worker NOTEBOOK PAGE NOTEBOOK_LIMIT CELL_LIMIT CHECK_LIMIT
    RESULT``: execute, take the answers out, check them; write the result as JSON."""
    nb_path, page, notebook_limit, cell_limit, check_limit, result_path = argv
    nb_path = Path(nb_path)
    result = {"cells": [], "note": "", "exercises": {}}
    try:
        names = [e.answer for e in _entries(page)]
        result["cells"], result["note"] = _execute(nb_path, names, float(notebook_limit),
                                                   float(cell_limit))
    except Exception as err:  # noqa: BLE001 - e.g. a kernel that never started
        result["cells"].append(f"the notebook could not be executed: {type(err).__name__}: {err}")
    result["exercises"] = _check(nb_path.parent, page, float(check_limit))
    Path(result_path).write_text(json.dumps(result))
    return 0


# --- the grader ------------------------------------------------------------------------------

def _no_network_prefix() -> list[str]:
    """``unshare -rn`` where it works here (a new user and network namespace: no network at
    all); otherwise nothing, and the kernel only gets proxy settings that go nowhere."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-rn", "true"], capture_output=True).returncode == 0:
        return [unshare, "-rn"]
    return []


def grade_submission(student: str, path: Path, page: str, *, seed: int = 0,
                     notebook_limit: float = NOTEBOOK_LIMIT_S, cell_limit: float = CELL_LIMIT_S,
                     check_limit: float = CHECK_LIMIT_S, budget: str = "smoke",
                     isolate: list[str] | None = None) -> Submission:
    """Grade one notebook (see the module's docstring); never raises for the submission's sake."""
    start = time.monotonic()
    sub = Submission(student, str(path))
    entries = _entries(page)
    blank = _not_graded(entries)
    nb, why = _read(path)
    if nb is None:
        sub.note, sub.exercises = why, blank
        return sub
    found = identify_page(nb)
    if found != page:
        sub.note = (f"wrong notebook: this is {found}, the assignment is {page}" if found else
                    f"wrong notebook: none of {page}'s exercise cells is in it")
        sub.exercises = blank
        return sub
    with tempfile.TemporaryDirectory(prefix="tnn-grade-") as tmp:
        copy = Path(tmp) / f"{page}.ipynb"
        copy.write_text(json.dumps(nb))
        env = {**os.environ, HIDDEN_SEED_ENV: str(seed), "TNN_BUDGET": budget,
               "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0",
               "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9",
               "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}
        from utils.reproducibility import EXECUTION_ENV
        env.update(EXECUTION_ENV)
        result_path = Path(tmp) / "result.json"
        command = [*(isolate if isolate is not None else _no_network_prefix()), sys.executable,
                   "-m", "utils.grade", "--worker", str(copy), page, str(notebook_limit),
                   str(cell_limit), str(check_limit), str(result_path)]
        backstop = notebook_limit + check_limit * len(entries) + 120
        proc = subprocess.Popen(command, cwd=tmp, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, start_new_session=True)
        try:
            _, err = proc.communicate(timeout=backstop)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            err = b""
            sub.note = f"stopped by the grader after {backstop:g} s"
        if result_path.exists():
            result = json.loads(result_path.read_text())
            sub.cells, sub.exercises = result["cells"], {**blank, **result["exercises"]}
            sub.note = sub.note or result["note"]
        else:
            sub.exercises = blank
            tail = err.decode(errors="replace").strip().splitlines()[-3:]
            sub.note = sub.note or ("the grader's worker failed: " + " | ".join(tail))
    sub.seconds = time.monotonic() - start
    return sub


def find_submissions(folder: Path) -> list[tuple[str, Path]]:
    """(student, notebook) pairs: ``<student>.ipynb`` files and ``<student>/`` folders (whose
    one notebook is taken; a folder with none or several gets its student's row with a note)."""
    found = []
    for item in sorted(folder.iterdir()):
        if item.is_file() and item.suffix == ".ipynb":
            found.append((item.stem, item))
        elif item.is_dir() and not item.name.startswith("."):
            notebooks = sorted(p for p in item.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            found.append((item.name, notebooks[0] if len(notebooks) == 1 else item))
    return found


def grade_folder(folder: Path, page: str | None = None, *, jobs: int = 2,
                 progress: bool = True, **options) -> tuple[str, list[Submission]]:
    """Grade every submission in ``folder`` (see :func:`find_submissions`); return the
    assignment's page and one :class:`Submission` per student, in name order."""
    from concurrent.futures import ThreadPoolExecutor

    from tqdm.auto import tqdm

    pairs = find_submissions(folder)
    if page is None:
        pages = [identify_page(nb) for _, p in pairs if p.is_file() for nb in [_read(p)[0]] if nb]
        pages = [p for p in pages if p]
        if not pages:
            raise SystemExit(f"no course notebook in {folder}: say which page with --assignment")
        page = max(set(pages), key=pages.count)
    if not _entries(page):
        from utils.exercises import registry
        pages = ", ".join(sorted({e.page for e in registry()}))
        raise SystemExit(f"{page!r} has no exercises (pages with exercises: {pages})")
    isolate = _no_network_prefix()

    def one(pair):
        student, path = pair
        if path.is_dir():
            count = len([p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts])
            sub = Submission(student, str(path), note=f"expected one notebook in the folder, found {count}")
            sub.exercises = _not_graded(_entries(page))
            return sub
        return grade_submission(student, path, page, isolate=isolate, **options)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(tqdm(pool.map(one, pairs), total=len(pairs), desc=f"grading {page}",
                            unit="notebook", disable=not progress))
    return page, results


def write_gradebook(page: str, results: list[Submission], out: Path) -> None:
    """One row a student: each exercise's points, the total, the possible total, a note."""
    entries = _entries(page)
    possible = sum(e.points for e in entries)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *[e.id for e in entries], "total", "possible", "note"])
        for sub in results:
            writer.writerow([sub.student, *[f"{sub.exercises[e.id]['points']:g}" for e in entries],
                             f"{sub.points:g}", f"{possible:g}", sub.note])


def feedback(page: str, sub: Submission, seed: int) -> str:
    """A student's feedback, in Markdown: each exercise's status, points and the checker's
    lines and hint; what went wrong while the notebook ran."""
    entries = _entries(page)
    possible = sum(e.points for e in entries)
    lines = [f"# {page}: feedback for {sub.student}", "",
             f"**{sub.points:g} of {possible:g} points.**"
             + (f" {sub.note[0].upper()}{sub.note[1:]}." if sub.note else ""), "",
             "| Exercise | Status | Points |", "|---|---|---|"]
    for e in entries:
        r = sub.exercises[e.id]
        lines.append(f"| `{e.answer}` | {r['status']} | {r['points']:g} of {r['possible']:g} |")
    if sub.cells:
        lines += ["", "## While your notebook ran", ""] + [f"- {c}" for c in sub.cells]
    for e in entries:
        r = sub.exercises[e.id]
        if r["message"]:
            lines += ["", f"## `{e.answer}`: {r['status']}", "", "```text", r["message"].rstrip(), "```"]
    lines += ["", f"_Checked with the course's checkers, hidden cases from seed {seed}._", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        return _worker(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m utils.grade",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", type=Path, help="folder of <student>.ipynb (or <student>/ folders)")
    parser.add_argument("--out", type=Path, default=Path("gradebook.csv"), help="the gradebook CSV")
    parser.add_argument("--feedback", type=Path, help="folder for <student>.md (default: feedback/ next to --out)")
    parser.add_argument("--assignment", help="the page graded, e.g. hw1_single_layer (default: the page most submissions are)")
    parser.add_argument("--seed", type=int, help=f"hidden-case seed (default: ${HIDDEN_SEED_ENV}, else 0)")
    parser.add_argument("--time-limit", type=float, default=NOTEBOOK_LIMIT_S, help="seconds per notebook")
    parser.add_argument("--cell-limit", type=float, default=CELL_LIMIT_S, help="seconds per cell")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks graded at once")
    parser.add_argument("--budget", default="smoke", choices=["smoke", "default", "full"],
                        help="TNN_BUDGET for the students' notebooks (the checkers do not depend on it)")
    args = parser.parse_args(argv)
    if not args.submissions.is_dir():
        parser.error(f"no such folder: {args.submissions}")
    seed = args.seed if args.seed is not None else int(os.environ.get(HIDDEN_SEED_ENV, "0") or 0)
    os.environ[HIDDEN_SEED_ENV] = str(seed)
    start = time.monotonic()
    page, results = grade_folder(args.submissions, args.assignment, jobs=args.jobs, seed=seed,
                                 notebook_limit=args.time_limit,
                                 cell_limit=min(args.cell_limit, args.time_limit), budget=args.budget)
    write_gradebook(page, results, args.out)
    folder = args.feedback or args.out.parent / "feedback"
    folder.mkdir(parents=True, exist_ok=True)
    for sub in results:
        (folder / f"{sub.student}.md").write_text(feedback(page, sub, seed))
    spent = time.monotonic() - start
    ran = [sub.seconds for sub in results if sub.seconds]
    each = f", {sum(ran) / len(ran):.1f} s a notebook on average" if ran else ""
    print(f"graded {len(results)} submissions of {page} in {spent:.0f} s with {args.jobs} at once"
          f"{each} (hidden-case seed {seed}): {args.out}, feedback in {folder}/")
    print(args.out.read_text(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
