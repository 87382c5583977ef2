"""Every notebook runs when opened alone, as on Colab (the 'standalone' stage).

On Colab a student opens one notebook; nothing of the repository is there, and the setup
cell's `pip install` of the course package is all the notebook has. This test builds that
situation without a network:

- the package is built as pip builds it (a wheel of the repository) and installed into a
  throwaway environment of its own: a new virtual environment whose only view of the pinned
  third-party packages (torch, numpy, ...) is a path to the course environment's
  site-packages; the course environment's editable install of `utils` is not active there,
  and the repository is on no path;
- each notebook listed in _toc.yml is copied alone into an empty folder and executed top to
  bottom by scripts/execute_notebooks.py (its timeouts apply) in a kernel of that
  environment, at the smoke budget, with the names data in a cache
  folder as a download leaves it;
- the kernel reports where it imported `utils` from: the throwaway environment, never the
  repository.

The setup cell finds the wheel's `utils` of the notebook's release and installs nothing.
"""

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
import yaml

from conftest import ROOT

EXECUTOR = ROOT / "scripts" / "execute_notebooks.py"
from utils.data import cache_dir

pytestmark = pytest.mark.standalone

TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
NOTEBOOKS = [ROOT / f"{ch['file']}.ipynb" for part in TOC["parts"] for ch in part["chapters"]
             if (ROOT / f"{ch['file']}.ipynb").exists()]
# where the kernel imported utils from, and whether any path of the repository outside the
# course environment (.venv, which holds the pinned third-party packages) is on sys.path
WHERE = ("import os, sys, utils; print(utils.__file__); "
         f"print(any(os.path.realpath(p or '.').startswith({str(ROOT)!r}) and not "
         f"os.path.realpath(p).startswith({str(ROOT / '.venv')!r}) for p in sys.path))")


@pytest.fixture(scope="module")
def standalone_env(tmp_path_factory):
    base = tmp_path_factory.mktemp("standalone")
    wheels, source = base / "wheels", base / "source"
    # build from a copy of what the package is made of, so no build/ folder lands in the clone
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "utils", source / "utils",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "--quiet", "-w", str(wheels), str(source)], check=True, timeout=300)
    wheel = next(wheels.glob("tnn_course_utils-*.whl"))
    env_dir = base / "env"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # the pinned third-party packages, as a plain path: .pth files there (the editable
    # install of utils) are not processed for a directory added this way
    (site / "course-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet",
                    "--target", str(site), str(wheel)], check=True, timeout=300)
    kernels = base / "jupyter" / "kernels" / "python3"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (standalone)", "language": "python"}))
    data = base / "data"
    data.mkdir()
    shutil.copy(cache_dir() / "names.txt", data / "names.txt")
    return {"base": base, "site": site, "jupyter": base / "jupyter", "data": data}


def _run_alone(notebook: Path, env_info, env) -> tuple[str, str | None, list[str]]:
    """Copy the notebook alone into an empty folder (with one cell added at the end that
    reports where utils came from) and execute it with scripts/execute_notebooks.py, whose
    kernel is the throwaway environment's (JUPYTER_PATH)."""
    folder = env_info["base"] / "runs" / notebook.stem
    folder.mkdir(parents=True)
    copy = folder / notebook.name
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(WHERE))
    nbformat.write(nb, copy)
    out = subprocess.run([sys.executable, str(EXECUTOR), "--output-dir", str(folder / "out"), str(copy)],
                         env=env, capture_output=True, text=True, timeout=400)
    if out.returncode != 0:
        return notebook.name, (out.stdout + out.stderr)[-3000:], []
    done = nbformat.read(folder / "out" / notebook.name, as_version=4)
    lines = done.cells[-1].outputs[0]["text"].split() if done.cells[-1].outputs else []
    return notebook.name, None, lines


def test_every_notebook_runs_alone_from_the_wheel(standalone_env):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "MPLBACKEND")}
    env.update(JUPYTER_PATH=str(standalone_env["jupyter"]), TNN_BUDGET="smoke",
               TNN_DATA_DIR=str(standalone_env["data"]))
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda nb: _run_alone(nb, standalone_env, env), NOTEBOOKS))
    failures = [f"{name}: {error}" for name, error, _ in results if error]
    assert not failures, "\n\n".join(failures)
    for name, _, (utils_file, repo_on_path) in results:
        assert utils_file.startswith(str(standalone_env["site"])), f"{name} imported utils from {utils_file}"
        assert repo_on_path == "False", f"{name}: the repository was on sys.path"
    assert len(results) == len(NOTEBOOKS) >= 8
