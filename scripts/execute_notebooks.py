"""Execute the course notebooks top to bottom, from a fresh kernel each, in the book's
numeric environment, with finite timeouts.

    python scripts/execute_notebooks.py                 # every notebook in chapters/
    python scripts/execute_notebooks.py chapters/00_tools.ipynb
    python scripts/execute_notebooks.py --check         # exit 1 if a notebook would change
    python scripts/execute_notebooks.py --output-dir /tmp/out chapters/01_backprop.ipynb

Each notebook runs with its own folder as the working directory (as in the book build),
under the budget chosen by ``$TNN_BUDGET`` (``default`` unless set) and in
:data:`utils.reproducibility.EXECUTION_ENV` (one thread, AVX2 kernels in torch, MKL,
oneDNN, OpenBLAS and NumPy; progress bars as one text line), which the kernel inherits
from this process. So any x86-64 machine with AVX2 and the pinned packages writes the same
text, and executing an unchanged notebook again leaves its file untouched.

Its outputs and widget state are written back (widget model ids renumbered in order of
appearance, so they do not change from run to run), with a record under the notebook
metadata key ``tnn_execution``: when it ran, the wall time, the kernel's peak memory, the
budget, whether it succeeded and the numeric environment the kernel reported. The file is
rewritten only when something else than that record's timings, or the outputs of cells
tagged ``nbval-ignore-output`` (timings), changed; ``--force`` rewrites it anyway (to
refresh the timings shown on the execution statistics page).

Timeouts (all finite): the kernel must answer within ``--startup-timeout`` seconds (60),
each cell may take ``--cell-timeout`` seconds (300; 3,600 at ``TNN_BUDGET=full``) and the
whole notebook ``--notebook-timeout`` seconds (600; 14,400 at the full budget). A timeout stops that notebook with its name, the cell's index and the cell's first
line; the script exits non-zero. A notebook that raises is written too (so you can read
the traceback in it), unless ``--check`` is given.

Commit notebooks executed with the default budget only: nbval compares them with a fresh
run in the test suite.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import platform
import re
import sys
from queue import Empty
import time
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
from traitlets import Type, default

from utils.reproducibility import EXECUTION_ENV

ROOT = Path(__file__).resolve().parents[1]
# Run in the kernel after the last cell (and removed again): peak memory and the numeric
# environment the kernel really had.
PROBE = ("import json as _j, resource as _r; from utils.reproducibility import numeric_environment as _ne\n"
         "print(_j.dumps({'peak_kb': _r.getrusage(_r.RUSAGE_SELF).ru_maxrss, 'environment': _ne()}))")
TIMING_KEYS = ("executed_at", "runtime_s", "peak_memory_mb", "machine")
IGNORE_TAG = "nbval-ignore-output"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# Defaults, sized from the measured budgets: at the default budget on a 2-core machine the
# slowest cell of the book takes about 20 s and the slowest notebook about 25 s; the full
# budget (lecture-length runs, up to 200,000 steps a training) takes tens of minutes.
STARTUP_TIMEOUT_S = 60
TIMEOUTS_S = {"smoke": (300, 600), "default": (300, 600), "full": (3600, 14400)}  # cell, notebook
CELL_TIMEOUT_S, NOTEBOOK_TIMEOUT_S = TIMEOUTS_S["default"]


POLL_SLICE_S = 1.0


class SlicedPollChannel(AsyncZMQSocketChannel):
    """A kernel channel whose ``get_msg`` cannot sleep through a message for more than
    :data:`POLL_SLICE_S` seconds.

    The stall this prevents (seen here: a cell that takes 0.1 s waited exactly its 120 s
    timeout, then went on with the right outputs): pyzmq's asyncio ``poll`` waits for the
    socket's file descriptor, which signals an *edge*; if the edge is lost (reading the
    socket's ``EVENTS`` resets it, and the loop may not have run in between), a message
    that has already arrived is found only when the poll times out and makes a final real
    ``poll(0)``: after the whole cell timeout, or never when the timeout is None (the
    default of ``jupyter execute``: the reported 10-minute hang).
    ``tests/test_timeouts.py`` recreates a lost edge. Polling in short slices makes that
    final check every second, whatever the timeout.
    """

    async def get_msg(self, timeout: float | None = None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            wait = POLL_SLICE_S if left is None else min(POLL_SLICE_S, left)
            if await self.socket.poll(max(1, int(wait * 1000))):
                return await self._recv()
            if left is not None and left <= POLL_SLICE_S:
                raise Empty


class RobustKernelClient(AsyncKernelClient):
    """``AsyncKernelClient`` with :class:`SlicedPollChannel` for shell, iopub and control."""

    shell_channel_class = Type(SlicedPollChannel)
    iopub_channel_class = Type(SlicedPollChannel)
    control_channel_class = Type(SlicedPollChannel)


class RobustKernelManager(AsyncKernelManager):
    """The kernel manager of every execution here: its clients are :class:`RobustKernelClient`."""

    @default("client_factory")
    def _client_factory_default(self):
        return RobustKernelClient


class NotebookTimeout(RuntimeError):
    """A notebook ran past one of its timeouts; the message names the cell."""


def first_line(source: str) -> str:
    lines = [line for line in source.splitlines() if line.strip()]
    return lines[0][:100] if lines else "(empty cell)"


def _widget_state(nb) -> dict:
    return nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})


def _shown_models(nb) -> list[str]:
    """The model ids of the widget views in the cells' outputs, in cell order."""
    return [view["model_id"] for cell in nb.cells for output in cell.get("outputs", [])
            if (view := output.get("data", {}).get(WIDGET_VIEW))]


