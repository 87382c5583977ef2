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

The checkers print their report and raise on a wrong answer; they return ``None``, so that
a checker call as the last line of a cell shows only the report. (``utils.checks`` itself
returns ``True``/``False`` for use in code.)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Exercise", "exercise", "registry", "MODULES"]

#: the chapter modules, in the book's order
MODULES = ("tools", "backprop", "hw1", "boolean", "optim", "init", "batchnorm", "regularization")


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


_REGISTRY: dict[str, Exercise] = {}


def exercise(page: str, answer: str, **options) -> Callable[[Callable], Callable]:
    """Register the decorated checker as the exercise ``answer`` of the notebook ``page``.

    Args:
        page: the notebook's file stem, e.g. ``"03_optimizers"``.
        answer: the name the student's answer has (see :class:`Exercise`).
        options: ``spread``, ``stubs``, ``graded`` (see :class:`Exercise`).

    The checker itself is returned unchanged.
    """
    def register(checker: Callable) -> Callable:
        entry = Exercise(checker, page, answer, **options)
        _REGISTRY[entry.id] = entry
        return checker
    return register


def registry() -> list[Exercise]:
    """Every registered exercise, chapter module by chapter module, in definition order."""
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}")
    order = {name: i for i, name in enumerate(MODULES)}
    return sorted(_REGISTRY.values(), key=lambda e: order.get(e.module, len(order)))
