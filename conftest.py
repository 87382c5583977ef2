"""pytest, for the whole repository.

- Every kernel that nbval starts, and the unit tests themselves, get the book's numeric
  environment before torch or NumPy is imported (utils.reproducibility.EXECUTION_ENV).
  nbval's kernels inherit this process's environment (``--nbval-current-env``), so
  ``pytest --nbval chapters`` validates the notebooks under the settings that
  scripts/execute_notebooks.py executed them with.
- When a run is interrupted (``make test`` stops a stage that runs past its time limit with
  SIGINT), the test that was running is named, for nbval the notebook and cell, with how long
  it had been running: a stall points at its cell.
"""

import time

from utils.reproducibility import pin_numerics

pin_numerics()

_running = {"nodeid": None, "since": None}


def pytest_runtest_logstart(nodeid, location):
    _running.update(nodeid=nodeid, since=time.monotonic())


def pytest_runtest_logfinish(nodeid, location):
    _running.update(nodeid=None, since=None)


def pytest_keyboard_interrupt(excinfo):
    if _running["nodeid"] is not None:
        print(f"\ninterrupted while running {_running['nodeid']} "
              f"(for {time.monotonic() - _running['since']:.0f} s)", flush=True)
