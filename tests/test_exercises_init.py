"""What is special to the checkers of the initialization pages (04 and 04b). The generic tests
(tests/test_exercises.py) already run each reference solution, each stub form and each
declared mistake; here: odd answers, hints that no declared mistake gives, the forbidden
calls, the re-run of the measured claim, and the pictures the page draws from the checker's
helpers."""

import math

import numpy as np
import pytest
import torch

from solutions import init as solution
from utils.exercises.init import (buggy_init_, check_fixed_init, check_initial_loss,
                                  check_kaiming_fan_out, check_smallest_gain,
                                  check_std_prediction, tanh_net_activations, tanh_stack_stds)


def _lines(capsys):
    return [line for line in capsys.readouterr().out.splitlines() if line.strip()]


# --- expected_initial_loss ---------------------------------------------------------------

def test_a_function_that_forgets_return_fails():
    with pytest.raises(AssertionError, match="forget `return`"):
        check_initial_loss(lambda V: None)


@pytest.mark.parametrize("answer", [
    lambda V: torch.tensor(float(V), dtype=torch.float64).log(),
    lambda V: np.log(V),
    lambda V: torch.tensor(float(V)).log(),  # float32: within the tolerance
])
def test_answers_of_other_types_are_read(answer, capsys):
    assert check_initial_loss(answer)
    assert all("close: True" in line for line in _lines(capsys))


def test_a_list_gets_a_shape_hint():
    with pytest.raises(AssertionError, match="extra dimension"):
        check_initial_loss(lambda V: [math.log(V)])


def test_a_hard_coded_class_count_fails_and_hidden_cases_are_named():
    with pytest.raises(AssertionError, match="hard-coded"):
        check_initial_loss(lambda V: math.log(27))
    with pytest.raises(AssertionError, match=r"hidden case 1 \(2\) is wrong"):
        check_initial_loss(lambda V: math.log(50))  # right for the shown V = 50 only


# --- fixed_init_ ------------------------------------------------------------------------

def test_the_buggy_init_is_saturated_and_its_fix_is_not():
    for init_, saturated in ((buggy_init_, True), (solution.fixed_init_, False)):
        acts, _ = tanh_net_activations(init_)
        fractions = [(t.abs() > 0.97).double().mean().item() for t in acts.values()]
        assert (min(fractions) > 0.15) if saturated else (max(fractions) < 0.10)


def test_the_fix_passes_on_every_shape_and_reports_its_network(capsys):
    check_fixed_init(solution.fixed_init_)
    lines = _lines(capsys)
    assert sum("hidden case" in line for line in lines) >= 8  # 4 hidden cases, 2 quantities each
    assert lines[-1].startswith("5-layer tanh net built with fixed_init_") and lines[-1].endswith("| ok")


def test_a_fix_through_torch_passes():
    check_fixed_init(lambda w, generator=None: torch.nn.init.kaiming_normal_(
        w, nonlinearity="tanh", generator=generator))


def ignores_the_generator(weight, generator=None):
    return torch.nn.init.kaiming_normal_(weight, nonlinearity="tanh")  # the global RNG


def in_place_without_no_grad(weight, generator=None):
    return weight.normal_(0.0, (5 / 3) / math.sqrt(weight.shape[1]), generator=generator)


@pytest.mark.parametrize("init_, hint", [
    (ignores_the_generator, "does not draw from the generator"),
    (lambda w, generator=None: torch.nn.init.orthogonal_(w, 5 / 3, generator=generator),
     "effective gain"),
    (lambda w, generator=None: w.uniform_(0, 0.3, generator=generator), "not centred"),
    (lambda w, generator=None: w.fill_(0.01), "symmetry never breaks"),
    (in_place_without_no_grad, r"hidden case 4 \(tensor\(64, 256\).*raised RuntimeError"),
])
def test_fixed_init_explains_what_no_declared_mistake_covers(init_, hint):
    with pytest.raises(AssertionError, match=hint):
        check_fixed_init(init_)


def fills_without_returning(weight, generator=None):
    solution.fixed_init_(weight, generator)


def test_fixed_init_must_fill_in_place_and_return_the_weight():
    with pytest.raises(AssertionError, match="forget `return`"):
        check_fixed_init(fills_without_returning)

    def rebinds(weight, generator=None):
        weight = torch.randn(weight.shape, generator=generator, dtype=weight.dtype)
        return weight * (5 / 3) / weight.shape[1] ** 0.5
    with pytest.raises(AssertionError, match="caller's weight was not filled"):
        check_fixed_init(rebinds)


