"""Every registered exercise (``utils.exercises.registry()``), one parametrised test each:

- the reference solution in ``tests/solutions/<module>.py`` passes (every line the checker
  prints says ``close: True`` or ``ok``);
- every untouched stub form is "not attempted yet" (every line says so, nothing is raised);
- every mistake the checker declares as a wrong function (``check_function``'s
  ``mistakes``), run as if a student had written it, is caught with its own hint.

No hand-kept counts of lines or lists of exercises: a new exercise registered with
``@exercise(...)`` (``scripts/new_exercise.py`` writes one) is picked up here. What is
special about one exercise (mistakes given as values, odd inputs) stays in
``tests/test_exercises_<chapter>.py``.
"""

import importlib
import os

import pytest
import torch

from utils.checks import declared_mistakes
from utils.exercises import MODULES, grading, registry

# $TNN_ONLY_EXERCISES (ids, comma-separated) narrows the collection to those exercises: the
# scaffold's end-to-end test (tests/test_new_exercise.py) uses it for the one it creates.
_ONLY = {i for i in os.environ.get("TNN_ONLY_EXERCISES", "").split(",") if i}
EXERCISES = [e for e in registry() if not _ONLY or e.id in _ONLY]
IDS = [e.id for e in EXERCISES]


def reference_args(entry):
    value = getattr(importlib.import_module(f"solutions.{entry.module}"), entry.answer)
    return tuple(value) if entry.spread else (value,)


def _lines(capsys):
    return [line for line in capsys.readouterr().out.splitlines() if line.strip()]


@pytest.mark.parametrize("entry", EXERCISES, ids=IDS)
def test_the_reference_solution_passes(entry, capsys):
    outcome = entry.checker(*reference_args(entry))
    assert outcome.status == "passed" and outcome.points == outcome.possible > 0, outcome
    lines = _lines(capsys)
    assert lines, f"{entry.id} printed nothing"
    for line in lines:
        assert "close: True" in line or line.rstrip().endswith("| ok"), line


@pytest.mark.parametrize("entry", EXERCISES, ids=IDS)
def test_the_reference_solution_passes_under_an_instructors_hidden_seed(entry, monkeypatch):
    """The grader's ``--seed`` changes the hidden cases' random draws; a right answer passes
    whatever they are."""
    monkeypatch.setenv("TNN_HIDDEN_SEED", "2027")
    outcome = entry.checker(*reference_args(entry))
    assert outcome.status == "passed", outcome


@pytest.mark.parametrize("entry", EXERCISES, ids=IDS)
def test_every_stub_form_is_not_attempted(entry, capsys):
    assert entry.stubs, f"{entry.id} declares no stub form"
    for stub in entry.stubs:
        assert entry.checker(*stub).status == "not attempted"
        lines = _lines(capsys)
        assert lines and all(line.endswith("| not attempted yet") for line in lines), (stub, lines)


def _mistakes(entry):
    """The mistakes the checker declares as the student's own function would be written
    (those it gives check_function together with the student's function itself, not with a
    wrapper that adapts it to several cases)."""
    try:
        answer = reference_args(entry)
        with declared_mistakes() as found:
            entry.checker(*answer)
    except Exception:  # noqa: BLE001 - an unfinished exercise: test_the_reference_solution_passes says why
        return []
    unique = {}
    for label, fn, student in found:  # a checker running several cases declares each per case
        if student is answer[0]:
            unique.setdefault(label, fn)
    return list(unique.items())


MISTAKES = [(entry, label, fn) for entry in EXERCISES for label, fn in _mistakes(entry)]


@pytest.mark.parametrize("entry, label, wrong", MISTAKES,
                         ids=[f"{e.id}: {label[:40]}" for e, label, _ in MISTAKES])
def test_every_declared_mistake_gets_its_own_hint(entry, label, wrong, capsys):
    with pytest.raises(AssertionError) as error:
        entry.checker(wrong)
    assert label in str(error.value), f"{entry.id}: the mistake {label!r} got another hint:\n{error.value}"


@pytest.mark.parametrize("entry", [e for e in EXERCISES if e.answer[0].islower()],
                         ids=[e.id for e in EXERCISES if e.answer[0].islower()])
@pytest.mark.parametrize("odd", ["softmax", 42, lambda *a, **k: "text", lambda *a, **k: [1, 2],
                                 lambda *a, **k: 1 / 0],
                         ids=["a string", "a number", "returns text", "returns a list", "raises"])
def test_odd_answers_get_an_assertion_error_never_anything_else(entry, odd, capsys):
    with pytest.raises(AssertionError):
        entry.checker(odd)
    with grading():
        outcome = entry.checker(odd)
    assert outcome.status == "failed" and outcome.points == 0 and outcome.message


def test_every_checker_of_every_chapter_is_registered():
    registered = {entry.checker for entry in EXERCISES}
    for name in MODULES:
        module = importlib.import_module(f"utils.exercises.{name}")
        checkers = {value for key, value in vars(module).items() if key.startswith("check_")
                    and getattr(value, "__module__", None) == module.__name__}
        assert checkers <= registered, f"not registered with @exercise: {checkers - registered}"


def test_every_exercise_names_a_page_of_the_book_and_a_reference():
    from conftest import CHAPTERS
    for entry in EXERCISES:
        assert (CHAPTERS / f"{entry.page}.ipynb").is_file(), f"{entry.id}: no page {entry.page}"
        reference_args(entry)  # raises if tests/solutions lacks the answer


def test_an_answer_with_a_part_left_out_fails_and_earns_nothing(capsys):
    """`return dW, None` prints a passing line and a "not attempted" one: that is a written
    answer with a part missing, not a pass."""
    from utils.exercises.hw1 import check_backward
    from solutions.hw1 import backward

    def half(X, P, Y):
        return backward(X, P, Y)[0], None

    with pytest.raises(AssertionError, match="parts of your answer are missing"):
        check_backward(half)
    with grading():
        outcome = check_backward(half)
    assert outcome.status == "failed" and outcome.points == 0


def test_an_in_place_stub_is_not_attempted():
    from utils.checks import check_function

    def stub(x):
        raise NotImplementedError

    def reference(x):
        x.mul_(2)

    assert check_function(stub, reference, torch.ones(3), inplace=(0,)) is False
