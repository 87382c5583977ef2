"""scripts/new_exercise.py, end to end, in a throwaway copy of the repository: the scaffold
puts every piece in its place, the generic tests pick the new exercise up (and fail while
anything is marked FILL IN), and once the marked places are written they pass."""

import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT

PAGE, NAME = "04b_deep_diagnostics", "double_it"


def _run(args, cwd, check=True):
    # the generic tests collect only the new exercise (every other checker's reference run
    # at collection would cost a minute here; the unit stage runs them all anyway)
    env = {**os.environ, "PYTHONPATH": str(cwd), "TNN_ONLY_EXERCISES": f"init.check_{NAME}"}
    result = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=300)
    if check and result.returncode:
        raise AssertionError(f"{args} failed:\n{result.stdout}\n{result.stderr}")
    return result


def _fill(path, replacements):
    text = path.read_text()
    for old, new in replacements:
        assert old in text, (path, old)
        text = text.replace(old, new)
    path.write_text(text)


@pytest.fixture(scope="module")
def copy(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    files = subprocess.run(["git", "ls-files", "utils", "tests", "scripts", "chapters",
                            "conftest.py", "pyproject.toml"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    for name in files:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((ROOT / name).read_bytes())
    return root


def test_the_scaffold_creates_every_piece_and_the_tests_pick_it_up(copy):
    out = _run(["scripts/new_exercise.py", PAGE, NAME, "x"], copy).stdout
    assert f"created the exercise {NAME} on {PAGE}" in out
    assert "utils/exercises/init.py" in out and "tests/solutions/init.py" in out
    assert f"chapters/{PAGE}.ipynb" in out
    where = _run(["-c", "import utils; print(utils.__file__)"], copy).stdout
    assert str(copy) in where, where  # the copy's package, not the repository's

    generic = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_exercises.py",
               "tests/test_solutions_shown.py", "-k", f"{NAME} or {PAGE}"]
    unfinished = _run(generic, copy, check=False)
    assert unfinished.returncode != 0 and f"init.check_{NAME}" in unfinished.stdout

    checker, reference = copy / "utils/exercises/init.py", copy / "tests/solutions/init.py"
    _fill(checker, [
        ("-> FILL IN: what it returns.", "-> twice ``x``."),
        ("inputs = ()  # FILL IN: the arguments, e.g. (torch.randn(4, 3, generator=g, "
         "dtype=torch.float64),)", "inputs = (torch.randn(4, 3, generator=g, dtype=torch.float64),)"),
        ('raise NotImplementedError("FILL IN: an independent reference (PyTorch where it has one)")',
         "return torch.mul(x, 2)"),
        ('# FILL IN: "the mistake, and what to do instead": lambda x: ...,',
         '"added 2 instead of doubling: multiply by 2": lambda x: x + 2,')])
    _fill(reference, [
        ('    """FILL IN: the prose the page\'s Solutions block shows before this code (or '
         'delete it)."""\n', ""),
        ('raise NotImplementedError("FILL IN: the solution, as the page will show it")',
         "return 2 * x")])
    _fill(copy / f"chapters/{PAGE}.ipynb", [
        ("FILL IN: what to write, what it is for, and what the checker tries (the shown "
         "example and hidden cases).", "Write `double_it(x)`, which returns twice `x`.")])
    _run(["scripts/sync_solutions.py"], copy)
    finished = _run([a for a in generic if a != "-q"] + ["-v"], copy, check=False)
    assert finished.returncode == 0, finished.stdout[-3000:]
    for test in ("test_the_reference_solution_passes", "test_every_stub_form_is_not_attempted",
                 "test_every_declared_mistake_gets_its_own_hint"):
        assert re.search(rf"{test}\[init\.check_{NAME}[^\]]*\] PASSED", finished.stdout), test