def _reachable(state: dict, roots, order: list[str] | None = None) -> list[str]:
    """``roots`` and every model they reference (``IPY_MODEL_<id>``), breadth first,
    appended to ``order``; ids not in ``state`` are skipped."""
    order = [] if order is None else order
    queue = [r for r in roots if r in state]
    while queue:
        model_id = queue.pop(0)
        if model_id in order:
            continue
        order.append(model_id)
        text = json.dumps(state[model_id], sort_keys=True)
        queue += [ref for ref in re.findall(r"IPY_MODEL_([0-9a-f]{32})", text) if ref in state]
    return order


def canonical_widget_ids(nb, seed: str) -> None:
    """Rename every widget model id to one derived from ``seed`` and its order of
    appearance: views in the cells' outputs first (cell order), then the models they
    reference, breadth first. Ids made with uuid4 in the kernel become stable names."""
    state = _widget_state(nb)
    if not state:
        return
    order = _reachable(state, _shown_models(nb))
    while len(order) < len(state):  # models no output shows: by their content, ids masked
        rest = sorted((k for k in state if k not in order),
                      key=lambda k: re.sub(r"[0-9a-f]{32}", "", json.dumps(state[k], sort_keys=True)))
        _reachable(state, rest[:1], order)
    rename = {old: hashlib.md5(f"{seed}:{n}".encode()).hexdigest() for n, old in enumerate(order)}
    pattern = re.compile("|".join(map(re.escape, rename)))
    text = pattern.sub(lambda m: rename[m.group(0)], nbformat.writes(nb))
    fresh = nbformat.reads(text, as_version=4)
    nb.cells, nb.metadata = fresh.cells, fresh.metadata


def portable_tracebacks(nb) -> None:
    """Error tracebacks name files by absolute path (``/home/you/course/utils/checks.py``):
    write them relative to the repository (``utils/checks.py``) or to site-packages, so that
    a notebook executed in another folder or on another machine is the same file."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                output.traceback = [re.sub(r"/[^\s\x1b\"']*?/site-packages/", "",
                                           line.replace(f"{ROOT}/", ""))
                                    for line in output.traceback]


def coalesce_streams(nb) -> None:
    """Merge consecutive stream outputs of a cell (stdout with stdout, stderr with stderr):
    how the kernel splits a cell's printing into messages depends on timing, not on code."""
    for cell in nb.cells:
        merged = []
        for output in cell.get("outputs", []):
            if (output.output_type == "stream" and merged and merged[-1].output_type == "stream"
                    and merged[-1].name == output.name):
                merged[-1].text += output.text
            else:
                merged.append(output)
        if cell.cell_type == "code":
            cell.outputs = merged


