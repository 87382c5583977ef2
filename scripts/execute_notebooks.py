"""Execute the course notebooks top to bottom, in place, from a fresh kernel each.

    python scripts/execute_notebooks.py                 # every notebook in chapters/
    python scripts/execute_notebooks.py chapters/00_tools.ipynb

Each notebook runs with ``chapters/`` as its working directory (as in the book build),
under the budget chosen by ``$TNN_BUDGET`` (``default`` unless set). Its outputs and
widget state are written back into the file, together with a record under the
notebook metadata key ``tnn_execution``: when it ran, the wall time, the kernel's peak
resident memory, the budget and whether it succeeded. The book's execution statistics
page shows that record. A notebook that raises is still written (so you can read the
traceback in it) and the script exits non-zero.

Commit notebooks executed with the default budget only: nbval compares them with a
fresh run in the test suite.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
PEAK_RSS = "__import__('resource').getrusage(__import__('resource').RUSAGE_SELF).ru_maxrss"


def execute(path: Path, timeout: int) -> dict:
    """Execute one notebook in place; return its execution record."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # start from a clean slate: no stale outputs survive a failure
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("widgets", None)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
    )
    start = time.perf_counter()
    succeeded, peak_kb = True, float("nan")
    try:
        with client.setup_kernel():
            try:
                for index, cell in enumerate(nb.cells):
                    client.execute_cell(cell, index)
            except CellExecutionError as error:
                succeeded = False
                print(f"  FAILED:\n{error}", file=sys.stderr)
            probe = nbformat.v4.new_code_cell(f"print({PEAK_RSS})")  # run, then removed
            nb.cells.append(probe)
            try:
                client.execute_cell(probe, len(nb.cells) - 1)
            finally:
                nb.cells.pop()
            peak_kb = float(probe.outputs[0]["text"])
            client.set_widgets_metadata()
    finally:
        runtime = time.perf_counter() - start
    record = {
        "executed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "runtime_s": round(runtime, 2),
        "peak_memory_mb": round(peak_kb / 1024, 1),  # ru_maxrss is in KiB on Linux
        "budget": os.environ.get("TNN_BUDGET", "").strip().lower() or "default",
        "succeeded": succeeded,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
    }
    nb.metadata["tnn_execution"] = record
    nbformat.write(nb, path)
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every chapters/*.ipynb")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "chapters").glob("*.ipynb"))
    failed = []
    total = time.perf_counter()
    for path in paths:
        print(f"executing {path.relative_to(ROOT) if path.is_absolute() else path} ...", flush=True)
        record = execute(path.resolve(), args.timeout)
        print(f"  {record['runtime_s']:.1f} s, peak {record['peak_memory_mb']:.0f} MB, "
              f"{'ok' if record['succeeded'] else 'FAILED'}", flush=True)
        if not record["succeeded"]:
            failed.append(str(path))
    print(f"executed {len(paths)} notebook(s) in {time.perf_counter() - total:.1f} s")
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
