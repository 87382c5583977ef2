"""Seeds and the run-length budget switch.

Two things every notebook does at the top:

- ``set_seed(seed)`` seeds Python's ``random``, NumPy and PyTorch, so that two
  executions of a notebook print the same text. Library code never calls it: functions
  that draw random numbers take a ``seed=`` or ``generator=`` argument instead.
- ``budget()`` reads the environment variable ``TNN_BUDGET`` that says how long
  trainings run: ``smoke`` (a few steps, to check that the code runs), ``default``
  (what the published site shows) or ``full`` (lecture-length runs). Chapters ask
  ``by_budget(smoke=..., default=..., full=...)`` for their step counts.

Left out on purpose: ``torch.use_deterministic_algorithms`` (everything in the course
runs on the CPU, where the kernels we use are already deterministic; on a GPU, seeded
runs may still differ in the last digits).
"""

from __future__ import annotations

import os
import random
from typing import TypeVar

import numpy as np
import torch

BUDGET_ENV = "TNN_BUDGET"
BUDGETS = ("smoke", "default", "full")

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
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"set_seed expects an int, got {type(seed).__name__} ({seed!r})")
    if not 0 <= seed < 2**32:
        raise ValueError(f"set_seed expects 0 <= seed < 2**32, got {seed}")
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