def comparable(nb) -> str:
    """The notebook as text, without what may differ between two runs of the same code:
    the timings of the execution record and the outputs of cells tagged
    ``nbval-ignore-output`` (they print timings). Widget ids are already canonical."""
    nb = copy.deepcopy(nb)
    for key in TIMING_KEYS:
        nb.metadata.get("tnn_execution", {}).pop(key, None)
    for cell in nb.cells:
        if cell.cell_type == "code" and IGNORE_TAG in cell.metadata.get("tags", []):
            cell.outputs = []
    state = _widget_state(nb)
    if state:  # the widgets drawn by ignored cells (live interact) may hold timings too
        keep = set(_reachable(state, _shown_models(nb)))
        for key in [k for k in state if k not in keep]:
            del state[key]
    return nbformat.writes(nb)


def execute(path: Path, *, startup_timeout: int = STARTUP_TIMEOUT_S,
            cell_timeout: int = CELL_TIMEOUT_S, notebook_timeout: int = NOTEBOOK_TIMEOUT_S,
            on_cell=None):
    """Execute the notebook at ``path`` in a fresh kernel; return ``(notebook, record)``.

    ``on_cell(index, seconds)`` is called after each code cell (the stress script uses it).
    Raises :class:`NotebookTimeout` when a timeout is hit; an exception in a cell is
    recorded (``succeeded: False``) and kept in the outputs.
    """
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:  # start from a clean slate: no stale outputs survive a failure
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata.pop("widgets", None)
    start = time.perf_counter()
    current = {"index": None}

    def remaining_time(cell) -> int:
        left = notebook_timeout - (time.perf_counter() - start)
        return max(1, int(min(cell_timeout, left)))

    client = NotebookClient(
        nb, timeout_func=remaining_time, startup_timeout=startup_timeout,
        kernel_name="python3", resources={"metadata": {"path": str(path.parent)}},
        record_timing=False, shutdown_kernel="immediate",
        kernel_manager_class=RobustKernelManager,
    )
    succeeded, probe_out = True, {}
    where = lambda i: f"{path.name}, cell {i}: {first_line(nb.cells[i].source)!r}"  # noqa: E731
    try:
        with client.setup_kernel():
            try:
                for index, cell in enumerate(nb.cells):
                    current["index"] = index
                    t0 = time.perf_counter()
                    client.execute_cell(cell, index)
                    if on_cell is not None and cell.cell_type == "code":
                        on_cell(index, time.perf_counter() - t0)
            except CellExecutionError as error:
                succeeded = False
                print(f"  FAILED in {where(current['index'])}:\n{error}", file=sys.stderr)
            except CellTimeoutError as error:
                spent = time.perf_counter() - start
                limit = "notebook" if spent >= notebook_timeout - 1 else "cell"
                seconds = notebook_timeout if limit == "notebook" else cell_timeout
                raise NotebookTimeout(
                    f"timeout: {where(current['index'])} still running after the {limit} "
                    f"limit of {seconds} s ({spent:.0f} s into the notebook)") from error
            except DeadKernelError as error:
                raise NotebookTimeout(f"the kernel died in {where(current['index'])}: {error}") from error
            probe = nbformat.v4.new_code_cell(PROBE)
            nb.cells.append(probe)
            try:
                client.execute_cell(probe, len(nb.cells) - 1)
            finally:
                nb.cells.pop()
            probe_out = json.loads(probe.outputs[0]["text"])
            client.set_widgets_metadata()
    except RuntimeError as error:
        if isinstance(error, NotebookTimeout) or current["index"] is not None:
            raise
        raise NotebookTimeout(f"timeout: the kernel for {path.name} did not start within "
                              f"{startup_timeout} s ({error})") from error
    runtime = time.perf_counter() - start
    record = {
        "executed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "runtime_s": round(runtime, 2),
        "peak_memory_mb": round(probe_out.get("peak_kb", float("nan")) / 1024, 1),  # KiB on Linux
        "budget": os.environ.get("TNN_BUDGET", "").strip().lower() or "default",
        "succeeded": succeeded,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "environment": probe_out.get("environment"),
    }
    nb.metadata["tnn_execution"] = record
    coalesce_streams(nb)
    portable_tracebacks(nb)
    canonical_widget_ids(nb, seed=path.stem)
    return nb, record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every chapters/*.ipynb")
    parser.add_argument("--startup-timeout", type=int, default=STARTUP_TIMEOUT_S,
                        help=f"seconds for the kernel to start (default {STARTUP_TIMEOUT_S})")
    parser.add_argument("--cell-timeout", type=int,
                        help="seconds allowed per cell (default: 300; 3600 at TNN_BUDGET=full)")
    parser.add_argument("--notebook-timeout", type=int,
                        help="seconds allowed per notebook (default: 600; 14400 at TNN_BUDGET=full)")
    parser.add_argument("--output-dir", type=Path,
                        help="write the executed notebooks here instead of in place")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a notebook's outputs would change")
    parser.add_argument("--force", action="store_true",
                        help="rewrite the notebooks even if only their timings changed")
    parser.add_argument("--perturb", action="append", default=[], metavar="VAR=VALUE",
                        help="override one variable of the numeric environment (to measure "
                             "which outputs depend on it; never for committed notebooks)")
    args = parser.parse_args(argv)
    budget = os.environ.get("TNN_BUDGET", "").strip().lower() or "default"
    cell_limit, notebook_limit = TIMEOUTS_S.get(budget, TIMEOUTS_S["default"])
    args.cell_timeout = args.cell_timeout or cell_limit
    args.notebook_timeout = args.notebook_timeout or notebook_limit
    os.environ.update(EXECUTION_ENV)  # the kernels inherit this process's environment
    for item in args.perturb:
        name, _, value = item.partition("=")
        os.environ[name] = value
    paths = args.notebooks or sorted((ROOT / "chapters").glob("*.ipynb"))
    failed, changed = [], []
    total = time.perf_counter()
    for path in paths:
        path = path.resolve()
        print(f"executing {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} ...", flush=True)
        try:
            nb, record = execute(path, startup_timeout=args.startup_timeout,
                                 cell_timeout=args.cell_timeout,
                                 notebook_timeout=args.notebook_timeout)
        except NotebookTimeout as error:
            print(f"  FAILED: {error}", file=sys.stderr, flush=True)
            failed.append(path.name)
            continue
        differs = comparable(nbformat.read(path, as_version=4)) != comparable(nb)
        if args.output_dir:
            args.output_dir.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, args.output_dir / path.name)
        elif not args.check and (differs or args.force):
            nbformat.write(nb, path)
        if differs:
            changed.append(path.name)
        print(f"  {record['runtime_s']:.1f} s, peak {record['peak_memory_mb']:.0f} MB, "
              f"{'ok' if record['succeeded'] else 'FAILED'}, "
              f"{'outputs changed' if differs else 'outputs unchanged'}", flush=True)
        if not record["succeeded"]:
            failed.append(path.name)
    print(f"executed {len(paths)} notebook(s) in {time.perf_counter() - total:.1f} s; "
          f"outputs changed in {len(changed)}: {', '.join(changed) or 'none'}")
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
        return 1
    if args.check and changed:
        print("--check: these notebooks' outputs differ from the committed ones: "
              + ", ".join(changed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
