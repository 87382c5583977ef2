"""Checkers for Homework 1, *a neural network from scratch, checked against PyTorch*.

The homework takes the notebook's worked example, a single-layer network for two classes
(logistic regression), to C classes: ``softmax``, ``cross_entropy``, the gradients of the
layer (``backward``), an SGD step (``sgd_step``), a prediction of the loss before training
(``initial_loss``) and, in part 3, a hidden tanh layer (``two_layer_gradients``). Each
checker draws fixed float64 inputs from its own seeded generator, computes the expected
answer with PyTorch (``torch.softmax``, ``F.cross_entropy``, autograd,
``torch.optim.SGD``) and names the usual mistakes.

Every checker hands the student's own function to :func:`utils.checks.check_function`,
with the shown case first and then hidden cases that vary what the exercise leaves free
(the number of examples, features, hidden units and classes, the learning rate, rows with
one huge logit, ties). The random hidden cases come from
:func:`utils.exercises.hidden_generator`, so that an instructor's seed changes them. Each typical mistake is declared once, as the function a student who
made it would write; the generic tests plant every one of them. The mistakes are written
from PyTorch's answer wherever they can be (``n * F.cross_entropy(...)`` for a sum instead
of a mean), so that this module, which students import, does not spell out the answers.

The shown inputs are square on purpose. With as many examples as features (``N == D``) a
forgotten transpose in the gradient still runs, so the checker can name the mistake
instead of leaving the student with PyTorch's shape error; with as many rows as classes,
a forgotten ``keepdim=True`` in softmax runs too, for the same reason. The hidden cases
are not square, so neither mistake can pass.

Left out on purpose: the reference solutions. They live in ``tests/solutions/hw1.py``,
where only the tests use them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..checks import check, check_function, check_prediction
from . import exercise, hidden_generator

F64 = torch.float64
#: what exercises 1 and 2 ask the student to write with exp, max, sum and log instead
SOFTMAXES = ("torch.softmax", "torch.Tensor.softmax", "torch.nn.functional.softmax",
             "torch.log_softmax", "torch.Tensor.log_softmax", "torch.nn.functional.log_softmax",
             "torch.special.softmax", "torch.special.log_softmax")
LOSSES = ("torch.nn.functional.cross_entropy", "torch.nn.functional.nll_loss",
          "torch.logsumexp", "torch.Tensor.logsumexp", "torch.special.logsumexp")

# PyTorch's own functions, kept before any checker forbids them: the declared mistakes are
# written from PyTorch's answers, and the generic tests run them as a student's code.
_softmax, _log_softmax, _cross_entropy = torch.softmax, torch.log_softmax, F.cross_entropy


def _randn(generator: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=generator, dtype=F64)


def _labels(generator: torch.Generator, n: int, classes: int) -> torch.Tensor:
    return torch.randint(0, classes, (n,), generator=generator)  # (n,) int64


def _one_hot(y: torch.Tensor, classes: int) -> torch.Tensor:
    return F.one_hot(y, classes).to(F64)  # (n, classes)


# --- exercise 1: softmax -------------------------------------------------------------
def _softmax_cases() -> tuple[torch.Tensor, list[tuple[torch.Tensor]]]:
    """The shown logits (5, 5) and the hidden ones: rows shifted by +-1000, one huge logit
    per row (which a shift by the row's mean does not tame), other shapes, a row of ties."""
    Z = 3 * _randn(torch.Generator().manual_seed(0), 5, 5)  # (5, 5)
    shift = torch.tensor([1000.0, -1000.0, 1000.0, -1000.0, 0.0], dtype=F64)  # (5,)
    lopsided = torch.tensor([[3000.0, 0.0, 0.0], [0.0, -3000.0, 5.0]], dtype=F64)  # (2, 3)
    g = hidden_generator(101)
    wide = 4 * _randn(g, 3, 10)  # (3, 10): more classes than rows
    tall = _randn(g, 7, 2)  # (7, 2)
    tall[3] = 2.5  # a row of ties
    return Z, [(Z + shift[:, None],), (lopsided,), (lopsided.T.contiguous(),), (wide,), (tall,)]


def _shifted_exp(Z: torch.Tensor) -> torch.Tensor:
    """exp of the logits shifted so that each row's largest is 0, from PyTorch's softmax."""
    P = _softmax(Z, dim=1)
    return P / P.max(dim=1, keepdim=True).values


def _naive(Z: torch.Tensor) -> torch.Tensor:
    """The softmax straight from its definition, with no shift."""
    return Z.exp() / Z.exp().sum(dim=1, keepdim=True)


@exercise("hw1_single_layer", "softmax", graded=True)
def check_softmax(softmax: Callable | None) -> None:
    """Exercise 1: ``softmax(logits)`` -> (N, C) probabilities, each row summing to 1.

    Shown: 5 x 5 logits. Hidden: the same rows shifted by +-1000 (``exp`` overflows), rows
    with one huge logit, 3 x 10 and 7 x 2 logits, a row of ties. The reference is
    ``torch.softmax(Z, dim=1)``, which the student may not call.
    """
    Z, cases = _softmax_cases()
    check_function(
        softmax, lambda Z: _softmax(Z, dim=1), Z,
        cases=cases, forbid=SOFTMAXES, name="softmax",
        mistakes={
            "exp() overflowed: exp of a logit near 1000 is inf, and inf / inf is NaN. The "
            "exercise's text says which shift of a row changes no probability": _naive,
            "one shift for the whole matrix: rows far below its largest logit underflow to "
            "0 / 0. Each row needs its own shift": lambda Z: _naive(Z - Z.max()),
            "each row was shifted by its mean: a row with one huge logit still overflows. "
            "The shift must bring the row's largest logit down":
                lambda Z: _naive(Z - Z.mean(dim=1, keepdim=True)),
            "normalised over the batch instead of over the classes: your columns sum to 1, "
            "the rows must": lambda Z: _softmax(Z, dim=0),
            "divided by the sum of the whole matrix: each row must sum to 1 on its own":
                lambda Z: _shifted_exp(Z) / _shifted_exp(Z).sum(),
            "row i was divided by the sum of another row: a vector of N row sums broadcasts "
            "along the columns, not along the rows; keep its reduced dimension":
                lambda Z: _shifted_exp(Z) / _shifted_exp(Z).sum(dim=1),
            "each row had another row's maximum subtracted: a vector of N row maxima "
            "broadcasts along the columns, not along the rows; keep its reduced dimension":
                lambda Z: _naive(Z - Z.max(dim=1).values),
        },
    )


# --- exercise 2: cross-entropy -------------------------------------------------------
def _cross_entropy_cases() -> tuple[tuple, list[tuple]]:
    """The shown case, 8 examples of 4 classes, and hidden ones: rows pushed up and down
    by 1000 and a true class 1000 below the others (its probability underflows to 0);
    5 examples of 11 classes whose labels miss the last class; 12 examples of 3 classes
    with a row of ties."""
    g = torch.Generator().manual_seed(1)
    Z, y = 2 * _randn(g, 8, 4), _labels(g, 8, 4)  # (8, 4), (8,)
    Z_large = Z.clone()
    Z_large[0] += 1000.0  # exp() overflows
    Z_large[1] -= 1000.0  # exp() underflows
    Z_large[2, y[2]] -= 1000.0  # the true class's probability underflows to 0
    g = hidden_generator(102)
    Z_many = 3 * _randn(g, 5, 11)  # (5, 11)
    y_many = _labels(g, 5, 10)  # class 10 never occurs
    Z_few, y_few = _randn(g, 12, 3), _labels(g, 12, 3)  # (12, 3), (12,)
    Z_few[5] = -1.0  # ties
    return (Z, y), [(Z_large, y), (Z_many, y_many), (Z_few, y_few)]


def _losses(Z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(N,) the loss of each example, by PyTorch."""
    return _cross_entropy(Z, y, reduction="none")


def _true_logit(Z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return Z.gather(1, y[:, None])[:, 0]  # (N,)


@exercise("hw1_single_layer", "cross_entropy", graded=True)
def check_cross_entropy(cross_entropy: Callable | None) -> None:
    """Exercise 2: ``cross_entropy(logits, y)`` -> the mean over the batch of
    ``-log softmax(logits)[i, y[i]]``, computed from the logits without overflow.

    ``logits`` (N, C), ``y`` (N,) integer labels. Shown: 8 examples of 4 classes. Hidden:
    logits where exp() overflows or a true class's probability underflows to 0, 11 classes
    (more than examples, the last never a label), 3 classes with ties. The reference is
    ``F.cross_entropy(logits, y)``, which the student may not call.
    """
    (Z, y), cases = _cross_entropy_cases()
    check_function(
        cross_entropy, _cross_entropy, Z, y,
        cases=cases, forbid=SOFTMAXES + LOSSES, name="cross_entropy",
        mistakes={
            "the log of a probability that underflowed to 0: a class 1000 below the top "
            "one gets probability 0 in float64, its log is -inf and the loss inf. Do not "
            "compute probabilities at all: simplify log P on paper first":
                lambda Z, y: -_softmax(Z, dim=1).gather(1, y[:, None]).log().mean(),
            "exp() overflowed to inf (or a whole row underflowed, and log(0) = -inf): "
            "shift each row's logits before exp(), as in exercise 1":
                lambda Z, y: (Z.exp().sum(dim=1).log() - _true_logit(Z, y)).mean(),
            "the shift subtracted inside exp() was not added back: your log of the sum is "
            "off by each row's shift":
                lambda Z, y: (_losses(Z, y) - Z.max(dim=1).values).mean(),
            "each example was paired with every label (an (N, N) block of logits), not "
            "with its own label: index row i together with y[i]":
                lambda Z, y: (_losses(Z, y) + _true_logit(Z, y)).mean() - Z[:, y].mean(),
            "-log P was averaged over every class, not taken at each example's true class":
                lambda Z, y: -_log_softmax(Z, dim=1).mean(),
            "your loss is C times too small: it was averaged over the classes as well as "
            "over the examples (the mean of an (N, C) matrix divides by N * C)":
                lambda Z, y: _cross_entropy(Z, y) / Z.shape[1],
            "your loss is N times too large: the loss is the mean over the examples, not "
            "their sum": lambda Z, y: _cross_entropy(Z, y, reduction="sum"),
            "wrong sign: a cross-entropy is never negative, since no probability exceeds 1":
                lambda Z, y: -_cross_entropy(Z, y),
        },
    )


# --- exercise 3: the gradients of the layer ------------------------------------------
def _layer_case(g: torch.Generator, n: int, d: int, classes: int) -> tuple[torch.Tensor, ...]:
    """X (n, d), probs (n, classes) of the logits of a random layer, one-hot Y."""
    X, W, b = _randn(g, n, d), _randn(g, d, classes), _randn(g, classes)
    return X, _softmax(X @ W + b, dim=1), _one_hot(_labels(g, n, classes), classes)


def _logit_grad(P: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """dL/dZ (N, C) of the mean cross-entropy at logits whose softmax is ``P``, by
    autograd: ``log P`` are such logits (a softmax ignores a shift per row)."""
    Z = P.log().requires_grad_()
    (gZ,) = torch.autograd.grad(_cross_entropy(Z, Y.argmax(dim=1)), Z)
    return gZ


def _autograd_layer_grads(X, P, Y) -> tuple[torch.Tensor, torch.Tensor]:
    """(dW, db) of the mean cross-entropy of logits ``X @ W + b`` whose softmax is ``P``,
    by autograd: W and b enter the logits linearly, so the chain rule through a zero W
    and b gives the gradients."""
    W0 = torch.zeros(X.shape[1], P.shape[1], dtype=F64, requires_grad=True)
    b0 = torch.zeros(P.shape[1], dtype=F64, requires_grad=True)
    dW, db = torch.autograd.grad(X @ W0 + b0, (W0, b0), _logit_grad(P, Y))
    return dW, db


@exercise("hw1_single_layer", "backward", graded=True)
def check_backward(backward: Callable | None) -> None:
    """Exercise 3: ``backward(X, probs, Y)`` -> ``(dW, db)`` for ``logits = X @ W + b``.

    The loss is the mean cross-entropy; ``probs`` (N, C) = softmax(logits), ``Y`` (N, C)
    one-hot labels; ``dW`` has the shape of W, (D, C), and ``db`` that of b, (C,). Shown:
    N = D = 8, C = 4. Hidden: 11 examples of 5 features and 3 classes, 3 examples of 6
    features and 7 classes. The reference is autograd.
    """
    X, P, Y = _layer_case(torch.Generator().manual_seed(2), 8, 8, 4)
    g = hidden_generator(103)
    ref = _autograd_layer_grads
    check_function(
        backward, ref, X, P, Y,
        cases=[_layer_case(g, 11, 5, 3), _layer_case(g, 3, 6, 7)],
        name="backward",
        mistakes={
            "dW is missing a transpose: its shape comes out right here only because N == D. "
            "Each entry dW[d, c] sums over the examples":
                lambda X, P, Y: (X @ _logit_grad(P, Y), ref(X, P, Y)[1]),
            "dW came out transposed, with shape (C, D) instead of the shape of W, (D, C)":
                lambda X, P, Y: (ref(X, P, Y)[0].T, ref(X, P, Y)[1]),
            "sign error: the loss falls as the true class's logit grows, so its gradient "
            "with respect to that logit is negative":
                lambda X, P, Y: tuple(-g for g in ref(X, P, Y)),
            "db is N times too large: the bias gradient is a mean over the examples too":
                lambda X, P, Y: (ref(X, P, Y)[0], len(X) * ref(X, P, Y)[1]),
            "your gradients are N times too large: the loss is the mean over the examples, "
            "and each gradient is a mean too":
                lambda X, P, Y: tuple(len(X) * g for g in ref(X, P, Y)),
            "db is zero: the bias does get a gradient, since every logit moves one for one "
            "with its bias": lambda X, P, Y: (ref(X, P, Y)[0], torch.zeros(P.shape[1], dtype=F64)),
            "db was reduced over the classes instead of over the examples: it has one entry "
            "per class": lambda X, P, Y: (ref(X, P, Y)[0], _logit_grad(P, Y).sum(dim=1)),
        },
    )


# --- exercise 4: the SGD step --------------------------------------------------------
class Parameters(tuple):
    """The list of parameter tensors the checker passes to ``sgd_step``: a model holds
    these very tensors, so assigning a new tensor to an entry (``params[i] = ...``)
    changes nothing for it, and here changes nothing at all."""

    def __setitem__(self, index, value) -> None:
        pass

    def __repr__(self) -> str:
        return repr(list(self))


def _sgd_case(g: torch.Generator, lr: float, *shapes: tuple[int, ...]) -> tuple:
    params = Parameters(_randn(g, *s) for s in shapes)
    grads = tuple(_randn(g, *s) for s in shapes)
    return params, grads, lr


def _torch_sgd(params, grads, lr) -> None:
    """One step of ``torch.optim.SGD``, written into ``params`` in place."""
    leaves = [p.detach().clone().requires_grad_() for p in params]
    for leaf, grad in zip(leaves, grads):
        leaf.grad = grad.detach().clone()
    torch.optim.SGD(leaves, lr=lr).step()
    with torch.no_grad():
        for p, leaf in zip(params, leaves):
            p.copy_(leaf)


def _is_stub(fn: Callable | None, args: tuple) -> bool:
    """Whether ``fn`` is an untouched stub (None, ``...``, or raises NotImplementedError on
    ``args``, a copy of the shown case); anything else is left to check_function."""
    if fn is None or fn is ...:
        return True
    try:
        fn(*args)
    except NotImplementedError:
        return True
    except Exception:  # noqa: BLE001 - check_function reports it
        return False
    return False


def _sgd_rebinding(params, grads, lr):
    for p, g in zip(params, grads):
        p = p - lr * g  # noqa: F841 - the mistake: a new tensor, the caller's is unchanged


def _sgd_uphill(params, grads, lr):
    for p, g in zip(params, grads):
        p += lr * g


def _sgd_without_lr(params, grads, lr):
    for p, g in zip(params, grads):
        p -= g


def _sgd_zeroing_grads(params, grads, lr):
    for p, g in zip(params, grads):
        p -= lr * g
        g.zero_()


def _sgd_into_grads(params, grads, lr):
    for g, p in zip(params, grads):  # the names swapped
        p -= lr * g


@exercise("hw1_single_layer", "sgd_step", graded=True)
def check_sgd_step(sgd_step: Callable | None) -> None:
    """Exercise 4: ``sgd_step(params, grads, lr)`` updates each tensor of ``params`` in place,
    and returns nothing; ``grads`` stay as they are.

    Shown: ``params = [W, b]`` with W (8, 4), ``lr = 0.1``. Hidden: three tensors of other
    shapes with ``lr = 0.5``, and one with the integer ``lr = 2``. The reference is one step
    of ``torch.optim.SGD`` with the same gradients. The checker compares the caller's own
    tensors after the call: rebinding a name or a list entry leaves them unchanged.
    """
    params, grads, lr = _sgd_case(torch.Generator().manual_seed(3), 0.1, (8, 4), (4,))
    if _is_stub(sgd_step, _sgd_case(torch.Generator().manual_seed(3), 0.1, (8, 4), (4,))):
        # check_function cannot say "not attempted" for a function that returns nothing
        check(None, (params, grads), name="sgd_step")
        return
    g = hidden_generator(104)
    check_function(
        sgd_step, _torch_sgd, params, grads, lr,
        cases=[_sgd_case(g, 0.5, (5, 3), (3,), (3, 2)), _sgd_case(g, 2, (6,))],
        inplace=(0, 1), name="sgd_step",
        mistakes={
            "the parameters did not change: inside the function, assigning to a name or to "
            "a list entry makes it point to a new tensor, and the caller's tensor stays as "
            "it was. Change the tensor itself, in place, as torch.optim.SGD does":
                _sgd_rebinding,
            "the gradients changed and the parameters did not: the step went into the "
            "wrong list": _sgd_into_grads,
            "moved uphill: the step must go against the gradient": _sgd_uphill,
            "forgot the learning rate: each step is scaled by lr": _sgd_without_lr,
            "the gradients were zeroed after the step: leave them as they are; clearing "
            "them is the training loop's job (optimizer.zero_grad())": _sgd_zeroing_grads,
        },
    )


# --- exercise 5: the loss before training --------------------------------------------
@functools.cache
def _initial_loss() -> float:
    """The mean cross-entropy, on the digits' training set, of exercise 6's softmax
    regression before its first step: W = 0.01 * randn(64, 10) from the generator
    seeded with 3, b = 0."""
    from ..data import digits_splits

    (X, y), _ = digits_splits(test_size=0.25)
    X = X.to(F64)  # (1347, 64)
    W = 0.01 * torch.randn(64, 10, generator=torch.Generator().manual_seed(3), dtype=F64)
    return _cross_entropy(X @ W, y).item()


@exercise("hw1_single_layer", "initial_loss", stubs=((None,), (...,)), graded=True)
def check_initial_loss(initial_loss) -> None:
    """Exercise 5: predict the loss of the untrained softmax regression on the digits
    (10 classes, weights of order 0.01, zero bias), within 0.05 of the measured one."""
    check_prediction(
        initial_loss, _initial_loss(), name="loss before training", tolerance=0.05,
        mistakes={
            "a log to base 10; the cross-entropy uses the natural log": 1.0,
            "the probability of the true class; the loss is its negative log": 0.1,
            "the starting loss of a two-class model; the digits have 10 classes": 0.6931,
            "the number of classes itself; the loss is a log-probability": 10.0,
            "zero: an untrained model is not right yet, it is unsure": 0.0,
            "a count of features, not classes: the loss depends on how many classes share "
            "the probability": 4.159,
            "a negative loss: no probability exceeds 1, so -log P is never negative": -2.303,
        },
        explain="with weights of order 0.01 every logit is close to 0. What probability "
                "does the softmax give each of the 10 classes then, and what is the "
                "cross-entropy of that probability for the true class?",
    )


# --- part 3: two layers ---------------------------------------------------------------
def _two_layer_case(g: torch.Generator, n: int, d: int, h: int, classes: int) -> tuple:
    X, y = _randn(g, n, d), _labels(g, n, classes)
    params = [0.5 * _randn(g, d, h), _randn(g, h),  # W1 (d, h), b1 (h,)
              _randn(g, h, classes), _randn(g, classes)]  # W2 (h, classes), b2 (classes,)
    return X, _one_hot(y, classes), params


class _Tanh(torch.autograd.Function):
    """tanh forward; backward with the derivative ``slope(a, tanh(a))`` (a mistake's)."""

    @staticmethod
    def forward(ctx, a, slope):
        out = torch.tanh(a)
        ctx.save_for_backward(a, out)
        ctx.slope = slope
        return out

    @staticmethod
    def backward(ctx, grad):
        a, out = ctx.saved_tensors
        return grad * ctx.slope(a, out), None


def _autograd_two_layer(X, Y, params, slope=None) -> tuple[torch.Tensor, ...]:
    """(dW1, db1, dW2, db2) of the two-layer loss by autograd; with ``slope``, the backward
    pass uses that derivative of tanh instead of the right one (forward unchanged)."""
    W1, b1, W2, b2 = (p.detach().clone().requires_grad_() for p in params)
    A = X @ W1 + b1  # (N, H)
    Hid = torch.tanh(A) if slope is None else _Tanh.apply(A, slope)  # (N, H)
    loss = _cross_entropy(Hid @ W2 + b2, Y.argmax(dim=1))
    return torch.autograd.grad(loss, (W1, b1, W2, b2))


@exercise("hw1_single_layer", "two_layer_gradients", graded=True)
def check_two_layer_gradients(two_layer_gradients: Callable | None) -> None:
    """Exercise 7 (part 3): ``two_layer_gradients(X, Y, params)`` -> ``(dW1, db1, dW2, db2)``.

    The network is ``P = softmax(tanh(X @ W1 + b1) @ W2 + b2)`` with ``params = [W1, b1,
    W2, b2]`` and the mean cross-entropy loss; ``Y`` (N, C) is one-hot. Shown: N = D = 8,
    h = 6, C = 4. Hidden: (N, D, h, C) = (10, 5, 3, 7) and (3, 9, 12, 2). The reference is
    autograd.
    """
    ref, g = _autograd_two_layer, hidden_generator(105)
    check_function(
        two_layer_gradients, ref, *_two_layer_case(torch.Generator().manual_seed(4), 8, 8, 6, 4),
        cases=[_two_layer_case(g, 10, 5, 3, 7), _two_layer_case(g, 3, 9, 12, 2)],
        name="two_layer_gradients",
        mistakes={
            "forgot tanh's derivative: the gradient reaching the hidden layer's input "
            "passes through tanh, and is scaled by its slope there":
                lambda X, Y, params: ref(X, Y, params, lambda a, t: torch.ones_like(a)),
            "tanh's derivative was taken at the wrong place: written in terms of the "
            "hidden layer's input instead of its output":
                lambda X, Y, params: ref(X, Y, params, lambda a, t: 1 - a**2),
            "tanh's derivative lacks a square": lambda X, Y, params: ref(
                X, Y, params, lambda a, t: 1 - t),
            "sign error: every gradient points the wrong way. Check the gradient with "
            "respect to the logits first":
                lambda X, Y, params: tuple(-g for g in ref(X, Y, params)),
            "your gradients are N times too large: the loss is the mean over the examples, "
            "and each gradient is a mean too":
                lambda X, Y, params: tuple(len(X) * g for g in ref(X, Y, params)),
            "both bias gradients are zero: a bias gets a gradient, since what it feeds "
            "moves one for one with it": lambda X, Y, params: (
                ref(X, Y, params)[0], torch.zeros_like(params[1]),
                ref(X, Y, params)[2], torch.zeros_like(params[3])),
        },
    )
