"""Checkers for the exercises of the chapter *Backpropagation by hand*.

Every reference is computed by ``torch.autograd`` in float64, never by a copy of a solution.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..checks import check_function
from . import exercise

DTYPE = torch.float64


def _inputs(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, generator=g, dtype=DTYPE) * 3  # spread over sigmoid's range


def _autograd(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    x = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(f(x), x)
    return grad


@exercise("01_backprop", "sigmoid_backward")
def check_sigmoid_backward(sigmoid_backward: Callable | None) -> None:
    """Exercise: ``sigmoid_backward(a)`` -> d sigmoid(a) / da, elementwise, for a tensor ``a``."""
    a = _inputs(12, seed=1)
    check_function(
        sigmoid_backward,
        lambda a: _autograd(lambda t: torch.sigmoid(t).sum(), a),
        a,
        name="dsigmoid/da",
        atol=1e-12,
        rtol=1e-10,
        mistakes={
            "sigma * (1 + sigma): the derivative is sigma * (1 - sigma)":
                lambda a: torch.sigmoid(a) * (1 + torch.sigmoid(a)),
            "exp(-a) / (1 + exp(-a)): the denominator must be squared":
                lambda a: torch.exp(-a) / (1 + torch.exp(-a)),
            "you returned sigmoid(a) itself, not its derivative":
                lambda a: torch.sigmoid(a),
        },
    )


def _logistic_example():
    g = torch.Generator().manual_seed(2)
    theta = torch.randn(5, generator=g, dtype=DTYPE)                  # (D+1,)
    x = torch.cat([torch.ones(1, dtype=DTYPE), torch.randn(4, generator=g, dtype=DTYPE)])  # x_0 = 1
    return theta, x, 1.0


def _loss_gradient(theta, x, y_star):
    def loss(t):
        y = torch.sigmoid(t @ x)
        return -(y_star * torch.log(y) + (1 - y_star) * torch.log(1 - y))
    return _autograd(loss, theta)


@exercise("01_backprop", "logistic_gradient")
def check_logistic_gradient(logistic_gradient: Callable | None) -> None:
    """Exercise: ``logistic_gradient(theta, x, y_star)`` -> d(-J)/d theta for one example."""
    theta, x, y_star = _logistic_example()
    g = torch.Generator().manual_seed(20)  # hidden: the other label, and a longer x
    hidden = [(theta, x, 0.0), (torch.randn(8, generator=g, dtype=DTYPE),
                                torch.randn(8, generator=g, dtype=DTYPE), 0.0)]
    check_function(
        logistic_gradient,
        _loss_gradient,
        theta, x, y_star,
        cases=hidden,
        name="dloss/dtheta",
        atol=1e-12,
        rtol=1e-10,
        mistakes={
            "this is dJ/dtheta, the gradient of the log-likelihood J; the loss we minimise is -J, "
            "so the sign flips: (y - y*) x":
                lambda t, x, ys: -_loss_gradient(t, x, ys),
            "the factor x_j is missing: (y - y*) is dloss/da; multiply by da/dtheta_j = x_j":
                lambda t, x, ys: (torch.sigmoid(t @ x) - ys) * torch.ones_like(t),
        },
    )


def _test_function(x: torch.Tensor) -> torch.Tensor:
    return (torch.sin(x) * x**2).sum() + x.prod()


@exercise("01_backprop", "central_difference")
def check_central_difference(central_difference: Callable | None) -> None:
    """Exercise: ``central_difference(f, x, h)`` -> the numerical gradient of scalar ``f`` at ``x``."""
    x = _inputs(6, seed=3) / 3
    h = 1e-5

    def forward_difference(f, x, h):
        fx = f(x)
        grad = torch.empty_like(x)
        for i in range(len(x)):
            step = torch.zeros_like(x)
            step[i] = h
            grad[i] = (f(x + step) - fx) / h
        return grad

    check_function(
        central_difference,
        lambda f, x, h: _autograd(f, x),
        _test_function, x, h,
        cases=[(_test_function, _inputs(3, seed=4) / 3, 1e-4)],  # hidden: another x and h
        name="numerical gradient",
        atol=1e-8,
        rtol=1e-6,
        mistakes={
            "a one-sided (forward) difference (f(x+h) - f(x)) / h, whose error is O(h); "
            "use (f(x+h) - f(x-h)) / (2h), whose error is O(h^2)": forward_difference,
        },
    )
