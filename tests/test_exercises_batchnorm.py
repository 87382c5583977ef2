"""BatchNorm exercises: what is special to them. The reference solutions, the stub forms, the
odd answers and the mistakes each checker declares (to check_function and check_prediction)
are tested generically in tests/test_exercises.py; here: the measured claim's planted
mistakes (its checker trains the networks itself, so nothing is declared), odd inputs that
must be accepted, forbidden calls, tolerances, hidden cases, and the experiment itself."""

import doctest

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import utils.exercises.batchnorm as module
from solutions import batchnorm as solution
from utils.exercises.batchnorm import (check_batchnorm_forward, check_largest_stable_lr,
                                       check_layernorm_backward, check_running_var_prediction,
                                       deep_tanh_run, diverged)


def test_doctests():
    assert doctest.testmod(module).failed == 0


# --- batchnorm_forward ---------------------------------------------------------------------

def test_forward_refuses_torchs_batch_norm():
    def calls_torch(x, gamma, beta, eps):
        return F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)
    with pytest.raises(AssertionError, match="asks you not to call torch.nn.functional.batch_norm"):
        check_batchnorm_forward(calls_torch)
    assert F.batch_norm(torch.ones(2, 1), None, None, training=True).shape == (2, 1)  # restored


def test_forward_for_two_dimensional_input_only_fails_a_hidden_case():
    def two_d(x, gamma, beta, eps):  # right for (N, C), and for (N, C, 1)
        return gamma * (x - x.mean(0)) / torch.sqrt(x.var(0, correction=0) + eps) + beta
    with pytest.raises(AssertionError) as err:
        check_batchnorm_forward(two_d)
    assert "raised RuntimeError" in str(err.value) and "tensor(8, 5, 6)" in str(err.value)


def test_forward_accepts_a_result_that_requires_grad_or_is_numpy():
    check_batchnorm_forward(lambda *a: solution.batchnorm_forward(*a).requires_grad_())
    check_batchnorm_forward(lambda *a: solution.batchnorm_forward(*a).numpy())


def test_the_checkers_compare_to_torch_at_1e_10():
    # an answer off by 1e-8 in one entry fails: the tolerance is 1e-10, not float32's
    def nearly(x, g, b, eps):
        y = solution.batchnorm_forward(x, g, b, eps)
        y.view(-1)[0] += 1e-8
        return y
    with pytest.raises(AssertionError, match="no common mistake matches"):
        check_batchnorm_forward(nearly)


def test_layernorm_backward_hidden_case_catches_a_fixed_shape():
    # an answer that only works for the shown shape (10 features) fails another case
    def fixed(dy, x, w, eps):
        if x.shape[1] != 10:
            return torch.zeros_like(x)
        return solution.layernorm_backward(dy, x, w, eps)
    with pytest.raises(AssertionError, match="hidden case 1"):
        check_layernorm_backward(fixed)


# --- running_var_after_5 ---------------------------------------------------------------------

@pytest.mark.parametrize("form", [np.float64, lambda v: torch.tensor(v), lambda v: [v]])
def test_the_prediction_accepts_a_number_in_any_form(form, capsys):
    assert check_running_var_prediction(form(solution.running_var_after_5))


def test_the_prediction_is_measured_by_torch():
    # the checker's number is torch.nn.BatchNorm1d's own buffer, and the reasoning agrees
    assert module._running_var_measured() == pytest.approx(4 - 3 * 0.9 ** 5, abs=1e-12)


def test_an_unreadable_prediction_says_why():
    with pytest.raises(AssertionError, match="one number"):
        check_running_var_prediction([2.2, 2.3])


# --- largest_stable_lr: the experiment and the claim --------------------------------------------

def test_the_experiment_is_seeded_and_its_limits_are_a_power_of_two_apart():
    a, b = deep_tanh_run(1.0, batchnorm=True), deep_tanh_run(1.0, batchnorm=True)
    assert torch.equal(a, b) and len(a) == module.STEPS
    assert deep_tanh_run(1.0, batchnorm=True, steps=3, seed=1)[-1] != a[2]
    assert not diverged(deep_tanh_run(1.0, batchnorm=False))
    assert diverged(deep_tanh_run(2.0, batchnorm=False))
    assert not diverged(deep_tanh_run(8.0, batchnorm=True))
    assert diverged(deep_tanh_run(16.0, batchnorm=True))
    assert diverged(torch.tensor([2.3, float("nan")]))


@pytest.mark.parametrize("claim", [[1, 8], (0.75, 6.0), np.array([1.0, 8.0]),
                                   torch.tensor([1.0, 8.0], requires_grad=True)],
                         ids=["list of ints", "within a factor 2", "numpy", "tensor with grad"])
def test_a_right_claim_passes_in_any_form(claim, capsys):
    assert check_largest_stable_lr(claim)
    assert capsys.readouterr().out.count("| ok") == 2


@pytest.mark.parametrize("claim, hint", [
    ((2.0, 8.0), "beyond the limit"),                  # diverges without BatchNorm
    ((1.0, 16.0), "beyond the limit"),                 # diverges with BatchNorm
    ((0.25, 8.0), "not the largest"),                  # twice it still stable
    ((8.0, 1.0), "swapped"),
    ((1.0, 1.0), "same rate for both"),                # BatchNorm assumed to change nothing
    (1.0, "expected two numbers"),                     # one rate for both
    ((1.0, -8.0), "positive number"),
    ({"without": 1.0, "with": 8.0}, "got a dict"),
    ((1.0, float("nan")), "positive number"),
], ids=["unstable without BN", "unstable with BN", "too small", "swapped", "same for both",
        "one number", "negative", "dict", "nan"])
def test_a_wrong_claim_gets_its_own_hint(claim, hint, capsys):
    with pytest.raises(AssertionError, match=hint):
        check_largest_stable_lr(claim)


def test_the_backward_exercises_refuse_autograd(capsys):
    """An answer that lets autograd compute dx is refused, by name (the exercise asks for the
    derivation by hand)."""
    import torch.nn.functional as F
    from utils.exercises.batchnorm import check_batchnorm_backward, check_layernorm_backward

    def bn_by_autograd(x, dy, gamma, eps):
        x = x.detach().requires_grad_(True)
        F.batch_norm(x, None, None, gamma, None, training=True, eps=eps).backward(dy)
        return x.grad

    def ln_by_autograd(x, dy, gamma, eps):
        x = x.detach().requires_grad_(True)
        (F.layer_norm(x, x.shape[-1:], gamma, None, eps) * dy).sum().backward()
        return x.grad

    for checker, answer in [(check_batchnorm_backward, bn_by_autograd),
                            (check_layernorm_backward, ln_by_autograd)]:
        with pytest.raises(AssertionError, match="asks you not to call"):
            checker(answer)
