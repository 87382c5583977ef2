"""Backprop chapter's checkers: what is special. The reference solutions, the stubs and the
mistakes each checker declares are tested generically in tests/test_exercises.py."""

import pytest

from solutions import backprop as solution
from utils.exercises.backprop import check_central_difference, check_logistic_gradient, check_sigmoid_backward


def test_sigmoid_backward_in_float32_is_not_close_enough():
    with pytest.raises(AssertionError):  # float32 rounding is far above atol=1e-12
        check_sigmoid_backward(lambda a: solution.sigmoid_backward(a).float())


def test_a_doubled_logistic_gradient_gets_the_factor_hint():
    with pytest.raises(AssertionError, match="factor"):
        check_logistic_gradient(lambda t, x, ys: 2 * solution.logistic_gradient(t, x, ys))


def test_central_difference_with_too_large_a_step_fails():
    with pytest.raises(AssertionError):
        check_central_difference(lambda f, x, h: solution.central_difference(f, x, 1e-1))
