"""Homework 1's checkers: the reference solutions pass, each planted mistake gets its hint."""

import pytest
import torch

from solutions import hw1 as solution
from utils.exercises.hw1 import (
    check_backward,
    check_cross_entropy,
    check_sgd_step,
    check_softmax,
    check_two_layer_gradients,
)

CHECKERS = {
    check_softmax: solution.softmax,
    check_cross_entropy: solution.cross_entropy,
    check_backward: solution.backward,
    check_sgd_step: solution.sgd_step,
    check_two_layer_gradients: solution.two_layer_gradients,
}
def _lse(Z):  # log-sum-exp per row, (N, 1), written as a student may: no torch.logsumexp
    m = Z.max(dim=1, keepdim=True).values
    return m + (Z - m).exp().sum(dim=1, keepdim=True).log()


def stub(*args):
    raise NotImplementedError


def test_checkers_leave_the_global_generator_alone():
    state = torch.random.get_rng_state()
    for checker, reference in CHECKERS.items():
        checker(reference)
    assert torch.equal(state, torch.random.get_rng_state())


# --- exercise 1: softmax ---------------------------------------------------------------
def naive_softmax(Z):
    e = torch.exp(Z)
    return e / e.sum(dim=1, keepdim=True)


@pytest.mark.parametrize("wrong, hint", [
    (naive_softmax, "softmax without max-subtraction overflows"),
    (lambda Z: naive_softmax(Z - Z.max()), "max of the whole matrix"),
    (lambda Z: solution.softmax(Z.T).T, r"dim=0\) instead of over the classes"),
    (lambda Z: torch.exp(Z - Z.max(1, keepdim=True).values)
     / torch.exp(Z - Z.max(1, keepdim=True).values).sum(1), "divided by the sum of another row"),
    (lambda Z: naive_softmax(Z - Z.max(1).values), "another row's max"),
    (lambda Z: solution.softmax(Z).T, "transpose"),
    (lambda Z: solution.softmax(Z).log(), "no common mistake"),
    (lambda Z: torch.softmax(Z, dim=1), "asks you not to call torch.softmax"),
    (lambda Z: Z.softmax(1), "asks you not to call torch.Tensor.softmax"),
])
def test_softmax_mistakes_are_named(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_softmax(wrong)


def test_naive_softmax_passes_ordinary_logits_and_fails_large_ones(capsys):
    with pytest.raises(AssertionError, match=r"1 of 2 quantities are wrong[\s\S]*softmax\(Z_large\)"):
        check_softmax(naive_softmax)
    out = capsys.readouterr().out
    assert "softmax(Z) | exact" in out and "close: True" in out
    assert "NaN" in out


# --- exercise 2: cross-entropy ---------------------------------------------------------
def log_of_softmax(Z, y):
    return -torch.log(solution.softmax(Z)[torch.arange(len(y)), y]).mean()


@pytest.mark.parametrize("wrong, hint", [
    (log_of_softmax, r"log\(softmax\(Z\)\) underflows"),
    (lambda Z, y: (torch.log(torch.exp(Z).sum(1)) - Z[torch.arange(len(y)), y]).mean(),
     "exp\\(\\) without max-subtraction overflows"),
    (lambda Z, y: len(y) * solution.cross_entropy(Z, y), "sum instead of mean"),
    (lambda Z, y: -solution.cross_entropy(Z, y), "wrong sign"),
    (lambda Z, y: (_lse(Z) - Z[:, y]).mean(), r"Z\[:, y\] picks"),
    (lambda Z, y: (_lse(Z) - Z).mean(), "averaged over every class"),
    (lambda Z, y: solution.cross_entropy(Z, y) / Z.shape[1], r"divided by N \* C"),
    (lambda Z, y: solution.cross_entropy(Z, y).reshape(1, 1), "right numbers, wrong shape"),
    (lambda Z, y: _lse(Z)[:, 0] - Z[torch.arange(len(y)), y], "wrong shape"),
])
def test_cross_entropy_mistakes_are_named(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_cross_entropy(wrong)


def test_log_of_softmax_passes_ordinary_logits_and_fails_large_ones(capsys):
    with pytest.raises(AssertionError, match=r"1 of 2 quantities are wrong"):
        check_cross_entropy(log_of_softmax)
    lines = capsys.readouterr().out.splitlines()
    assert "close: True" in lines[0] and "inf" in lines[1]


# --- exercise 3: backward ----------------------------------------------------------------
def backward_with(dW=None, db=None):
    """The reference backward with one part swapped for a wrong one."""
    def wrong(X, P, Y):
        right_dW, right_db = solution.backward(X, P, Y)
        return (dW(X, P, Y) if dW else right_dW), (db(X, P, Y) if db else right_db)
    return wrong


@pytest.mark.parametrize("wrong, hint", [
    (backward_with(dW=lambda X, P, Y: X @ (P - Y) / len(X)), "missing transpose"),
    (backward_with(dW=lambda X, P, Y: (P - Y).T @ X / len(X)), "transposed"),
    (lambda X, P, Y: solution.backward(X, Y, P), "sign error"),
    (lambda X, P, Y: (X.T @ (Y - P) / len(X), (Y - P).mean(0)), "sign error"),
    (lambda X, P, Y: tuple(len(X) * g for g in solution.backward(X, P, Y)), "sum instead of mean"),
    (backward_with(db=lambda X, P, Y: (P - Y).sum(0)), "sum instead of mean"),
    (backward_with(db=lambda X, P, Y: torch.zeros(P.shape[1], dtype=P.dtype)), "forgot the bias gradient"),
    (backward_with(db=lambda X, P, Y: (P - Y).mean(1)), "wrong shape"),
    (backward_with(db=lambda X, P, Y: (P - Y).mean(0, keepdim=True)), "right numbers, wrong shape"),
    (lambda X, P, Y: solution.backward(X, P, Y)[0], "should return 2 tensors"),
])
def test_backward_mistakes_are_named(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_backward(wrong)


def test_backward_reports_each_gradient(capsys):
    with pytest.raises(AssertionError, match="forgot the bias gradient"):
        check_backward(backward_with(db=lambda X, P, Y: torch.zeros(P.shape[1], dtype=P.dtype)))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("dW | exact") and "close: True" in lines[0]
    assert lines[1].startswith("db | exact") and "close: False" in lines[1]


# --- exercise 4: SGD step ------------------------------------------------------------------
def sgd_rebinding(params, grads, lr):
    for p, g in zip(params, grads):
        p = p - lr * g  # noqa: F841 (the mistake: the list's tensors never change)


def sgd_uphill(params, grads, lr):
    for p, g in zip(params, grads):
        p += lr * g


def sgd_without_lr(params, grads, lr):
    for p, g in zip(params, grads):
        p -= g


def sgd_only_first(params, grads, lr):
    params[0] -= lr * grads[0]


@pytest.mark.parametrize("wrong, hint", [
    (sgd_rebinding, "the parameters did not change"),
    (sgd_uphill, "moved uphill"),
    (sgd_without_lr, "forgot the learning rate"),
])
def test_sgd_step_mistakes_are_named_for_each_parameter(wrong, hint):
    with pytest.raises(AssertionError, match=hint) as error:
        check_sgd_step(wrong)
    assert str(error.value).count(f"Hint: your answer matches a known mistake: {hint}") == 2


def test_sgd_step_that_skips_a_parameter_is_caught():
    with pytest.raises(AssertionError, match=r"1 of 2 quantities are wrong[\s\S]*b is wrong"
                                             r"[\s\S]*the parameters did not change"):
        check_sgd_step(sgd_only_first)


# --- bonus: two layers ---------------------------------------------------------------------
def two_layer_without_tanh_derivative(X, Y, params):
    W1, b1, W2, b2 = params
    Hid = torch.tanh(X @ W1 + b1)  # (N, H)
    dZ = (solution.softmax(Hid @ W2 + b2) - Y) / len(X)  # (N, C)
    dA = dZ @ W2.T  # (N, H): the factor 1 - Hid**2 is missing
    return X.T @ dA, dA.sum(0), Hid.T @ dZ, dZ.sum(0)


@pytest.mark.parametrize("wrong, hint", [
    (two_layer_without_tanh_derivative, "forgot tanh's derivative"),
    (lambda X, Y, params: tuple(-g for g in solution.two_layer_gradients(X, Y, params)),
     "sign error"),
    (lambda X, Y, params: tuple(len(X) * g for g in solution.two_layer_gradients(X, Y, params)),
     "sum instead of mean"),
    (lambda X, Y, params: solution.two_layer_gradients(X, Y, params)[:2], "should return 4 tensors"),
])
def test_two_layer_mistakes_are_named(wrong, hint):
    with pytest.raises(AssertionError, match=hint):
        check_two_layer_gradients(wrong)


def test_cross_entropy_may_not_call_torchs():
    with pytest.raises(AssertionError, match="not to call torch.nn.functional.cross_entropy"):
        check_cross_entropy(lambda Z, y: torch.nn.functional.cross_entropy(Z, y))


def test_a_missing_transpose_fails_the_hidden_case_with_more_examples_than_features():
    def no_transpose(X, P, Y):  # right only when N == D (the shown case)
        return X @ (P - Y) / len(X), (P - Y).mean(0)
    with pytest.raises(AssertionError, match="missing transpose"):
        check_backward(no_transpose)


def test_rebinding_the_list_entries_does_not_pass():
    def rebinds(params, grads, lr):
        for i, (p, g) in enumerate(zip(params, grads)):
            params[i] = p - lr * g  # the list changes; the tensors do not
    with pytest.raises(AssertionError, match="did not change"):
        check_sgd_step(rebinds)


def test_subtracting_the_row_mean_fails_on_a_row_with_one_huge_logit():
    def mean_shift(Z):
        e = (Z - Z.mean(dim=1, keepdim=True)).exp()
        return e / e.sum(dim=1, keepdim=True)
    with pytest.raises(AssertionError, match="hidden case 1"):
        check_softmax(mean_shift)
