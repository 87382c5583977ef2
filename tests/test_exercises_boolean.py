"""Checkers of the Boolean-capacity chapter: what the generic tests cannot plant.

The answers of this chapter are values (weights, half-planes, a prediction) or a function
that returns a circuit, so the generic tests of ``test_exercises.py`` do not plant their
mistakes; here each mistake the checker declares (``*_MISTAKES`` in
``utils.exercises.boolean``) is planted and must get its own hint. Odd inputs (tensors that
require grad, an ``nn.Linear``, a bias given as a list, numpy scalars) are accepted or
rejected with a clear message.
"""

import numpy as np
import pytest
import torch

from solutions import boolean as solution
from utils.boolean import Perceptron, ThresholdCircuit
from utils.exercises import boolean as ex

PLANTED = [(ex.check_committee, ex.COMMITTEE_MISTAKES), (ex.check_exactly, ex.EXACTLY_MISTAKES),
           (ex.check_dnf_units, ex.DNF_UNITS_MISTAKES), (ex.check_triangle, ex.TRIANGLE_MISTAKES),
           (ex.check_l_shape, ex.L_SHAPE_MISTAKES)]
CASES = [(checker, label, wrong) for checker, mistakes in PLANTED for label, wrong in mistakes.items()]


def test_every_exercise_plants_at_least_five_mistakes():
    for checker, mistakes in PLANTED:
        assert len(mistakes) >= 5, checker.__name__


@pytest.mark.parametrize("checker, label, wrong", CASES,
                         ids=[f"{c.__name__}: {label[:40]}" for c, label, _ in CASES])
def test_every_planted_mistake_gets_its_own_hint(checker, label, wrong, capsys):
    with pytest.raises(AssertionError) as error:
        checker(wrong)
    assert label in str(error.value), f"{label!r} got another hint:\n{error.value}"


def _veto_of_n(k, n):  # ties only for k = 0, with every input on
    c = ThresholdCircuit(n)
    h = c.add(dict.fromkeys(range(n), 1), -(k + 1))
    c.add({**dict.fromkeys(range(n), 1), h: -n}, -k)
    return c


def test_hidden_cases_catch_what_the_shown_case_hides(capsys):
    """The weights copied from the page's XOR network, a fixed input size and a veto that
    ties at k = 0 only all pass exactly(1, 2) and fail a hidden case, which the message names."""
    for mistake in (ex._mistake_weak_veto, _veto_of_n, ex._mistake_fixed_size):
        with pytest.raises(AssertionError, match="hidden case") as error:
            ex.check_exactly(mistake)
        assert "exactly(k=1, n=2) | right on all 4 inputs" in capsys.readouterr().out
    assert "a tie" in str(error.value) or mistake is ex._mistake_fixed_size


def test_triangle_probes_lie_near_every_edge():
    points, _ = ex._probes(ex.TRIANGLE, seed=3)
    d = ex._distance(points, ex.TRIANGLE)
    assert d.min() < 2e-3 and (d >= 5e-4).all()
    # an edge moved by less than a hundredth is caught
    for nudged in ([(1, 0, 0), (0, 1, 0), (-1, -2, 2.01)], [(1, 0, 0.005), (0, 1, 0), (-1, -2, 2)]):
        with pytest.raises(AssertionError, match="probe points are classified differently"):
            ex.check_triangle(nudged)


def test_scaled_and_reordered_answers_pass(capsys):
    assert ex.check_triangle([(0, 3, 0), (-0.5, -1, 1), (2, 0, 0)])
    assert ex.check_committee(((4, 2, 2), -3))  # away from the tie
    assert ex.check_l_shape([solution.l_shape[1], solution.l_shape[0],
                             [(1, 0, 0), (-1, 0, 1), (0, 1, 0), (0, -1, 1)]])  # a third piece


def _linear(weight, bias):
    layer = torch.nn.Linear(3, 1)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([weight], dtype=torch.float32))
        layer.bias.fill_(bias)
    return layer


