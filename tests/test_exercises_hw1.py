"""Homework 1's checkers: what the generic tests (tests/test_exercises.py) do not cover.

The generic tests run the reference solutions, every stub form and every mistake that the
checkers declare (at least five per exercise, each caught with its own hint). Here: the
calls each exercise forbids, mistakes that fail only on a hidden case or on one of several
quantities, and odd but reasonable answers (numpy arrays, Python floats, lists, tensors
that require grad), which are accepted or rejected with a clear message.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from solutions import hw1 as solution
from utils.exercises import grading
from utils.exercises.hw1 import (
    check_backward,
    check_cross_entropy,
    check_initial_loss,
    check_sgd_step,
    check_softmax,
    check_two_layer_gradients,
)

CHECKERS = {
    check_softmax: solution.softmax,
    check_cross_entropy: solution.cross_entropy,
    check_backward: solution.backward,
    check_sgd_step: solution.sgd_step,
    check_initial_loss: solution.initial_loss,
    check_two_layer_gradients: solution.two_layer_gradients,
}


def test_checkers_leave_the_global_generator_alone():
    state = torch.random.get_rng_state()
    for checker, reference in CHECKERS.items():
        checker(reference)
    assert torch.equal(state, torch.random.get_rng_state())


def test_a_failed_answer_is_collected_by_a_grader():
    with grading():
        outcome = check_backward(lambda X, P, Y: solution.backward(X, Y, P))
    assert outcome.status == "failed" and outcome.points == 0 and outcome.possible == 2
    assert "sign error" in outcome.message


# --- exercise 1: softmax ---------------------------------------------------------------
@pytest.mark.parametrize("call, name", [
    (lambda Z: torch.softmax(Z, dim=1), "torch.softmax"),
    (lambda Z: Z.softmax(1), "torch.Tensor.softmax"),
    (lambda Z: F.softmax(Z, dim=1), "torch.nn.functional.softmax"),
    (lambda Z: torch.special.softmax(Z, dim=1), "torch.special.softmax"),
    (lambda Z: torch.log_softmax(Z, dim=1).exp(), "torch.log_softmax"),
])
def test_softmax_may_not_call_torchs(call, name):
    with pytest.raises(AssertionError, match=f"asks you not to call {name}"):
        check_softmax(call)


def test_the_naive_softmax_passes_the_shown_case_and_fails_the_first_hidden_one(capsys):
    with pytest.raises(AssertionError, match=r"hidden case 1 \(tensor\(5, 5\)\) is wrong"
                                             r"[\s\S]*Hint: [\s\S]*exp\(\) overflowed"):
        check_softmax(lambda Z: Z.exp() / Z.exp().sum(dim=1, keepdim=True))
    lines = capsys.readouterr().out.splitlines()
    assert "close: True" in lines[0] and "NaN" in lines[1]


@pytest.mark.parametrize("wrong, hint", [
    (lambda Z: solution.softmax(Z).T, "transpose"),  # square: the values are transposed
    (lambda Z: solution.softmax(Z).log(), "no common mistake"),
    (lambda Z: solution.softmax(Z)[:, :-1], "wrong shape"),
])
def test_softmax_other_mistakes_get_the_generic_hints(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_softmax(wrong)


def test_softmax_hints_give_no_code():
    with pytest.raises(AssertionError) as error:
        check_softmax(lambda Z: (Z - Z.max(dim=1).values).exp()
                      / (Z - Z.max(dim=1).values).exp().sum(dim=1, keepdim=True))
    assert "another row's maximum" in str(error.value)
    assert "keepdim=True" not in str(error.value) and ".values" not in str(error.value)


@pytest.mark.parametrize("convert", [lambda P: P.numpy(), lambda P: P.tolist(),
                                     lambda P: P.float()])
def test_softmax_accepts_arrays_lists_and_float32(convert):
    assert check_softmax(lambda Z: convert(solution.softmax(Z)))


# --- exercise 2: cross-entropy ---------------------------------------------------------
@pytest.mark.parametrize("call, name", [
    (lambda Z, y: F.cross_entropy(Z, y), "torch.nn.functional.cross_entropy"),
    (lambda Z, y: F.nll_loss(solution.softmax(Z).log(), y), "torch.nn.functional.nll_loss"),
    (lambda Z, y: torch.nn.CrossEntropyLoss()(Z, y), "torch.nn.functional.cross_entropy"),
    (lambda Z, y: (Z.logsumexp(1) - Z[torch.arange(len(y)), y]).mean(), "torch.Tensor.logsumexp"),
    (lambda Z, y: (torch.special.logsumexp(Z, 1) - Z[torch.arange(len(y)), y]).mean(),
     "torch.special.logsumexp"),
    (lambda Z, y: -F.log_softmax(Z, dim=1)[torch.arange(len(y)), y].mean(),
     "torch.nn.functional.log_softmax"),
])
def test_cross_entropy_may_not_call_torchs(call, name):
    with pytest.raises(AssertionError, match=f"asks you not to call {name}"):
        check_cross_entropy(call)


def test_log_of_softmax_passes_the_shown_case_and_fails_on_an_underflow(capsys):
    def log_of_softmax(Z, y):
        return -torch.log(solution.softmax(Z)[torch.arange(len(y)), y]).mean()
    with pytest.raises(AssertionError, match=r"hidden case 1[\s\S]*probability that underflowed"):
        check_cross_entropy(log_of_softmax)
    lines = capsys.readouterr().out.splitlines()
    assert "close: True" in lines[0] and "inf" in lines[1]


def test_labels_that_miss_the_last_class_break_a_one_hot_without_the_class_count():
    def via_one_hot(Z, y):  # one_hot guesses C = y.max() + 1: 10, not 11, in hidden case 2
        m = Z.max(dim=1, keepdim=True).values
        logp = Z - m - (Z - m).exp().sum(dim=1, keepdim=True).log()
        return -(F.one_hot(y) * logp).sum(dim=1).mean()
    with pytest.raises(AssertionError, match=r"hidden case 2 \(tensor\(5, 11\), tensor\(5,\)\)"
                                             r": your function raised RuntimeError"):
        check_cross_entropy(via_one_hot)


def test_a_hard_coded_class_count_fails():
    def four_classes(Z, y):
        m = Z.max(dim=1, keepdim=True).values
        logp = Z - m - (Z - m).exp().sum(dim=1, keepdim=True).log()
        return -(F.one_hot(y, 4) * logp[:, :4]).sum(dim=1).mean()
    with pytest.raises(AssertionError, match="hidden case 2"):
        check_cross_entropy(four_classes)


@pytest.mark.parametrize("wrong, hint", [
    (lambda Z, y: solution.cross_entropy(Z, y).reshape(1, 1), "right numbers, wrong shape"),
    (lambda Z, y: solution.cross_entropy(Z, y) * torch.ones(len(y)), "wrong shape"),
    (lambda Z, y: solution.cross_entropy(Z, y) + 0.1, "no common mistake"),
])
def test_cross_entropy_other_mistakes_get_the_generic_hints(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_cross_entropy(wrong)


def test_cross_entropy_hints_give_no_code():
    def every_label(Z, y):
        m = Z.max(dim=1, keepdim=True).values
        return (m[:, 0] + (Z - m).exp().sum(dim=1).log() - Z[:, y]).mean()
    with pytest.raises(AssertionError, match="paired with every label") as error:
        check_cross_entropy(every_label)
    assert "arange" not in str(error.value)


@pytest.mark.parametrize("convert", [lambda L: L.item(), lambda L: L.numpy(), float])
def test_cross_entropy_accepts_a_python_or_numpy_number(convert):
    assert check_cross_entropy(lambda Z, y: convert(solution.cross_entropy(Z, y)))


# --- exercise 3: backward ----------------------------------------------------------------
def test_a_missing_transpose_is_named_where_it_runs():
    def no_transpose(X, P, Y):  # runs only when N == D (the shown case)
        return X @ (P - Y) / len(X), (P - Y).mean(0)
    with pytest.raises(AssertionError, match="missing a transpose") as error:
        check_backward(no_transpose)
    assert "X.T" not in str(error.value) and "P - Y" not in str(error.value)


@pytest.mark.parametrize("wrong, hint", [
    (lambda X, P, Y: (solution.backward(X, P, Y)[0], (P - Y).mean(0, keepdim=True)),
     "right numbers, wrong shape"),
    (lambda X, P, Y: solution.backward(X, P, Y)[0], "expected a tuple of 2"),
    (lambda X, P, Y: {"dW": 0, "db": 0}, "expected a tuple of 2"),
])
def test_backward_misfits_are_named(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_backward(wrong)


def test_backward_reports_each_gradient(capsys):
    with pytest.raises(AssertionError, match="db is zero"):
        check_backward(lambda X, P, Y: (solution.backward(X, P, Y)[0],
                                        torch.zeros(P.shape[1], dtype=P.dtype)))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("backward[0] | exact") and "close: True" in lines[0]
    assert lines[1].startswith("backward[1] | exact") and "close: False" in lines[1]


def test_backward_by_autograd_is_accepted():
    def by_autograd(X, P, Y):  # tensors that require grad come back
        W = torch.zeros(X.shape[1], P.shape[1], dtype=X.dtype, requires_grad=True)
        b = torch.zeros(P.shape[1], dtype=X.dtype, requires_grad=True)
        Z = X @ W + b + P.log()  # the same softmax: log P plus zero
        loss = -(Y * (Z - (Z.exp().sum(1, keepdim=True)).log())).sum(1).mean()
        loss.backward()
        return [W.grad, b.grad]  # a list, not a tuple
    assert check_backward(by_autograd)


# --- exercise 4: SGD step ------------------------------------------------------------------
def test_rebinding_the_list_entries_does_not_pass():
    def rebinds(params, grads, lr):
        for i, (p, g) in enumerate(zip(params, grads)):
            params[i] = p - lr * g  # the list changes; the tensors do not
    with pytest.raises(AssertionError, match="the parameters did not change"):
        check_sgd_step(rebinds)


def test_a_step_that_skips_a_parameter_is_caught(capsys):
    def first_only(params, grads, lr):
        for p, g in zip(params, grads):
            p -= lr * g
            return  # the mistake: leaves the loop after the first tensor
    with pytest.raises(AssertionError, match=r"1 of 4 quantities are wrong[\s\S]*"
                                             r"sgd_step\[0\]\[1\] is wrong"):
        check_sgd_step(first_only)


def test_a_step_that_also_returns_the_parameters_is_accepted():
    def returns(params, grads, lr):
        solution.sgd_step(params, grads, lr)
        return params
    assert check_sgd_step(returns)


def test_a_step_with_data_or_copy_is_accepted():
    def with_copy(params, grads, lr):
        for p, g in zip(params, grads):
            p.copy_(p - lr * g)
    assert check_sgd_step(with_copy)


def test_a_step_that_fails_on_a_hidden_case_names_it():
    def two_tensors(params, grads, lr):  # assumes [W, b]
        W, b = params
        dW, db = grads
        W -= lr * dW
        b -= lr * db
    with pytest.raises(AssertionError, match=r"hidden case 1 \(Parameters of 3, tuple of 3, 0.5\)"
                                             r": your function raised ValueError"):
        check_sgd_step(two_tensors)


# --- exercise 5: the loss before training --------------------------------------------------
@pytest.mark.parametrize("prediction", [math.log(10), 2.3, torch.tensor(2.31), np.float32(2.29),
                                        np.array([2.3])])
def test_reasonable_predictions_are_accepted(prediction):
    assert check_initial_loss(prediction)


@pytest.mark.parametrize("prediction, message", [
    ("2.3", "cannot be read"),
    ([2.3, 1.0], "cannot be read"),
    (float("nan"), "cannot be read"),
    (2, "What probability"),  # no declared mistake: the explanation closes the gap
    (3.0, "What probability"),
])
def test_odd_or_unexplained_predictions_fail_clearly(prediction, message):
    with pytest.raises(AssertionError, match=message) as error:
        check_initial_loss(prediction)
    assert "log(10)" not in str(error.value) and "2.30" not in str(error.value).split("measured")[0]


# --- bonus: two layers ---------------------------------------------------------------------
def test_two_layers_by_autograd_is_accepted():
    def by_autograd(X, Y, params):
        W1, b1, W2, b2 = (p.clone().requires_grad_() for p in params)
        Z = torch.tanh(X @ W1 + b1) @ W2 + b2
        m = Z.max(dim=1, keepdim=True).values
        loss = -(Y * (Z - m - (Z - m).exp().sum(1, keepdim=True).log())).sum(1).mean()
        return torch.autograd.grad(loss, (W1, b1, W2, b2))
    assert check_two_layer_gradients(by_autograd)


@pytest.mark.parametrize("wrong, hint", [
    (lambda X, Y, params: solution.two_layer_gradients(X, Y, params)[:2], "expected a tuple of 4"),
    (lambda X, Y, params: solution.two_layer_gradients(X, Y, params)[::-1], "wrong shape"),
])
def test_two_layer_misfits_are_named(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_two_layer_gradients(wrong)


def test_two_layers_with_a_square_hidden_layer_only_fails_the_hidden_cases():
    def no_W2_transpose(X, Y, params):  # dZ @ W2 runs only where h == C
        W1, b1, W2, b2 = params
        Hid = torch.tanh(X @ W1 + b1)
        dZ = (solution.softmax(Hid @ W2 + b2) - Y) / len(X)
        dA = (dZ @ W2) * (1 - Hid**2)
        return X.T @ dA, dA.sum(0), Hid.T @ dZ, dZ.sum(0)
    with pytest.raises(AssertionError, match="your function raised RuntimeError"):
        check_two_layer_gradients(no_W2_transpose)


# --- the declared mistakes, as students write them -------------------------------------------
# The checkers declare each mistake from PyTorch's answer; these are the same mistakes in a
# student's words, to show that the declared ones stand for the code students write.
def _exp_shifted(Z):
    return (Z - Z.max(dim=1, keepdim=True).values).exp()


def _log_probs(Z):
    m = Z.max(dim=1, keepdim=True).values
    return Z - m - (Z - m).exp().sum(dim=1, keepdim=True).log()


def _rows(y):
    return torch.arange(len(y))


def _two_layer(slope):
    def wrong(X, Y, params):
        W1, b1, W2, b2 = params
        A = X @ W1 + b1
        Hid = torch.tanh(A)
        dZ = (solution.softmax(Hid @ W2 + b2) - Y) / len(X)
        dA = (dZ @ W2.T) * slope(A, Hid)
        return X.T @ dA, dA.sum(0), Hid.T @ dZ, dZ.sum(0)
    return wrong


def _sgd(update):
    def wrong(params, grads, lr):
        for p, g in zip(params, grads):
            update(p, g, lr)
    return wrong


STUDENT_MISTAKES = [
    (check_softmax, lambda Z: _exp_shifted(Z) / _exp_shifted(Z).sum(dim=1), "another row"),
    (check_softmax, lambda Z: _exp_shifted(Z) / _exp_shifted(Z).sum(), "whole matrix"),
    (check_softmax, lambda Z: (Z - Z.max(0).values).exp() / (Z - Z.max(0).values).exp().sum(0),
     "over the batch"),
    (check_softmax, lambda Z: (Z - Z.mean(1, keepdim=True)).exp()
     / (Z - Z.mean(1, keepdim=True)).exp().sum(1, keepdim=True), "shifted by its mean"),
    (check_cross_entropy, lambda Z, y: -(F.one_hot(y, Z.shape[1]) * _log_probs(Z)).mean(),
     "C times too small"),
    (check_cross_entropy, lambda Z, y: -_log_probs(Z)[_rows(y), y].sum(), "N times too large"),
    (check_cross_entropy, lambda Z, y: _log_probs(Z)[_rows(y), y].mean(), "wrong sign"),
    (check_cross_entropy, lambda Z, y: ((Z - Z.max(1, keepdim=True).values).exp().sum(1).log()
                                        - Z[_rows(y), y]).mean(), "not added back"),
    (check_backward, lambda X, P, Y: (X.T @ (P - Y), (P - Y).sum(0)), "N times too large"),
    (check_backward, lambda X, P, Y: (X.T @ (P - Y) / len(X), (P - Y).sum(0)), "db is N times"),
    (check_backward, lambda X, P, Y: ((P - Y).T @ X / len(X), (P - Y).mean(0)), "transposed"),
    (check_backward, lambda X, P, Y: (X.T @ (P - Y) / len(X), (P - Y).mean(1)),
     "reduced over the classes"),
    (check_two_layer_gradients, _two_layer(lambda A, H: 1 - A**2), "at the wrong place"),
    (check_two_layer_gradients, _two_layer(lambda A, H: 1 - H), "lacks a square"),
    (check_two_layer_gradients, _two_layer(lambda A, H: 1), "forgot tanh's derivative"),
    (check_sgd_step, _sgd(lambda p, g, lr: p.add_(lr * g)), "moved uphill"),
    (check_sgd_step, _sgd(lambda p, g, lr: p.sub_(g)), "forgot the learning rate"),
    (check_sgd_step, _sgd(lambda p, g, lr: g.sub_(lr * p)), "wrong list"),
]


@pytest.mark.parametrize("checker, wrong, hint", STUDENT_MISTAKES,
                         ids=[f"{c.__name__}: {h}" for c, _, h in STUDENT_MISTAKES])
def test_mistakes_written_as_students_write_them_get_their_hints(checker, wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        checker(wrong)
