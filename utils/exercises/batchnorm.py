r"""Checkers for the exercises of the chapters *Batch normalization* (1-3) and *Why does
BatchNorm work?* (4).

1. :func:`check_batchnorm_forward`: the training-mode forward pass,
   :math:`y = \gamma \hat x + \beta` with :math:`\hat x = (x - \mu)/\sqrt{\sigma^2 + \epsilon}`
   and the *biased* batch variance :math:`\sigma^2`.
2. :func:`check_running_stats`: one update of the running statistics in torch's convention:
   ``momentum`` weighs the *new* batch, and ``running_var`` takes the *unbiased* variance.
3. :func:`check_batchnorm_backward`: :math:`\partial L/\partial x` from
   :math:`\partial L/\partial y`, by the compact formula

   .. math::
       \frac{\partial L}{\partial x} = \frac{\gamma}{\sqrt{\sigma^2 + \epsilon}}
       \Big(\frac{\partial L}{\partial y} - \mathrm{mean}\Big(\frac{\partial L}{\partial y}\Big)
       - \hat x\,\mathrm{mean}\Big(\frac{\partial L}{\partial y}\,\hat x\Big)\Big)

   (means over the batch).
4. :func:`check_layernorm_backward`: :math:`\partial L/\partial x` for LayerNorm, whose
   statistics are those of each example over its own features, with a gain per feature.

Every reference is ``torch.nn.functional.batch_norm`` (``layer_norm`` for 4), with autograd
for the backward passes, in float64; answers must agree to 1e-10.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..checks import check_function
from . import exercise

DTYPE = torch.float64
BATCH, FEATURES, EPS, MOMENTUM = 32, 5, 1e-5, 0.1
TOL = dict(atol=1e-10, rtol=1e-10)


def _hidden(seed: int, batch: int = 7, features: int = 3):
    """A hidden case: another batch size and feature count (7 examples of 3 features)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, features, generator=g, dtype=DTYPE) * 2 + 1  # (b, c)
    gamma = 1 + 0.5 * torch.randn(features, generator=g, dtype=DTYPE)  # (c,)
    beta = torch.randn(features, generator=g, dtype=DTYPE)  # (c,)
    return x, gamma, beta


def _example(seed: int):
    """x (BATCH, FEATURES) with a different mean and spread per feature; gamma, beta (FEATURES,)."""
    g = torch.Generator().manual_seed(seed)
    scale = torch.tensor([0.05, 0.5, 1.0, 3.0, 10.0], dtype=DTYPE)
    shift = torch.tensor([2.0, -1.0, 0.0, 5.0, -20.0], dtype=DTYPE)
    x = torch.randn(BATCH, FEATURES, generator=g, dtype=DTYPE) * scale + shift  # (B, C)
    gamma = 1 + 0.5 * torch.randn(FEATURES, generator=g, dtype=DTYPE)  # (C,)
    beta = torch.randn(FEATURES, generator=g, dtype=DTYPE)  # (C,)
    return x, gamma, beta


def _normalise(x, eps, dim=0, unbiased=False):
    mean = x.mean(dim, keepdim=True)
    var = x.var(dim, keepdim=True, unbiased=unbiased)
    return (x - mean) / torch.sqrt(var + eps)


@exercise("05_batchnorm", "batchnorm_forward")
def check_batchnorm_forward(batchnorm_forward: Callable | None) -> None:
    """Exercise 1: ``batchnorm_forward(x, gamma, beta, eps)`` -> y, for x of shape (B, C)
    and gamma, beta of shape (C,), in training mode (the batch's own statistics)."""
    x, gamma, beta = _example(0)
    check_function(
        batchnorm_forward,
        lambda x, gamma, beta, eps: F.batch_norm(x, None, None, gamma, beta, training=True,
                                                 eps=eps),
        x, gamma, beta, EPS, name="batchnorm forward y", **TOL,
        cases=[(*_hidden(10), EPS)],
        mistakes={
            "unbiased variance (divided by B - 1): BatchNorm normalises with the biased batch "
            "variance, x.var(0, unbiased=False)":
                lambda x, g, b, eps: g * _normalise(x, eps, unbiased=True) + b,
            "eps outside the square root: divide by sqrt(var + eps), not sqrt(var) + eps":
                lambda x, g, b, eps: g * (x - x.mean(0)) / (x.var(0, unbiased=False).sqrt() + eps)
                + b,
            "normalised over the features (dim=1) instead of over the batch (dim=0): each "
            "feature gets its own mean and variance, computed down the batch":
                lambda x, g, b, eps: g * _normalise(x, eps, dim=1) + b,
            "gamma and beta are missing: y = gamma * x_hat + beta":
                lambda x, g, b, eps: _normalise(x, eps),
            "beta is missing: y = gamma * x_hat + beta":
                lambda x, g, b, eps: g * _normalise(x, eps),
        },
    )


