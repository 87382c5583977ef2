"""Checkers for the exercises of each chapter, one module per chapter, and their registry.

Each checker takes the student's answer (usually a function), runs it on fixed inputs, and
compares the result with an independent reference (PyTorch wherever PyTorch has the
operation) through :mod:`utils.checks`, naming the chapter's typical mistakes in its hints.

Every checker is registered with :func:`exercise`, which records the page that asks the
exercise and the name of the answer the student writes. The registry (:func:`registry`) is
what the generic tests walk (``tests/test_exercises.py``: the reference solution in
``tests/solutions/<module>.py`` passes, every stub form is "not attempted", every mistake
the checker declares is caught with its own hint), what the solutions shown on each page are
checked against (``tests/test_solutions_shown.py``), and what
``scripts/new_exercise.py`` extends. The recipe for adding an exercise is the book's page
"Adding an exercise" (``chapters/adding_exercises.md``).

The checkers print their report, raise ``AssertionError`` on a wrong answer (nothing else,
whatever the answer), and return an :class:`Outcome` (exercise, status, points, message)
that a grader can collect (:func:`grading`); in a notebook it adds nothing to the printed
report. What each exercise is worth is :data:`POINTS`.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for the annotation: torch is imported when a generator is made
    import torch

__all__ = ["Exercise", "Outcome", "exercise", "registry", "grading", "hidden_seed",
           "hidden_generator", "hidden_case_seed", "MODULES", "POINTS"]

#: Points per exercise id (``"<module>.<checker>"``); every other exercise is worth 1. The one
#: place to change what an exercise is worth.
POINTS: dict[str, float] = {
    "hw1.check_backward": 2, "hw1.check_two_layer_gradients": 2,
    "hw2.check_manual_backward": 4, "hw2.check_dhprebn_fused": 2, "hw2.check_backward_pass": 2,
}

#: the chapter modules, in the book's order
MODULES = ("tools", "backprop", "hw1", "boolean", "optim", "init", "batchnorm", "hw2", "regularization")


#: The environment variable with the instructor's hidden-case seed (the grader sets it).
HIDDEN_SEED_ENV = "TNN_HIDDEN_SEED"


def hidden_seed() -> int:
    """The instructor's hidden-case seed: ``$TNN_HIDDEN_SEED`` as an integer, 0 when unset
    (the public cases, which the pages print). ``python -m utils.grade --seed`` sets it."""
    text = os.environ.get(HIDDEN_SEED_ENV, "").strip()
    try:
        return int(text) if text else 0
    except ValueError:
        raise ValueError(f"${HIDDEN_SEED_ENV} must be an integer seed, got {text!r}") from None


def hidden_case_seed(offset: int) -> int:
    """The integer seed of one checker's hidden cases (``offset`` tells the checkers apart):
    ``offset`` itself under the public seed 0, a mix of ``offset`` and :func:`hidden_seed`
    otherwise. For numpy: ``np.random.default_rng(hidden_case_seed(6))``."""
    seed = hidden_seed()
    return offset if seed == 0 else (seed * 1_000_003 + offset) % 2**62


def hidden_generator(offset: int) -> "torch.Generator":
    """A seeded ``torch.Generator`` for one checker's hidden cases (``offset`` tells the
    checkers apart): seeded with ``offset`` itself under the public seed 0, and with a mix
    of ``offset`` and :func:`hidden_seed` otherwise, so that an instructor's seed changes
    every checker's hidden cases and students cannot tune to the published ones."""
    import torch

    return torch.Generator().manual_seed(hidden_case_seed(offset))


def _not_yet(*args, **kwargs):
    raise NotImplementedError


def _not_yet_with_a_message(*args, **kwargs):
    raise NotImplementedError("write this function")


@dataclass(frozen=True)
class Exercise:
    """One registered exercise.

    Attributes:
        checker: the function the notebook calls, e.g. ``check_momentum_step``.
        page: the notebook (file stem) that asks it, e.g. ``"03_optimizers"``.
        answer: what the student writes: a function's name (``"momentum_step"``), or the
            name of the reference value in ``tests/solutions/<module>.py`` (``"NAND"``).
        spread: the reference value is a tuple of the checker's arguments (e.g. weights
            and bias), not one argument.
        stubs: the untouched forms of the answer, each a tuple of the checker's arguments;
            each must be reported as "not attempted yet".
        graded: the page is graded homework: it shows no solution.
    """

    checker: Callable
    page: str
    answer: str
    spread: bool = False
    stubs: tuple = ((_not_yet,), (_not_yet_with_a_message,))
    graded: bool = False

    @property
    def module(self) -> str:
        """The chapter module's short name, e.g. ``"optim"`` (also that of its solutions)."""
        return self.checker.__module__.rsplit(".", 1)[1]

    @property
    def id(self) -> str:
        return f"{self.module}.{self.checker.__name__}"

    @property
    def points(self) -> float:
        """What the exercise is worth: its entry in :data:`POINTS`, else 1."""
        return POINTS.get(self.id, 1)


