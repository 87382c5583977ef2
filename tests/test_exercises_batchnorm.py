"""BatchNorm chapters' checkers: what is special (running statistics, whose mistakes are
given per quantity; tolerances; the hidden case). The reference solutions, the stub forms and
the mistakes each checker declares are tested generically in tests/test_exercises.py."""

import pytest
import torch

from solutions import batchnorm as solution
from utils.exercises.batchnorm import (check_batchnorm_backward, check_batchnorm_forward,
                                       check_layernorm_backward, check_running_stats)


def stub(*args):
    raise NotImplementedError


def test_stubs_are_not_attempted(capsys):
    for checker in (check_batchnorm_forward, check_running_stats, check_batchnorm_backward):
        checker(stub)
        checker(None)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert lines and all(line.endswith("not attempted yet") for line in lines)
    with pytest.raises(AssertionError, match="forget `return`"):
        check_running_stats(lambda *args: None)


def norm(x, eps, dim=0, unbiased=False):
    return (x - x.mean(dim, keepdim=True)) / torch.sqrt(x.var(dim, keepdim=True, unbiased=unbiased) + eps)


def update(rm, rv, mean, var, m):
    return (1 - m) * rm + m * mean, (1 - m) * rv + m * var


@pytest.mark.parametrize("answer, hint, lines", [
    (lambda rm, rv, x, m: update(rm, rv, x.mean(0), x.var(0), 1 - m), "other way round", 2),
    (lambda rm, rv, x, m: update(rm, rv, x.mean(0), x.var(0, unbiased=False), m),
     "biased batch variance", 1),
    (lambda rm, rv, x, m: update(rm, rv, norm(x, 1e-5).mean(0), norm(x, 1e-5).var(0), m),
     "normalised x", 2),
])
def test_running_stats_mistakes(answer, hint, lines):
    with pytest.raises(AssertionError, match=hint) as err:
        check_running_stats(answer)
    assert str(err.value).count(hint) == lines  # named for each quantity it spoils


def test_running_stats_must_be_a_pair():
    with pytest.raises(AssertionError, match="expected a tuple"):
        check_running_stats(lambda rm, rv, x, m: rm)


def test_the_checkers_compare_to_torch_at_1e_10():
    # an answer off by 1e-8 in one entry fails: the tolerance is 1e-10, not float32's
    def nearly(x, g, b, eps):
        y = solution.batchnorm_forward(x, g, b, eps)
        y[0, 0] += 1e-8
        return y
    with pytest.raises(AssertionError, match="no common mistake matches"):
        check_batchnorm_forward(nearly)


def test_layernorm_backward_hidden_case_catches_a_fixed_shape():
    # an answer that only works for the shown shape (10 features) fails the other case
    def fixed(dy, x, w, eps):
        if x.shape[1] != 10:
            return torch.zeros_like(x)
        return solution.layernorm_backward(dy, x, w, eps)
    with pytest.raises(AssertionError):
        check_layernorm_backward(fixed)