def _as_pair(fn: Callable | None) -> Callable | None:
    """The student's (new running_mean, new running_var) as a named dict, for the report."""
    if fn is None or fn is ...:
        return None

    def run(*args):
        out = fn(*args)
        if out is None or out is ...:
            return None
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise AssertionError(f"running stats: expected a tuple (new running_mean, new "
                                 f"running_var), got {type(out).__name__} {out!r:.60}")
        return {"running_mean": out[0], "running_var": out[1]}
    return run


def _update(rm, rv, mean, var, momentum):
    return {"running_mean": (1 - momentum) * rm + momentum * mean,
            "running_var": (1 - momentum) * rv + momentum * var}


@exercise("05_batchnorm", "update_running_stats")
def check_running_stats(update_running_stats: Callable | None) -> None:
    """Exercise 2: ``update_running_stats(running_mean, running_var, x, momentum)`` ->
    (new running_mean, new running_var), as ``nn.BatchNorm1d`` updates them in training."""
    x, _, _ = _example(1)
    g = torch.Generator().manual_seed(2)
    running_mean = torch.randn(FEATURES, generator=g, dtype=DTYPE)  # (C,)
    running_var = 0.5 + torch.rand(FEATURES, generator=g, dtype=DTYPE)  # (C,)

    def reference(rm, rv, x, momentum):
        rm, rv = rm.clone(), rv.clone()
        F.batch_norm(x, rm, rv, training=True, momentum=momentum, eps=EPS)  # updates rm, rv
        return {"running_mean": rm, "running_var": rv}

    def stats(x, unbiased=True):
        return x.mean(0), x.var(0, unbiased=unbiased)

    check_function(
        _as_pair(update_running_stats), reference, running_mean, running_var, x, MOMENTUM,
        name="running stats", **TOL,
        mistakes={
            "momentum the other way round: in torch momentum weighs the NEW batch, "
            "running = (1 - momentum) * running + momentum * batch":
                lambda rm, rv, x, m: _update(rm, rv, *stats(x), 1 - m),
            "biased batch variance: running_var takes the unbiased one (divide by B - 1), "
            "although the normalisation uses the biased one":
                lambda rm, rv, x, m: _update(rm, rv, *stats(x, unbiased=False), m),
            "the statistics of the normalised x: the running statistics track the raw input "
            "x, which is what eval mode will normalise":
                lambda rm, rv, x, m: _update(rm, rv, *stats(_normalise(x, EPS)), m),
        },
    )


def _autograd_dx(dy, x, gamma, eps):
    x = x.detach().clone().requires_grad_(True)
    y = F.batch_norm(x, None, None, gamma, None, training=True, eps=eps)
    (dx,) = torch.autograd.grad(y, x, grad_outputs=dy)
    return dx


def _dx(dy, x, gamma, eps, *, mean_term=True, xhat_term=True, unbiased=False, use_gamma=True):
    """The compact formula, with the parts a mistake leaves out switchable."""
    var = x.var(0, unbiased=unbiased)
    x_hat = (x - x.mean(0)) / torch.sqrt(var + eps)  # (B, C)
    inner = dy - (dy.mean(0) if mean_term else 0)  # (B, C)
    inner = inner - (x_hat * (dy * x_hat).mean(0) if xhat_term else 0)
    return (gamma if use_gamma else 1) / torch.sqrt(var + eps) * inner


@exercise("05_batchnorm", "batchnorm_backward")
def check_batchnorm_backward(batchnorm_backward: Callable | None) -> None:
    """Exercise 3: ``batchnorm_backward(dy, x, gamma, eps)`` -> dL/dx, for the training-mode
    forward pass ``y = gamma * x_hat + beta`` (all of shape (B, C) but gamma, (C,))."""
    x, gamma, _ = _example(3)
    dy = torch.randn(BATCH, FEATURES, generator=torch.Generator().manual_seed(4), dtype=DTYPE)
    check_function(
        batchnorm_backward, _autograd_dx, dy, x, gamma, EPS, name="batchnorm backward dx", **TOL,
        cases=[(torch.randn(7, 3, generator=torch.Generator().manual_seed(12), dtype=DTYPE),
                *_hidden(11)[:2], EPS)],
        mistakes={
            "the mean(dy) term is missing: every x_i moves the batch mean, which every y_j "
            "depends on": lambda *a: _dx(*a, mean_term=False),
            "the x_hat * mean(dy * x_hat) term is missing: every x_i moves the batch variance, "
            "which every y_j depends on": lambda *a: _dx(*a, xhat_term=False),
            "only the direct path gamma * dy / sqrt(var + eps): x also enters through the batch "
            "mean and variance": lambda *a: _dx(*a, mean_term=False, xhat_term=False),
            "unbiased variance: the forward pass normalises with the biased one (divide by B)":
                lambda *a: _dx(*a, unbiased=True),
            "gamma is missing: y = gamma * x_hat + beta, so dL/dx_hat = gamma * dL/dy":
                lambda *a: _dx(*a, use_gamma=False),
        },
    )


