"""Seeds and the run-length budget switch.

Two things every notebook does at the top:

- ``set_seed(seed)`` seeds Python's ``random``, NumPy and PyTorch, so that two
  executions of a notebook print the same text. Library code never calls it: functions
  that draw random numbers take a ``seed=`` or ``generator=`` argument instead.
- ``budget()`` reads the environment variable ``TNN_BUDGET`` that says how long
  trainings run: ``smoke`` (a few steps, to check that the code runs), ``default``
  (what the published site shows) or ``full`` (lecture-length runs). Chapters ask
  ``by_budget(smoke=..., default=..., full=...)`` for their step counts.

A third thing makes the printed text the same on every x86-64 machine, not only on the one
that executed the notebooks: :data:`EXECUTION_ENV`, the one definition of the numeric
environment that ``scripts/execute_notebooks.py``, the nbval stage of ``make test`` (through
the repository's ``conftest.py``) and the notebooks' setup cell (:func:`pin_numerics`) give
the kernel before it imports torch or NumPy. Why each setting is there:

- ``ATEN_CPU_CAPABILITY=avx2``: torch picks its vectorised kernels (sums, tanh, exp) by CPU;
  AVX-512 and the no-SIMD ``default`` kernels round differently. AVX2 is on every x86-64 CPU
  since 2013 (Intel Haswell, AMD Excavator/Zen).
- ``MKL_CBWR=AVX2,STRICT``: MKL (torch's matrix products) picks its code path by CPU too;
  conditional numerical reproducibility fixes it to the AVX2 path, also on AMD CPUs.
- ``ONEDNN_MAX_CPU_ISA=AVX2`` (and the older name ``DNNL_MAX_CPU_ISA``): the same for oneDNN.
- ``OPENBLAS_CORETYPE=Haswell``: NumPy's OpenBLAS picks its kernel by CPU; Haswell is AVX2.
- ``NPY_DISABLE_CPU_FEATURES=X86_V4``: NumPy's own AVX-512 loops (float32 ``log1p``,
  ``expm1``, ``arctan``) round differently from its AVX2 ones.
- one thread everywhere (``OMP_NUM_THREADS``, ``MKL_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``):
  a reduction split over two threads adds in another order. The course's tensors are small,
  so one thread costs little (measured in the closing note of the issue that introduced it).
- ``TNN_STATIC_PROGRESS=1``: progress bars print one final text line without timings
  instead of a live widget (:func:`utils.progress.progress_bar`), so that executing a
  notebook twice writes the same file.

Where it holds: x86-64 CPUs with AVX2 (Linux, Windows, Intel Macs) with the pinned versions
of ``requirements.txt``. Elsewhere (ARM laptops and Apple silicon, other torch or NumPy
versions, GPUs) the notebooks run and every check in them passes, but printed digits beyond a
cell's stated tolerance may differ.

Left out on purpose: ``torch.use_deterministic_algorithms`` (everything in the course
runs on the CPU, where the kernels we use are already deterministic; on a GPU, seeded
runs may still differ in the last digits).
"""

from __future__ import annotations

import os
import random
import sys
import warnings
from typing import TypeVar

BUDGET_ENV = "TNN_BUDGET"
BUDGETS = ("smoke", "default", "full")

#: The execution environment every notebook runs in when it is executed for the book or
#: validated (see the module docstring for why each entry is there). Set before torch and
#: NumPy are imported; they read these variables once, at import.
EXECUTION_ENV = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_CBWR": "AVX2,STRICT",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "DNNL_MAX_CPU_ISA": "AVX2",
    "OPENBLAS_CORETYPE": "Haswell",
    "NPY_DISABLE_CPU_FEATURES": "X86_V4",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "TNN_STATIC_PROGRESS": "1",
}
#: What torch reports inside a kernel that runs under :data:`EXECUTION_ENV` on an AVX2 CPU.
EXPECTED_TORCH = {"cpu_capability": "AVX2", "num_threads": 1}

# the variables that must be in place before these modules are imported
_READ_AT_IMPORT = ("torch", "numpy")


def pin_numerics(environ=None) -> None:
    """Put :data:`EXECUTION_ENV` into ``environ`` (default ``os.environ``).

    Call it before anything imports torch or NumPy (the notebooks' setup cell does). If
    torch or NumPy is already imported in this process, its settings cannot change any
    more: a warning says to restart the kernel, and the variables are set all the same (for
    the processes this one starts).
    """
    environ = os.environ if environ is None else environ
    changed = [k for k, v in EXECUTION_ENV.items() if environ.get(k) != v]
    environ.update(EXECUTION_ENV)
    if changed and environ is os.environ:
        late = [m for m in _READ_AT_IMPORT if m in sys.modules]
        if late:
            warnings.warn(
                f"{' and '.join(late)} were imported before the course's numeric environment "
                f"was set ({', '.join(changed)}); restart the kernel and run the setup cell "
                "first to print exactly the book's numbers", stacklevel=2)


def numeric_environment() -> dict:
    """The numeric environment this process really runs in: the variables of
    :data:`EXECUTION_ENV` as they are set here, what torch reports, and the versions.

    ``scripts/execute_notebooks.py`` stores this in each notebook's metadata
    (``tnn_execution.environment``); a test compares it with :func:`expected_environment`.
    """
    import numpy as np
    import torch

    return {
        "env": {k: os.environ.get(k) for k in EXECUTION_ENV},
        "torch": {"version": torch.__version__,
                  "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                  "num_threads": torch.get_num_threads()},
        "numpy": np.__version__,
    }


def expected_environment(torch_version: str, numpy_version: str) -> dict:
    """What :func:`numeric_environment` returns in a kernel under :data:`EXECUTION_ENV`."""
    return {"env": dict(EXECUTION_ENV),
            "torch": {"version": torch_version, **EXPECTED_TORCH},
            "numpy": numpy_version}

T = TypeVar("T")


def set_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and PyTorch (CPU and CUDA).

    Args:
        seed: a non-negative integer.

    Example:
        >>> set_seed(0); a = torch.rand(2)
        >>> set_seed(0); b = torch.rand(2)
        >>> bool((a == b).all())
        True
    """
    if isinstance(seed, bool) or not (isinstance(seed, int) or hasattr(seed, "__index__")):
        raise TypeError(f"set_seed expects an int, got {type(seed).__name__} ({seed!r})")
    if not 0 <= seed < 2**32:
        raise ValueError(f"set_seed expects 0 <= seed < 2**32, got {seed}")
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def budget() -> str:
    """The run-length budget chosen by ``$TNN_BUDGET``: 'smoke', 'default' (unset) or 'full'."""
    value = os.environ.get(BUDGET_ENV, "").strip().lower() or "default"
    if value not in BUDGETS:
        raise ValueError(
            f"{BUDGET_ENV} must be one of {', '.join(BUDGETS)} (or unset for 'default'), "
            f"got {os.environ[BUDGET_ENV]!r}"
        )
    return value


def by_budget(*, smoke: T, default: T, full: T) -> T:
    """Pick the value for the current budget, e.g. ``steps = by_budget(smoke=50, default=5_000, full=200_000)``."""
    return {"smoke": smoke, "default": default, "full": full}[budget()]
