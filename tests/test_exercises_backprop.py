"""Backprop exercises' checkers: what is special. The reference solutions, the stubs and the
mistakes each checker declares to check_function or check_prediction are tested generically in
tests/test_exercises.py; the softplus checker wraps the student's op in a graph, so its
mistakes are planted here."""

import math
import re

import pytest
import torch

from solutions import backprop as solution
from utils.autograd import Value
from utils.exercises import grading
from utils.exercises.backprop import (SOFTPLUS_MISTAKES, check_central_error, check_dL_da,
                                      check_sigmoid_backward, check_softplus)


def test_sigmoid_backward_in_float32_is_not_close_enough():
    with pytest.raises(AssertionError):  # float32 rounding is far above atol=1e-12
        check_sigmoid_backward(lambda a: solution.sigmoid_backward(a).float())


def test_the_exp_form_of_the_sigmoid_derivative_overflows_on_a_hidden_case():
    def exp_form(a):
        return torch.exp(-a) / (1 + torch.exp(-a)) ** 2
    with pytest.raises(AssertionError, match=r"hidden case 2[\s\S]*NaN"):
        check_sigmoid_backward(exp_form)


def test_sigmoid_backward_that_only_handles_1d_fails_the_2d_case():
    with pytest.raises(AssertionError, match="hidden case 1"):
        check_sigmoid_backward(lambda a: torch.stack([solution.sigmoid_backward(v) for v in a.flatten()]))


@pytest.mark.parametrize("label", list(SOFTPLUS_MISTAKES))
def test_every_softplus_mistake_gets_its_own_hint(label):
    with pytest.raises(AssertionError, match=re.escape(label)):
        check_softplus(SOFTPLUS_MISTAKES[label])


def _composed(x):  # right numbers, but built from the engine's own exp and log
    return (x.exp() + 1).log()


@pytest.mark.parametrize("wrong, hint", [
    (_composed, "not to call utils.autograd.Value.exp"),
    (lambda x: math.log1p(math.exp(x.data)), "not a Value"),
    (lambda x: None, "forget `return`"),
    (lambda x: torch.nn.functional.softplus(torch.tensor(x.data)), "not a Value"),
])
def test_odd_softplus_answers_are_named(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_softplus(wrong)
    with grading():
        assert check_softplus(wrong).status == "failed"


def test_the_engine_works_again_after_the_softplus_check():
    with pytest.raises(AssertionError):
        check_softplus(_composed)
    assert Value(0.0).exp().data == 1.0


@pytest.mark.parametrize("checker, far", [(check_dL_da, 100.0), (check_central_error, 5.0)])
def test_a_far_off_prediction_gets_the_explanation(checker, far):
    with pytest.raises(AssertionError, match="add the three paths|expand"):
        checker(far)


def test_an_answer_that_requires_grad_or_is_a_numpy_array_is_read():
    def tracked(a):  # computed from a tensor that requires grad: the answer does too
        s = torch.sigmoid(a.clone().requires_grad_(True))
        return s * (1 - s)
    assert check_sigmoid_backward(tracked)
    assert check_sigmoid_backward(lambda a: solution.sigmoid_backward(a).numpy())


@pytest.mark.parametrize("prediction", [9, 9.0, torch.tensor(9.0)])
def test_a_prediction_may_be_an_int_a_float_or_a_tensor(prediction):
    assert check_dL_da(prediction)