@dataclass
class Outcome:
    """What one checker call found: ``status`` is ``"passed"``, ``"failed"`` or ``"not
    attempted"``; ``message`` holds the lines the checker printed and, on a failure, its
    explanation and hint. True when passed. In a notebook it shows nothing more: the
    checker has already printed its lines."""

    exercise: str
    status: str
    points: float
    possible: float
    message: str

    def __bool__(self) -> bool:
        return self.status == "passed"

    def __repr__(self) -> str:
        return f"{self.exercise}: {self.status} ({self.points:g} of {self.possible:g} points)"

    def _ipython_display_(self) -> None:
        """Nothing: the report is already on the screen."""


class _Tee(io.StringIO):
    """Keeps what is printed and passes it on."""

    def __init__(self, out) -> None:
        super().__init__()
        self.out = out

    def write(self, text: str) -> int:
        self.out.write(text)
        return super().write(text)


_GRADING: list[bool] = []


@contextlib.contextmanager
def grading() -> Iterator[None]:
    """Inside, a checker returns a failed :class:`Outcome` instead of raising, so that a
    grader can collect every exercise's result."""
    _GRADING.append(True)
    try:
        yield
    finally:
        _GRADING.pop()


def _run(checker: Callable, entry: Exercise, answer: tuple) -> Outcome:
    exercise_id, possible = entry.id, entry.points
    tee = _Tee(sys.stdout)
    failure = None
    with contextlib.redirect_stdout(tee):
        try:
            checker(*answer)
        except AssertionError as err:
            failure = str(err)
        except Exception as err:  # noqa: BLE001 - odd input the checker could not read
            failure = (f"{checker.__name__}: {type(err).__name__}: {err}\n(raised while "
                       "checking your answer).\nHint: run your answer yourself on a small "
                       "example, and check that it is the kind of value the exercise asks "
                       "for (its type, shape and dtype).")
    lines = [line for line in tee.getvalue().splitlines() if line.strip()]
    if failure is not None:
        outcome = Outcome(exercise_id, "failed", 0, possible, "\n".join(lines + [failure]))
        if not _GRADING:
            raise AssertionError(failure) from None
        return outcome
    waiting = bool(lines) and all(line.endswith("not attempted yet") for line in lines)
    missing = [line for line in lines if line.endswith("not attempted yet")]
    if missing and not waiting:  # e.g. `return dW, None`: a written answer with a part left out
        names = ", ".join(line.rsplit(" | ", 1)[0] for line in missing)
        failure = (f"{len(missing)} of {len(lines)} parts of your answer are missing ({names}): "
                   "None or ... where a value belongs.\nHint: compute and return every part the "
                   "exercise asks for.")
        if not _GRADING:
            raise AssertionError(failure)
        return Outcome(exercise_id, "failed", 0, possible, "\n".join(lines + [failure]))
    return Outcome(exercise_id, "not attempted" if waiting else "passed",
                   0 if waiting else possible, possible, "\n".join(lines))


_REGISTRY: dict[str, Exercise] = {}


def exercise(page: str, answer: str, **options) -> Callable[[Callable], Callable]:
    """Register the decorated checker as the exercise ``answer`` of the notebook ``page``.

    Args:
        page: the notebook's file stem, e.g. ``"03_optimizers"``.
        answer: the name the student's answer has (see :class:`Exercise`).
        options: ``spread``, ``stubs``, ``graded`` (see :class:`Exercise`).

    The checker is returned wrapped: it prints its lines as before and returns an
    :class:`Outcome`; it raises only ``AssertionError`` (an odd answer that the checker
    itself cannot read becomes one too), and inside :func:`grading` not even that.
    """
    def register(checker: Callable) -> Callable:
        @functools.wraps(checker)  # the wrapper keeps the checker's name and module
        def run(*answer) -> Outcome:
            return _run(checker, entry, answer)

        entry = Exercise(run, page, answer, **options)
        _REGISTRY[entry.id] = entry
        return run
    return register


def registry() -> list[Exercise]:
    """Every registered exercise, chapter module by chapter module, in definition order."""
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}")
    order = {name: i for i, name in enumerate(MODULES)}
    return sorted(_REGISTRY.values(), key=lambda e: order.get(e.module, len(order)))
