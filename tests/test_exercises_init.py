"""The checkers of the initialization pages (04 and 04b): reference solutions pass, each planted mistake gets its
hint, stubs are not attempted."""

import math

import pytest
import torch

from solutions import init as solution
from utils.exercises.init import (buggy_init_, check_fixed_init, check_initial_loss,
                                  check_relu_std, tanh_net_activations)


def stub(*args, **kwargs):
    raise NotImplementedError


def test_stubs_are_not_attempted(capsys):
    check_initial_loss(stub)
    check_relu_std(stub)
    check_fixed_init(stub)
    check_initial_loss(None)
    check_fixed_init(None)
    assert capsys.readouterr().out.count("not attempted yet") == 5
    with pytest.raises(AssertionError, match="forget `return`"):
        check_initial_loss(lambda V: None)
    with pytest.raises(AssertionError, match="fill it in place"):
        check_fixed_init(lambda weight, generator=None: None)  # weight untouched


def test_answers_of_other_types_are_read():
    check_initial_loss(lambda V: torch.tensor(float(V), dtype=torch.float64).log())
    check_relu_std(lambda n, m: torch.tensor(2.0 / n).sqrt())  # float32: within tolerance


def test_a_non_number_is_explained():
    with pytest.raises(AssertionError, match=r"returned list .*not a number"):
        check_initial_loss(lambda V: [math.log(V)])


@pytest.mark.parametrize("answer, hint", [
    (lambda V: math.log(1 / V), "NEGATIVE log-probability"),
    (lambda V: math.log10(V), "log base 10"),
    (lambda V: math.log2(V), "log base 2"),
    (lambda V: 1 / V, "probability of the right class"),
])
def test_initial_loss_mistakes(answer, hint):
    with pytest.raises(AssertionError, match=hint):
        check_initial_loss(answer)


@pytest.mark.parametrize("answer, hint", [
    (lambda n, m: 1 / math.sqrt(n), "misses ReLU's gain"),
    (lambda n, m: 2 / n, "is the VARIANCE"),
    (lambda n, m: math.sqrt(2 / m), "mode='fan_out'"),
    (lambda n, m: (5 / 3) / math.sqrt(n), "tanh's gain"),
    (lambda n, m: math.sqrt(2 / (n + m)), "Glorot/Xavier"),
    (lambda n, m: math.sqrt(2) / n, "divides by fan_in"),
])
def test_relu_std_mistakes(answer, hint):
    with pytest.raises(AssertionError, match=hint):
        check_relu_std(answer)


def normal_init(std_of_fan_in):
    def init_(weight, generator=None):
        with torch.no_grad():
            return weight.normal_(0.0, std_of_fan_in(weight.shape[1]), generator=generator)
    return init_


def test_the_buggy_init_is_saturated_and_its_fix_is_not():
    for init_, saturated in ((buggy_init_, True), (solution.fixed_init_, False)):
        acts, _ = tanh_net_activations(init_)
        fractions = [(t.abs() > 0.97).double().mean().item() for t in acts.values()]
        assert (min(fractions) > 0.15) if saturated else (max(fractions) < 0.10)


@pytest.mark.parametrize("init_, hint", [
    (buggy_init_, "buggy_init_ unchanged"),
    (normal_init(lambda n: (5 / 3) ** 2 / math.sqrt(n)), "applied twice"),
    (normal_init(lambda n: 5 / 3), "without the 1/sqrt\\(fan_in\\)"),
    (normal_init(lambda n: (5 / 3) / n), "divided by fan_in, not by sqrt"),
    (lambda w, generator=None: torch.nn.init.kaiming_uniform_(w, a=math.sqrt(5), generator=generator),
     "nn.Linear's default"),
    (normal_init(lambda n: 1 / math.sqrt(n)), "shrink layer by layer.*0.99"),
    (normal_init(lambda n: 2.2 / math.sqrt(n)), "too large.*2.2"),
    (lambda w, generator=None: w.uniform_(0, 0.3, generator=generator), "not centred"),
    (lambda w, generator=None: w.fill_(0.01), "symmetry never breaks"),
])
def test_fixed_init_mistakes(init_, hint):
    with pytest.raises(AssertionError, match=hint):
        check_fixed_init(init_)


def no_return(weight, generator=None):
    torch.nn.init.kaiming_normal_(weight, nonlinearity="tanh", generator=generator)


def half_filled(weight, generator=None):
    weight[:50].normal_(generator=generator)
    return weight


def test_other_good_inits_pass_and_in_place_without_return_or_generator_is_accepted(capsys):
    good = [
        lambda w, generator=None: torch.nn.init.orthogonal_(w, 5 / 3, generator=generator),
        lambda w, generator=None: torch.nn.init.kaiming_uniform_(w, nonlinearity="tanh",
                                                                 generator=generator),
        no_return,
        lambda w: torch.nn.init.kaiming_normal_(w, nonlinearity="tanh"),  # global RNG
    ]
    for init_ in good:
        check_fixed_init(init_)
    assert capsys.readouterr().out.count("| ok") == 5 * len(good)


def test_fixed_init_explains_a_new_tensor_or_nan():
    with pytest.raises(AssertionError, match="returned a new tensor"):
        check_fixed_init(lambda w, generator=None: torch.zeros(3, 3))
    with pytest.raises(AssertionError, match="NaN or inf"):
        check_fixed_init(half_filled)


def test_the_checker_output_is_deterministic(capsys):
    check_fixed_init(solution.fixed_init_)
    first = capsys.readouterr().out
    check_fixed_init(solution.fixed_init_)
    assert capsys.readouterr().out == first


def test_a_new_tensor_instead_of_filling_in_place_fails():
    def rebinds(weight, generator=None):
        return torch.randn(weight.shape, generator=generator, dtype=weight.dtype) * (5 / 3) / weight.shape[1] ** 0.5
    with pytest.raises(AssertionError, match="returned a new tensor"):
        check_fixed_init(rebinds)