def _layernorm_example(seed: int, batch: int, features: int):
    """x (batch, features) with rows on very different scales; weight (features,) far from 1."""
    g = torch.Generator().manual_seed(seed)
    row_scale = torch.exp(torch.randn(batch, 1, generator=g, dtype=DTYPE))  # (B, 1)
    x = torch.randn(batch, features, generator=g, dtype=DTYPE) * row_scale + 2  # (B, D)
    weight = 1 + 0.5 * torch.randn(features, generator=g, dtype=DTYPE)  # (D,)
    dy = torch.randn(batch, features, generator=g, dtype=DTYPE)  # (B, D)
    return dy, x, weight


def _autograd_layernorm_dx(dy, x, weight, eps):
    x = x.detach().clone().requires_grad_(True)
    y = F.layer_norm(x, x.shape[-1:], weight, None, eps)
    (dx,) = torch.autograd.grad(y, x, grad_outputs=dy)
    return dx


def _ln_dx(dy, x, weight, eps, *, dim=-1, mean_term=True, xhat_term=True, unbiased=False,
           weight_inside=True, use_weight=True):
    """LayerNorm's dL/dx, with the parts a mistake gets wrong switchable."""
    s = torch.sqrt(x.var(dim, keepdim=True, unbiased=unbiased) + eps)
    x_hat = (x - x.mean(dim, keepdim=True)) / s
    g = dy * weight if (use_weight and weight_inside) else dy  # dL/dx_hat
    inner = g - (g.mean(dim, keepdim=True) if mean_term else 0)
    inner = inner - (x_hat * (g * x_hat).mean(dim, keepdim=True) if xhat_term else 0)
    return (weight if (use_weight and not weight_inside) else 1) * inner / s


@exercise("05b_why_batchnorm", "layernorm_backward")
def check_layernorm_backward(layernorm_backward: Callable | None) -> None:
    """Exercise 4: ``layernorm_backward(dy, x, weight, eps)`` -> dL/dx for
    ``y = weight * x_hat + bias``, where each row of x (B, D) is normalised over its D
    features with its own mean and biased variance, and weight has shape (D,). Checked on
    the example (B, D) = (6, 10) and on a case of another shape drawn from a seed."""
    mistakes = {
        "statistics over the batch (dimension 0), as in BatchNorm: LayerNorm normalises each "
        "example over its own features, so its means run along the other dimension":
            lambda *a: _ln_dx(*a, dim=0),
        "the weight multiplied after the means over the features: in BatchNorm gamma is one "
        "number for all the terms of those sums and factors out; LayerNorm's weight differs "
        "from feature to feature, and the sums run over the features":
            lambda *a: _ln_dx(*a, weight_inside=False),
        "the mean term is missing: every feature of an example moves that example's mean":
            lambda *a: _ln_dx(*a, mean_term=False),
        "the x_hat term is missing: every feature of an example moves that example's variance":
            lambda *a: _ln_dx(*a, xhat_term=False),
        "only the direct path: x also enters through the example's mean and variance":
            lambda *a: _ln_dx(*a, mean_term=False, xhat_term=False),
        "unbiased variance: LayerNorm normalises with the biased one (divide by D)":
            lambda *a: _ln_dx(*a, unbiased=True),
        "the weight is missing: y = weight * x_hat + bias":
            lambda *a: _ln_dx(*a, use_weight=False),
    }
    for name, (seed, batch, features) in [("layernorm backward dx, (6, 10)", (5, 6, 10)),
                                          ("layernorm backward dx, another shape", (6, 9, 4))]:
        dy, x, weight = _layernorm_example(seed, batch, features)
        check_function(layernorm_backward, _autograd_layernorm_dx, dy, x, weight, EPS,
                       name=name, mistakes=mistakes, **TOL)
