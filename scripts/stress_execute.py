"""Execute notebooks many times and report any run that stalls (not part of `make test`).

    python scripts/stress_execute.py --runs 30                  # every notebook, 30 runs each
    python scripts/stress_execute.py --runs 10 --busy chapters/02_boolean.ipynb
    TNN_BUDGET=smoke python scripts/stress_execute.py --runs 30 --report stress.md

Each run is a fresh kernel executing the notebook top to bottom with the same code and the
same environment as scripts/execute_notebooks.py (nothing is written back). With ``--busy``
every other run has a process spinning on another core, as when a CI machine is shared. A run
is reported when it takes more than twice that notebook's median, or hits a timeout; the
report names the cell whose time grew most against its own median (a stall waits in one
cell: the kernel idle, the client waiting). Prints a Markdown table; ``--report`` also saves
it.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("execute_notebooks", ROOT / "scripts" / "execute_notebooks.py")
executor = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(executor)


def one_run(path: Path, cell_timeout: int, notebook_timeout: int) -> dict:
    cells: dict[int, float] = {}
    start = time.perf_counter()
    try:
        nb, record = executor.execute(path, cell_timeout=cell_timeout,
                                      notebook_timeout=notebook_timeout,
                                      on_cell=lambda i, s: cells.__setitem__(i, s))
        error = None if record["succeeded"] else "a cell raised"
        first = {i: executor.first_line(nb.cells[i].source) for i in cells}
    except executor.NotebookTimeout as exc:
        error, first = str(exc), {}
    return {"seconds": time.perf_counter() - start, "cells": cells, "error": error, "first": first}


def stress(paths: list[Path], runs: int, busy: bool, cell_timeout: int, notebook_timeout: int):
    rows, slow = [], []
    for path in paths:
        results = []
        for k in range(runs):
            spinner = None
            loaded = busy and k % 2 == 1
            if loaded:
                spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            try:
                result = one_run(path, cell_timeout, notebook_timeout)
            finally:
                if spinner is not None:
                    spinner.kill()
                    spinner.wait()
            result["loaded"] = loaded
            results.append(result)
            print(f"{path.name} run {k + 1}/{runs}{' (busy core)' if loaded else ''}: "
                  f"{result['seconds']:.1f} s{'  ' + result['error'] if result['error'] else ''}",
                  flush=True)
        times = [r["seconds"] for r in results]
        median = statistics.median(times)
        cell_medians = {i: statistics.median(r["cells"].get(i, 0.0) for r in results)
                        for i in results[0]["cells"]}
        for n, r in enumerate(results, 1):
            if r["error"] or r["seconds"] > 2 * median:
                worst = max(r["cells"], key=lambda i: r["cells"][i] - cell_medians.get(i, 0.0),
                            default=None)
                where = (f"cell {worst} ({r['cells'][worst]:.1f} s vs median "
                         f"{cell_medians.get(worst, 0):.1f} s): {r['first'].get(worst, '')!r}"
                         if worst is not None else "")
                slow.append(f"{path.name} run {n}: {r['seconds']:.1f} s (median {median:.1f} s) "
                            f"{r['error'] or ''} {where}".strip())
        rows.append((path.name, runs, median, min(times), max(times),
                     statistics.median([r["seconds"] for r in results if r["loaded"]] or [float("nan")]),
                     sum(1 for r in results if r["error"] or r["seconds"] > 2 * median)))
    return rows, slow


def report(rows, slow, budget: str, busy: bool) -> str:
    lines = [f"Budget: {budget}; {'every other run with a busy core' if busy else 'idle machine'}; "
             f"{os.cpu_count()} CPUs.", "",
             "| notebook | runs | median s | fastest s | slowest s | median s, busy core | over 2x median or failed |",
             "|---|---|---|---|---|---|---|"]
    for name, runs, med, lo, hi, busy_med, bad in rows:
        lines.append(f"| {name} | {runs} | {med:.1f} | {lo:.1f} | {hi:.1f} | {busy_med:.1f} | {bad} |")
    lines += ["", "Runs over twice their median or failed:" if slow else "No run over twice its median; none failed."]
    lines += [f"- {s}" for s in slow]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--busy", action="store_true", help="a spinning process during every other run")
    parser.add_argument("--cell-timeout", type=int, default=120)
    parser.add_argument("--notebook-timeout", type=int, default=300)
    parser.add_argument("--report", type=Path)
    args = parser.parse_args(argv)
    os.environ.update(executor.EXECUTION_ENV)
    paths = [p.resolve() for p in args.notebooks] or sorted((ROOT / "chapters").glob("*.ipynb"))
    rows, slow = stress(paths, args.runs, args.busy, args.cell_timeout, args.notebook_timeout)
    text = report(rows, slow, os.environ.get("TNN_BUDGET", "default") or "default", args.busy)
    print(text)
    if args.report:
        args.report.write_text(text + "\n")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