def test_the_checker_output_is_deterministic(capsys):
    check_fixed_init(solution.fixed_init_)
    first = capsys.readouterr().out
    check_fixed_init(solution.fixed_init_)
    assert capsys.readouterr().out == first


# --- kaiming_uniform_fan_out_ -------------------------------------------------------------

def test_torchs_kaiming_is_forbidden_while_the_answer_runs_and_restored_after():
    original = torch.nn.init.kaiming_uniform_

    def calls_torch(weight, nonlinearity, generator=None):
        return torch.nn.init.kaiming_uniform_(weight, mode="fan_out", nonlinearity=nonlinearity,
                                              generator=generator)
    with pytest.raises(AssertionError, match="not to call torch.nn.init.kaiming_uniform_"):
        check_kaiming_fan_out(calls_torch)
    assert torch.nn.init.kaiming_uniform_ is original


def test_the_fan_out_answer_may_use_calculate_gain_from_utils():
    import utils.init

    def with_ours(weight, nonlinearity, generator=None):
        bound = utils.init.calculate_gain(nonlinearity) * math.sqrt(3 / weight.shape[0])
        with torch.no_grad():
            return weight.uniform_(-bound, bound, generator=generator)
    check_kaiming_fan_out(with_ours)


def test_a_hard_coded_nonlinearity_fails_on_a_named_hidden_case():
    def relu_only(weight, nonlinearity, generator=None):
        return solution.kaiming_uniform_fan_out_(weight, "relu", generator)
    with pytest.raises(AssertionError, match=r"(?s)hidden case 1 \(tensor\(200, 30\), 'tanh'.*one gain for every"):
        check_kaiming_fan_out(relu_only)


def test_fan_out_odd_answers_are_explained():
    with pytest.raises(AssertionError, match="forget `return`"):
        check_kaiming_fan_out(lambda w, nl, generator=None: None)
    with pytest.raises(AssertionError, match="does not draw from the generator"):
        check_kaiming_fan_out(lambda w, nl, generator=None: solution.kaiming_uniform_fan_out_(w, nl))


# --- the 10-layer stack: prediction and measured claim ------------------------------------

def test_the_stack_forgets_its_inputs_scale_and_fades_at_gain_1():
    wide, narrow = tanh_stack_stds(5 / 3, input_std=10), tanh_stack_stds(5 / 3)
    assert wide[0] > 0.95 and abs(wide[-1] - narrow[-1]) < 0.02
    assert tanh_stack_stds(1.0)[-1] < 0.3


@pytest.mark.parametrize("prediction", [0.6, np.float64(0.7), torch.tensor(0.62), 0.55])
def test_predictions_within_the_tolerance_pass(prediction, capsys):
    assert check_std_prediction(prediction)
    assert _lines(capsys)[-1].endswith("| ok")


def test_an_unlisted_wrong_prediction_gets_the_explanation():
    with pytest.raises(AssertionError, match="first layer's outputs have std 0.98"):
        check_std_prediction(0.3)
    with pytest.raises(AssertionError, match="cannot be read"):
        check_std_prediction("0.65")


def test_the_claim_is_re_run_at_the_claimed_gain(capsys):
    assert check_smallest_gain(1.3)  # within 0.05 of the threshold
    lines = _lines(capsys)
    assert lines[0].startswith("re-run at your gain 1.3 | std of layer 10 0.48") and lines[0].endswith("ok")
    with pytest.raises(AssertionError, match="below 0.5: the claim does not hold"):
        check_smallest_gain(1.1)
    for coarse in (1.4, 1.5):  # a scan in steps of 0.1 stops at 1.4: no mistake is blamed
        with pytest.raises(AssertionError, match="(?s)^((?!known mistake).)*a smaller gain is enough"):
            check_smallest_gain(coarse)
    assert check_smallest_gain(np.float32(1.35)) and check_smallest_gain(torch.tensor(1.33))


def test_a_claim_that_is_not_a_number_fails_clearly(capsys):
    for odd in ("1.33", [1.3, 1.4], float("nan"), -1.0):
        with pytest.raises(AssertionError):
            check_smallest_gain(odd)
