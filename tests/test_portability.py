"""Portability of the committed outputs, proven on one machine (the 'portability' stage).

A teacher's CI runs on another CPU than the machine that executed the notebooks. What differs
between machines is what torch, MKL, OpenBLAS and NumPy choose by CPU (vectorised kernels,
code paths) and how many threads reduce a sum. This machine can imitate those differences
through the same variables that select them (torch's natural kernels ``default``, ``avx2``,
``avx512``; one or two threads), so:

1. a probe notebook made of the course's own computations (a training run of the engine, a
   matrix product, NumPy's and torch's vectorised functions) prints different digits under
   those host conditions when nothing is pinned: the probe is sensitive;
2. executed by scripts/execute_notebooks.py under each host condition, it prints exactly the
   same text: the pinning (utils.reproducibility.EXECUTION_ENV) neutralises them;
3. executing committed notebooks again writes the same file, byte for byte apart from the
   execution timings, and the executor leaves the committed file untouched (so `make book`
   keeps a clone clean).
"""

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import CHAPTERS, ROOT
from utils.reproducibility import EXECUTION_ENV

pytestmark = pytest.mark.portability

EXECUTOR = ROOT / "scripts" / "execute_notebooks.py"
HOST_CONDITIONS = [(cap, threads) for cap in ("default", "avx2", "avx512") for threads in (1, 2)]

PROBE_CELLS = [
    # the course's engine on a synthetic names-like task: 300 SGD steps, losses to the last bit
    """import numpy as np
import torch
from utils.models import names_mlp
from utils.train import train
g = torch.Generator().manual_seed(0)
X = torch.randint(0, 27, (4000, 3), generator=g)
Y = (X[:, 0] * 7 + X[:, 2]) % 27
gens = [torch.Generator().manual_seed(s) for s in (1, 2)]
models = [names_mlp("kaiming", generator=gen) for gen in gens]
run = train(models, X, Y, steps=300, generators=gens, lr=0.1, progress=False)
print([repr(v) for v in run.losses[:, -1].tolist()])""",
    # a float32 matrix product and torch's vectorised tanh, summed
    """a = torch.randn(300, 200, generator=g)
b = torch.randn(200, 100, generator=g)
print(repr((a @ b).sum().item()), repr(torch.tanh(a).sum().item()))""",
    # NumPy's vectorised float32 functions (AVX-512 loops exist for these)
    """x = np.random.default_rng(0).standard_normal(100_000).astype(np.float32)
print(repr(float(np.log1p(np.abs(x)).sum(dtype=np.float64))), repr(float(np.arctan(x).sum(dtype=np.float64))))""",
]


def _probe(path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in PROBE_CELLS]
    nbformat.write(nb, path)
    return path


def _kernel_env():
    """This process's environment without what tests/conftest.py sets for the tests
    themselves (MPLBACKEND=Agg would stop the kernels from showing figures)."""
    return {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}


def _host_env(cap, threads):
    env = {k: v for k, v in _kernel_env().items() if k not in EXECUTION_ENV}
    env.update(ATEN_CPU_CAPABILITY=cap, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    return env


def _texts(nb):
    return [o.get("text", "") for c in nb.cells for o in c.outputs]


def _run_unpinned(path, cap, threads):
    """The probe under the host condition alone, as a plain nbclient run would execute it."""
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(_host_env(cap, threads))
        nb = nbformat.read(path, as_version=4)
        NotebookClient(nb, timeout=120, startup_timeout=60, kernel_name="python3").execute()
        return _texts(nb)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _run_executor(path, out_dir, cap, threads):
    out = out_dir / f"{cap}-{threads}"
    subprocess.run([sys.executable, str(EXECUTOR), "--output-dir", str(out), str(path)],
                   env=_host_env(cap, threads), check=True, capture_output=True, timeout=300)
    return _texts(nbformat.read(out / path.name, as_version=4))


def test_probe_is_sensitive_to_the_host_when_nothing_is_pinned(tmp_path):
    probe = _probe(tmp_path / "probe.ipynb")
    outputs = {cond: _run_unpinned(probe, *cond) for cond in [("default", 1), ("avx512", 1), ("avx512", 2)]}
    assert len({json.dumps(v) for v in outputs.values()}) == 3, (
        "the probe should print different digits under these host conditions; if it does not, "
        f"it proves nothing: {outputs}")


def test_executor_prints_the_same_text_under_every_host_condition(tmp_path):
    probe = _probe(tmp_path / "probe.ipynb")
    with ThreadPoolExecutor(2) as pool:
        results = dict(zip(HOST_CONDITIONS, pool.map(
            lambda cond: _run_executor(probe, tmp_path, *cond), HOST_CONDITIONS)))
    reference = results[("avx2", 1)]
    assert all(len(t) > 0 for t in reference)
    for cond, texts in results.items():
        assert texts == reference, f"host condition {cond} changed the output: {texts} vs {reference}"


def _without_timings(path):
    """The file's bytes without the lines of the execution record that hold timings."""
    timing = re.compile(rb'^ *"(executed_at|runtime_s|peak_memory_mb|machine)": .*\n', re.M)
    return timing.sub(b"", path.read_bytes())


@pytest.mark.parametrize("name", ["hw1_single_layer", "00_tools"])
def test_executing_a_committed_notebook_again_writes_the_same_file(tmp_path, name):
    committed = CHAPTERS / f"{name}.ipynb"
    before = committed.read_bytes()
    out = subprocess.run([sys.executable, str(EXECUTOR), "--output-dir", str(tmp_path), str(committed)],
                         capture_output=True, text=True, timeout=300, env=_kernel_env())
    assert out.returncode == 0, out.stderr[-3000:]
    assert "outputs unchanged" in out.stdout, out.stdout
    assert committed.read_bytes() == before
    fresh = tmp_path / committed.name
    if name == "hw1_single_layer":  # no cell prints a timing: the whole file is the same
        assert _without_timings(fresh) == _without_timings(committed)
