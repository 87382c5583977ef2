"""What is special about the optimizers exercises (page 03x_optimizers_exercises).

The generic tests (tests/test_exercises.py) plant the mistakes that the function checkers
and the prediction declare. Here: the measured claim's mistakes (its checker runs its own
experiment, so they are planted by hand), answers of other types, and a NAdam step that is
right once but wrong over several steps.
"""

import math

import numpy as np
import pytest
import torch

from solutions import optim as solution
from utils.exercises import grading
from utils.exercises.optim import (_STABLE_MISTAKES, check_cyclic_lr, check_momentum_stable_lr,
                                   check_momentum_distance, check_momentum_step,
                                   check_nadam_step, quadratic_loss_after)


# --- the measured claim --------------------------------------------------------------------

@pytest.mark.parametrize("label", list(_STABLE_MISTAKES), ids=lambda s: s[:40])
def test_each_stable_lr_mistake_gets_its_own_hint(label, capsys):
    with pytest.raises(AssertionError) as error:
        check_momentum_stable_lr(_STABLE_MISTAKES[label])
    assert label in str(error.value)


def test_the_edge_is_where_the_checker_says():
    start = quadratic_loss_after(0.05, 0)
    assert quadratic_loss_after(0.075) < 0.01 * start
    assert quadratic_loss_after(0.077) > start  # just past 2 (1 + 0.9) / 50 = 0.076


@pytest.mark.parametrize("claim, why", [
    (0.05, "a larger rate is stable"),      # safe, but not the largest: no known mistake
    (0.2, "at or beyond the edge"),
    (0.0771, "just above the edge"),     # a hair past it: round down
    (0.08, "at or beyond the edge"),     # past it: the loss grows
    (1e-6, "the edge is much higher"),   # far below it: the loss barely moves
    (0.0, "not a learning rate"),
    (-0.01, "not a learning rate"),
])
def test_wrong_claims_say_which_way_to_search(claim, why, capsys):
    with pytest.raises(AssertionError, match=why):
        check_momentum_stable_lr(claim)


@pytest.mark.parametrize("claim", [0.072, np.float32(0.075), torch.tensor(0.075),
                                   torch.tensor([0.075], requires_grad=True), [0.075]])
def test_claims_of_other_types_are_read(claim, capsys):
    assert check_momentum_stable_lr(claim)


@pytest.mark.parametrize("odd", ["0.075", [0.07, 0.075], float("nan"), math.inf, True,
                                 lambda: 0.075])
def test_unreadable_claims_fail_clearly(odd, capsys):
    with pytest.raises(AssertionError, match="cannot be read"):
        check_momentum_stable_lr(odd)
    with grading():
        assert check_momentum_stable_lr(odd).status == "failed"


# --- the prediction --------------------------------------------------------------------------

def test_the_prediction_is_graded_within_its_tolerance(capsys):
    assert check_momentum_distance(1.17)
    with pytest.raises(AssertionError, match="buffer starts at zero"):
        check_momentum_distance(1.5)  # no known mistake: the explanation closes the gap
    with pytest.raises(AssertionError, match="cannot be read"):
        check_momentum_distance("1.21")


# --- answers of other types, and state kept outside the arguments ----------------------------

def test_answers_as_lists_and_float32_tensors_are_read(capsys):
    as_tensor = lambda *a: torch.tensor(solution.cyclic_lr(*a), dtype=torch.float32)  # noqa: E731
    assert check_cyclic_lr(as_tensor)
    assert check_cyclic_lr(lambda *a: np.array(solution.cyclic_lr(*a)))


def test_a_momentum_step_that_returns_one_value_fails_clearly(capsys):
    with pytest.raises(AssertionError, match="momentum step"):
        check_momentum_step(lambda p, g, b, lr, mu: p - lr * (mu * b + g))


def test_a_nadam_step_that_keeps_its_own_step_count_fails_over_several_steps(capsys):
    calls = {"n": 0}

    def counting(p, grad, m, v, mu_product, t, lr, betas, eps, momentum_decay):
        calls["n"] += 1  # counts its own calls instead of using t: right only by accident
        return solution.nadam_step(p, grad, m, v, mu_product, min(t, calls["n"]), lr, betas,
                                   eps, momentum_decay)
    with pytest.raises(AssertionError, match="nadam"):
        check_nadam_step(counting)


def test_a_nadam_step_that_returns_three_values_fails_clearly(capsys):
    with pytest.raises(AssertionError, match="nadam step"):
        check_nadam_step(lambda *a: solution.nadam_step(*a)[:3])


def test_calling_torch_for_the_answer_is_refused(capsys):
    def via_torch(steps, base_lr, max_lr, step_size_up, step_size_down, mode):
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
        torch.optim.lr_scheduler.CyclicLR(opt, base_lr, max_lr, step_size_up, step_size_down,
                                          mode, cycle_momentum=False)
        return [base_lr] * steps
    with pytest.raises(AssertionError, match="not to call torch.optim.lr_scheduler.CyclicLR"):
        check_cyclic_lr(via_torch)

    def nadam_via_torch(p, grad, m, v, mu_product, t, lr, betas, eps, momentum_decay):
        torch.optim.NAdam([p.clone().requires_grad_(True)], lr=lr)
        return p, m, v, mu_product
    with pytest.raises(AssertionError, match="not to call torch.optim.NAdam"):
        check_nadam_step(nadam_via_torch)
