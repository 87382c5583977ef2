"""Checkers for the exercises of the chapter *Backpropagation by hand*, on the page
``01x_backprop_exercises``.

Every reference is computed by ``torch.autograd`` in float64, never by a copy of a solution;
every measured number of a prediction is computed here, from fixed inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..autograd import Value
from ..checks import check_function, check_prediction
from . import exercise, hidden_generator

DTYPE = torch.float64


def _inputs(shape, seed: int, scale: float = 3.0) -> torch.Tensor:
    g = hidden_generator(seed)
    return torch.randn(shape, generator=g, dtype=DTYPE) * scale  # spread over sigmoid's range


def _autograd(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    x = x.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(f(x), x)
    return grad


def _sigmoid(a: torch.Tensor) -> torch.Tensor:
    return 1 / (1 + torch.exp(-a))


@exercise("01x_backprop_exercises", "sigmoid_backward")
def check_sigmoid_backward(sigmoid_backward: Callable | None) -> None:
    """Exercise: ``sigmoid_backward(a)`` -> d sigmoid(a) / da, elementwise, for a float64
    tensor ``a`` of any shape, including entries as large as +-800."""
    a = _inputs(12, seed=1)
    huge = torch.tensor([[-800.0, -40.0, 0.0, 40.0], [800.0, -709.0, 1e-3, 5.0]], dtype=DTYPE)
    check_function(
        sigmoid_backward,
        lambda a: _autograd(lambda t: torch.sigmoid(t).sum(), a),
        a,
        cases=[(_inputs((3, 5), seed=11),), (huge,)],  # hidden: 2-D, and huge |a|
        name="dsigmoid/da",
        atol=1e-12,
        rtol=1e-10,
        mistakes={
            "sigma * (1 + sigma): a sign slip in the derivative of 1 / (1 + e^-a)":
                lambda a: _sigmoid(a) * (1 + _sigmoid(a)),
            "the denominator (1 + e^-a) was not squared: the quotient rule squares it":
                lambda a: torch.exp(-a) / (1 + torch.exp(-a)),
            "you returned sigmoid(a) itself, not its derivative":
                lambda a: _sigmoid(a),
            "1 - sigma^2 is the pattern of tanh's derivative, not sigmoid's":
                lambda a: 1 - _sigmoid(a) ** 2,
            "a where sigma(a) belongs: the derivative is written in terms of the output, not the input":
                lambda a: _sigmoid(a) * (1 - a),
        },
    )


A, B = 3.0, 0.5  # the leaves of the graph whose gradient the student predicts


def _reuse_graph(a, b):
    """L = (a * b + a) * a: the leaf a is used three times."""
    return (a * b + a) * a


@exercise("01x_backprop_exercises", "dL_da", stubs=((None,), (...,)))
def check_dL_da(dL_da) -> None:
    """Prediction: dL/da for L = (a * b + a) * a at a = 3, b = 0.5, before backward() runs."""
    a = torch.tensor(A, dtype=DTYPE, requires_grad=True)
    (measured,) = torch.autograd.grad(_reuse_graph(a, torch.tensor(B, dtype=DTYPE)), a)
    u = A * B           # a * b
    v = u + A           # a * b + a
    check_prediction(
        dL_da, measured.item(),
        name="dL/da in (a*b + a)*a", tolerance=0.01,
        mistakes={
            "only the path through the last product, where a is its second factor, was counted":
                v,
            "the path through a * b is missing": v + A,
            "the path through the + node is missing": v + u,
            "only the last path the backward pass visits survived, as with = instead of +=":
                u,
            "that is the value of L, not its derivative": _reuse_graph(A, B),
        },
        explain="a feeds the graph in three places; follow each edge that leaves a up to L, "
                "multiply the local derivatives along it, and add the three paths.",
    )


# --- softplus as an operation of the scalar engine --------------------------------------

# Each case: the leaves a, b, c of L = softplus(a) + softplus(a * b) * c, in which a is
# used twice (softplus(a)'s backward runs after a * b has passed its gradient to a, so an
# op that assigns instead of adding loses it) and an output of softplus is multiplied by c
# (its backward must use the gradient arriving from above).
SOFTPLUS_CASES = [(0.5, -1.5, 2.0), (3.0, 2.0, -0.5), (-4.0, 0.25, 1.5), (2.5, -3.0, 3.0),
                  (1.0, -0.5, -1.0)]


def _graph(softplus, a, b, c):
    return softplus(a) + softplus(a * b) * c


def _named(L, da, db, dc) -> dict[str, float]:
    return {"softplus graph: L": L, "softplus graph: dL/da": da, "softplus graph: dL/db": db,
            "softplus graph: dL/dc": dc}


def _on_graphs(softplus: Callable | None) -> Callable | None:
    """A function of the leaves' values that builds the graph with ``softplus`` (the
    student's op), runs backward() and returns L and the leaves' gradients."""
    if softplus is None or softplus is ...:
        return softplus

    def checked(x):
        out = softplus(x)
        if out is None or out is ...:
            raise TypeError(f"softplus returned {out!r}: did you forget `return`?")
        if not isinstance(out, Value):
            raise TypeError(f"softplus returned a {type(out).__name__}, not a Value: the "
                            "engine needs a node that remembers its input and its backward")
        return out

    def run(a, b, c):
        leaves = [Value(v) for v in (a, b, c)]
        L = _graph(checked, *leaves)
        L.backward()
        return _named(L.data, *(leaf.grad for leaf in leaves))
    return run


def _torch_graphs(a, b, c):
    leaves = [torch.tensor(v, dtype=DTYPE, requires_grad=True) for v in (a, b, c)]
    L = _graph(F.softplus, *leaves)
    grads = torch.autograd.grad(L, leaves)
    return _named(L.item(), *(g.item() for g in grads))


def _softplus_op(local: Callable[[float], float], *, accumulate: bool = True,
                 chain: bool = True, connect: bool = True) -> Callable:
    """A softplus Value op with one thing done wrong (each keyword names a mistake):
    ``local(x)`` is the local derivative it uses."""
    def softplus(x):
        out = Value(math.log1p(math.exp(x.data)), _parents=(x,) if connect else (),
                    _op="softplus")

        def _backward():
            step = local(x.data) * (out.grad if chain else 1.0)
            x.grad = x.grad + step if accumulate else step
        if connect:
            out._backward = _backward
        return out
    return softplus


def _sigma(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


#: The mistakes the softplus checker names, each as the op a student would write; the
#: checker wraps the student's op, so tests/test_exercises_backprop.py plants these.
SOFTPLUS_MISTAKES = {
    "the gradient was assigned with = instead of added with +=: a Value used twice keeps only "
    "one of its paths": _softplus_op(_sigma, accumulate=False),
    "the gradient arriving from above (out.grad) was not multiplied in":
        _softplus_op(_sigma, chain=False),
    "the local derivative is softplus(x) itself (the pattern of exp's backward), not its "
    "derivative": _softplus_op(lambda x: math.log1p(math.exp(x))),
    "the local derivative was evaluated at -x: a sign slip in the exponent":
        _softplus_op(lambda x: _sigma(-x)),
    "the output does not remember its input (no _parents, or no _backward): no gradient "
    "reaches x": _softplus_op(_sigma, connect=False),
}


@exercise("01x_backprop_exercises", "softplus")
def check_softplus(softplus: Callable | None) -> None:
    """Exercise: ``softplus(x)`` -> a new ``Value`` holding log(1 + e^x), with its own
    ``_backward``, without ``Value.exp`` or ``Value.log``. Checked on
    L = softplus(a) + softplus(a * b) * c against ``torch.nn.functional.softplus``."""
    first, *hidden = SOFTPLUS_CASES
    check_function(
        _on_graphs(softplus),
        _torch_graphs,
        *first,
        cases=hidden,
        forbid=("utils.autograd.Value.exp", "utils.autograd.Value.log"),
        name="softplus graph",
        atol=1e-12,
        rtol=1e-10,
        mistakes={label: _on_graphs(fn) for label, fn in SOFTPLUS_MISTAKES.items()},
    )


# --- the error of a central difference ---------------------------------------------------

X0, H = 2.0, 0.1  # f(x) = x**3, central difference at x = 2 with step h = 0.1


@exercise("01x_backprop_exercises", "central_error", stubs=((None,), (...,)))
def check_central_error(central_error) -> None:
    """Prediction: (f(x + h) - f(x - h)) / (2h) - f'(x) for f(x) = x**3 at x = 2, h = 0.1."""
    x = torch.tensor(X0, dtype=DTYPE, requires_grad=True)
    (exact,) = torch.autograd.grad(x**3, x)
    estimate = ((X0 + H) ** 3 - (X0 - H) ** 3) / (2 * H)
    forward = ((X0 + H) ** 3 - X0**3) / H
    check_prediction(
        central_error, estimate - exact.item(),
        name="central difference - f'(x)", tolerance=0.001,
        mistakes={
            "that is the error of the one-sided difference (f(x + h) - f(x)) / h":
                forward - exact.item(),
            "0: a central difference is exact for quadratics, not for cubics": 0.0,
            "h itself: the central difference's error does not shrink like h": H,
            "the Taylor remainder's third derivative was left out (taken as 1)": H**2 / 6,
            "the wrong sign: the error asked for is the estimate minus the true derivative":
                -H**2,
        },
        explain="expand (x + h)^3 and (x - h)^3, subtract, divide by 2h, and compare with 3x^2.",
    )