@pytest.mark.parametrize("answer", [
    _linear((2, 1, 1), -2),                                            # an nn.Linear itself
    (_linear((2, 1, 1), -2).weight, [-2]),                             # (1, 3) weight with grad, list bias
    (torch.tensor([2.0, 1, 1], requires_grad=True), torch.tensor([-2.0])),
    (np.array([2, 1, 1]), np.int64(-2)),
    ([2, 1, 1], -2.0),
], ids=["nn.Linear", "its weight and a list bias", "tensors with grad", "numpy", "list"])
def test_committee_accepts_weights_in_any_reasonable_form(answer, capsys):
    assert ex.check_committee(answer)


@pytest.mark.parametrize("answer, message", [
    (((2, 1), -2), "expected 3 weights"),
    (((2, 1, 1), [-2, 0]), "the bias is one number"),
    (((2, 1, 1), None), "the bias is still missing"),
    (((2, 1, float("nan")), -2), "finite numbers"),
    ((("a", "b", "c"), -2), "expected numbers"),
    ((torch.tensor([2, 1, 1j]), -2), "real numbers"),
    ("softmax", "expected a pair"),
    (42, "expected a pair"),
    (torch.nn.Linear(3, 1, bias=False), "has no bias"),
    (torch.nn.Linear(2, 1), "expected 3 weights"),
])
def test_committee_rejects_odd_answers_clearly(answer, message, capsys):
    with pytest.raises(AssertionError, match=message):
        ex.check_committee(answer)


@pytest.mark.parametrize("answer, message", [
    (42, "expected a function"),
    (lambda k, n: "text", "expected a ThresholdCircuit"),
    (lambda k, n: None, "forget `return`"),
    (lambda k, n: 1 / 0, "raised ZeroDivisionError"),
])
def test_exactly_rejects_odd_answers_clearly(answer, message, capsys):
    with pytest.raises(AssertionError, match=message):
        ex.check_exactly(answer)


def test_exactly_reads_a_perceptron_as_a_one_unit_circuit(capsys):
    with pytest.raises(AssertionError, match="k ones or MORE"):
        ex.check_exactly(lambda k, n: Perceptron((1,) * n, -k))


def test_exactly_names_a_circuit_with_two_outputs(capsys):
    def two_outputs(k, n):
        c = solution.exactly(k, n)
        c.outputs = (n, n + 1)
        return c
    with pytest.raises(AssertionError, match="2 outputs, expected one"):
        ex.check_exactly(two_outputs)


@pytest.mark.parametrize("checker", [ex.check_triangle, ex.check_l_shape])
@pytest.mark.parametrize("answer, message", [
    (42, r"shape \(m, 3\)"),
    ([(1, 0), (0, 1, 0), (-1, -2, 2)], "rows of different lengths"),
    ([(1, 0, 0), "x"], "expected numbers"),
    ([(1, 0, 0), (0, 1, 0), (-1, -2, float("inf"))], "finite numbers"),
])
def test_regions_reject_odd_answers_clearly(checker, answer, message, capsys):
    with pytest.raises(AssertionError, match=message):
        checker(answer)


def test_regions_accept_tensors_that_require_grad(capsys):
    assert ex.check_triangle(torch.tensor(solution.triangle, dtype=torch.float32,
                                          requires_grad=True))
    assert ex.check_triangle([torch.tensor([1.0, 0, 0], requires_grad=True), (0, 1, 0),
                              np.array([-1, -2, 2])])
    assert ex.check_l_shape(np.array(solution.l_shape))
    assert ex.check_l_shape([torch.tensor(p, dtype=torch.float64, requires_grad=True)
                             for p in solution.l_shape])


@pytest.mark.parametrize("prediction, message", [("57", "cannot be read"), ([57, 58], "cannot be read"),
                                                 (float("nan"), "cannot be read")])
def test_the_prediction_rejects_what_is_not_one_number(prediction, message, capsys):
    with pytest.raises(AssertionError, match=message):
        ex.check_dnf_units(prediction)
