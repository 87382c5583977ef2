"""The book's execution environment: one definition, recorded in every notebook, honoured by
the executor, nbval and the setup cell (utils.reproducibility.EXECUTION_ENV)."""

import re
import subprocess
import sys
import tomllib
import warnings

import nbformat
import pytest

import utils
from conftest import CHAPTERS, ROOT
from utils.progress import StaticBar, progress_bar
from utils.reproducibility import EXECUTION_ENV, expected_environment, pin_numerics

NOTEBOOKS = sorted(CHAPTERS.glob("*.ipynb"))


def _pinned(package: str) -> str:
    text = (ROOT / "requirements.txt").read_text()
    return re.search(rf"^{package}==(\S+)", text, re.M).group(1)


def test_pin_numerics_sets_every_variable_and_nothing_else():
    env = {"ATEN_CPU_CAPABILITY": "avx512", "OMP_NUM_THREADS": "2", "HOME": "/x"}
    assert pin_numerics(env) is None  # a setup cell's last line: it must display nothing
    assert {k: env[k] for k in EXECUTION_ENV} == EXECUTION_ENV
    assert env == {**EXECUTION_ENV, "HOME": "/x"}


def test_pin_numerics_warns_when_torch_was_imported_first(monkeypatch):
    import torch  # noqa: F401  (imported in this process already)
    for key in EXECUTION_ENV:
        monkeypatch.delenv(key, raising=False)
    with pytest.warns(UserWarning, match="restart the kernel"):
        pin_numerics()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pin_numerics()  # nothing changes, nothing to warn about


def test_importing_the_setup_modules_does_not_load_torch_or_numpy():
    # the setup cell imports utils and utils.reproducibility before it pins the environment
    code = ("import sys, utils, utils.reproducibility; "
            "print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_was_executed_in_the_pinned_environment(path):
    record = nbformat.read(path, as_version=4).metadata["tnn_execution"]
    expected = expected_environment(_pinned("torch") + "+cpu", _pinned("numpy"))
    assert record.get("environment") == expected, (
        f"{path.name} was executed in another numeric environment than "
        "utils.reproducibility.EXECUTION_ENV: re-execute it with scripts/execute_notebooks.py "
        f"(recorded: {record.get('environment')})")


def test_release_is_recorded_once_and_every_setup_cell_installs_it():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert utils.__version__ == version
    for path in NOTEBOOKS:
        setup = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        assert f'RELEASE = "{version}"' in setup.source, f"{path.name}: run scripts/release.py"
        assert "@v{RELEASE}" in setup.source


def test_static_bar_prints_one_line_without_timings(capsys):
    bar = StaticBar(100, "2 inits")
    for _ in range(4):
        bar.update(25)
    bar.set_postfix({"val": "2.1000..2.2000"}, refresh=False)
    bar.close()
    bar.close()  # closing twice prints once
    assert capsys.readouterr().out == "2 inits: 100/100 steps, val=2.1000..2.2000\n"


def test_progress_bar_is_static_in_the_book_and_tqdm_otherwise(monkeypatch):
    monkeypatch.setenv("TNN_STATIC_PROGRESS", "1")
    assert isinstance(progress_bar(10, "x"), StaticBar)
    monkeypatch.setenv("TNN_STATIC_PROGRESS", "0")
    bar = progress_bar(10, "x")
    assert not isinstance(bar, StaticBar)
    bar.close()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_output_names_the_machine_it_ran_on(path):
    # a path of this clone or of an environment would make the file differ in another folder
    text = path.read_text()
    assert str(ROOT) not in text, f"{path.name} names {ROOT}: re-execute it with the executor"
    assert "/site-packages/" not in text and "/home/" not in text and "/root/" not in text
