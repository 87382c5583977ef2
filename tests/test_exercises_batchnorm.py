"""BatchNorm chapter's checkers: reference solutions pass, each planted mistake gets its hint,
stubs are not attempted."""

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
    check_running_stats(lambda *args: None)
    assert capsys.readouterr().out.count("not attempted yet") == 2 * 4 + 2


def norm(x, eps, dim=0, unbiased=False):
    return (x - x.mean(dim, keepdim=True)) / torch.sqrt(x.var(dim, keepdim=True, unbiased=unbiased) + eps)


@pytest.mark.parametrize("answer, hint", [
    (lambda x, g, b, eps: g * norm(x, eps, unbiased=True) + b, "unbiased variance"),
    (lambda x, g, b, eps: g * (x - x.mean(0)) / (x.var(0, unbiased=False).sqrt() + eps) + b,
     "eps outside the square root"),
    (lambda x, g, b, eps: g * norm(x, eps, dim=1) + b, "over the features"),
    (lambda x, g, b, eps: norm(x, eps), "gamma and beta are missing"),
    (lambda x, g, b, eps: g * norm(x, eps), "beta is missing"),
])
def test_forward_mistakes(answer, hint):
    with pytest.raises(AssertionError, match=hint):
        check_batchnorm_forward(answer)


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


def dx(dy, x, gamma, eps, mean_term=True, xhat_term=True, unbiased=False, use_gamma=True):
    var = x.var(0, unbiased=unbiased)
    xh = (x - x.mean(0)) / (var + eps).sqrt()
    inner = dy - (dy.mean(0) if mean_term else 0) - (xh * (dy * xh).mean(0) if xhat_term else 0)
    return (gamma if use_gamma else 1) * inner / (var + eps).sqrt()


@pytest.mark.parametrize("kwargs, hint", [
    (dict(mean_term=False), "mean\\(dy\\) term is missing"),
    (dict(xhat_term=False), "x_hat \\* mean\\(dy \\* x_hat\\) term is missing"),
    (dict(mean_term=False, xhat_term=False), "only the direct path"),
    (dict(unbiased=True), "unbiased variance"),
    (dict(use_gamma=False), "gamma is missing"),
])
def test_backward_mistakes(kwargs, hint):
    with pytest.raises(AssertionError, match=hint):
        check_batchnorm_backward(lambda dy, x, g, eps: dx(dy, x, g, eps, **kwargs))


def test_the_checkers_compare_to_torch_at_1e_10():
    # an answer off by 1e-8 in one entry fails: the tolerance is 1e-10, not float32's
    def nearly(x, g, b, eps):
        y = solution.batchnorm_forward(x, g, b, eps)
        y[0, 0] += 1e-8
        return y
    with pytest.raises(AssertionError, match="no common mistake matches"):
        check_batchnorm_forward(nearly)


def layernorm_backward(dy, x, weight, eps, dim=-1, mean_term=True, xhat_term=True,
                       unbiased=False, weight_inside=True, use_weight=True):
    """The reference answer to exercise 4 (LayerNorm's dL/dx), and its planted mistakes."""
    s = (x.var(dim, keepdim=True, unbiased=unbiased) + eps).sqrt()
    xh = (x - x.mean(dim, keepdim=True)) / s
    g = dy * weight if (use_weight and weight_inside) else dy
    inner = g - (g.mean(dim, keepdim=True) if mean_term else 0)
    inner = inner - (xh * (g * xh).mean(dim, keepdim=True) if xhat_term else 0)
    return (weight if (use_weight and not weight_inside) else 1) * inner / s


def test_layernorm_backward_reference_passes_on_both_cases(capsys):
    check_layernorm_backward(layernorm_backward)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all("close: True" in line for line in lines)


def test_layernorm_backward_stub_is_not_attempted(capsys):
    check_layernorm_backward(stub)
    check_layernorm_backward(None)
    assert capsys.readouterr().out.count("not attempted yet") == 4


@pytest.mark.parametrize("kwargs, hint", [
    (dict(dim=0), "statistics over the batch"),
    (dict(weight_inside=False), "weight multiplied after the means"),
    (dict(mean_term=False), "the mean term is missing"),
    (dict(xhat_term=False), "the x_hat term is missing"),
    (dict(mean_term=False, xhat_term=False), "only the direct path"),
    (dict(unbiased=True), "unbiased variance"),
    (dict(use_weight=False), "the weight is missing"),
])
def test_layernorm_backward_mistakes(kwargs, hint):
    with pytest.raises(AssertionError, match=hint):
        check_layernorm_backward(lambda dy, x, w, eps: layernorm_backward(dy, x, w, eps, **kwargs))


def test_layernorm_backward_hidden_case_catches_a_fixed_shape():
    # an answer that only works for the shown shape (10 features) fails the other case
    def fixed(dy, x, w, eps):
        if x.shape[1] != 10:
            return torch.zeros_like(x)
        return layernorm_backward(dy, x, w, eps)
    with pytest.raises(AssertionError):
        check_layernorm_backward(fixed)
