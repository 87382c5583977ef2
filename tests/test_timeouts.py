"""Every way of executing something ends: finite timeouts that name what stalled.

- scripts/execute_notebooks.py stops a cell that runs past --cell-timeout, and a notebook
  that runs past --notebook-timeout, naming the notebook, the cell's index and its first line;
- make test gives every stage a time limit and nbval a cell and a start-up timeout;
- .ci/run has an outer limit below CI's 90 minutes;
- the benchmark ends with the child's error when a measuring process fails (it used to wait
  for ever).
"""

import os
import re
import subprocess
import sys
import time

import nbformat
import pytest

from conftest import ROOT

EXECUTOR = ROOT / "scripts" / "execute_notebooks.py"


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)
    return path


def _execute(*args):
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    start = time.monotonic()
    out = subprocess.run([sys.executable, str(EXECUTOR), *map(str, args)], capture_output=True,
                         text=True, timeout=120, env=env)
    return out, time.monotonic() - start


@pytest.mark.portability
def test_a_stalled_cell_stops_with_its_notebook_index_and_first_line(tmp_path):
    nb = _notebook(tmp_path / "stall.ipynb", "x = 1", "import time\ntime.sleep(60)  # a stall", "print(x)")
    out, seconds = _execute("--cell-timeout", "3", "--output-dir", tmp_path / "out", nb)
    assert out.returncode == 1
    assert "timeout: stall.ipynb, cell 1: 'import time'" in out.stderr
    assert "cell limit of 3 s" in out.stderr
    assert seconds < 40
    assert not (tmp_path / "out" / "stall.ipynb").exists()  # nothing half-written


@pytest.mark.portability
def test_a_notebook_past_its_limit_stops_even_if_each_cell_is_short(tmp_path):
    cells = ["import time"] + ["time.sleep(2)"] * 10
    nb = _notebook(tmp_path / "slow.ipynb", *cells)
    out, seconds = _execute("--cell-timeout", "30", "--notebook-timeout", "5", "--check", nb)
    assert out.returncode == 1
    assert re.search(r"timeout: slow\.ipynb, cell \d+: 'time.sleep\(2\)' still running after the "
                     r"notebook limit of 5 s", out.stderr), out.stderr
    assert seconds < 40


def test_every_stage_of_make_test_and_nbval_have_time_limits():
    script = (ROOT / "scripts" / "run_tests.sh").read_text()
    stages = re.findall(r"^stage +(\S+) +(\S+) ", script, re.M)
    assert {name for name, _ in stages} >= {"install", "unit", "portability", "standalone",
                                            "nbval", "build", "browser"}
    assert all(limit.isdigit() for _, limit in stages), stages
    assert sum(int(limit) for _, limit in stages) < 90 * 60
    assert "--nbval-cell-timeout=" in script and "--nbval-kernel-startup-timeout=" in script
    assert 'timeout --signal=INT' in script
    ci = (ROOT / ".ci" / "run").read_text()
    limit = int(re.search(r"timeout --signal=INT --kill-after=\d+ (\d+) make test", ci).group(1))
    assert limit < 90 * 60


def test_benchmark_ends_with_the_childs_error_when_a_measurement_fails(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))  # the spawned child imports it too
    import engine

    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"plain no-such-workload with 1 threads failed:(.|\n)*KeyError"):
        engine.measure("plain", "no-such-workload", 1, 10)
    assert time.monotonic() - start < 60
