"""Backprop chapter's checkers: reference solutions pass, each planted mistake gets its hint."""

import pytest
import torch

from solutions import backprop as solution
from utils.exercises.backprop import check_central_difference, check_logistic_gradient, check_sigmoid_backward


@pytest.mark.parametrize("wrong, hint", [
    (lambda a: torch.sigmoid(a) * (1 + torch.sigmoid(a)), r"sigma \* \(1 - sigma\)"),
    (lambda a: torch.exp(-a) / (1 + torch.exp(-a)), "must be squared"),
    (lambda a: torch.sigmoid(a), "sigmoid\\(a\\) itself"),
    (lambda a: solution.sigmoid_backward(a).float(), None),  # float32 is close enough: passes
])
def test_sigmoid_backward_mistakes(wrong, hint, capsys):
    if hint is None:
        with pytest.raises(AssertionError):  # float32 rounding is far above atol=1e-12
            check_sigmoid_backward(wrong)
        return
    with pytest.raises(AssertionError, match=hint):
        check_sigmoid_backward(wrong)


@pytest.mark.parametrize("wrong, hint", [
    (lambda t, x, ys: -solution.logistic_gradient(t, x, ys), "log-likelihood J"),
    (lambda t, x, ys: (torch.sigmoid(t @ x) - ys) * torch.ones_like(t), "factor x_j is missing"),
    (lambda t, x, ys: 2 * solution.logistic_gradient(t, x, ys), "factor"),
])
def test_logistic_gradient_mistakes(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_logistic_gradient(wrong)


def test_forward_difference_is_named():
    def forward_difference(f, x, h):
        grad = torch.empty_like(x)
        for i in range(len(x)):
            step = torch.zeros_like(x)
            step[i] = h
            grad[i] = (f(x + step) - f(x)) / h
        return grad

    with pytest.raises(AssertionError, match="one-sided"):
        check_central_difference(forward_difference)


def test_central_difference_with_too_large_a_step_fails():
    with pytest.raises(AssertionError):
        check_central_difference(lambda f, x, h: solution.central_difference(f, x, 1e-1))
