"""Checkers for Homework 1, *a neural network from scratch, checked against PyTorch*.

The homework takes the notebook's worked example, a single-layer network for two classes
(logistic regression), to C classes: ``softmax``, ``cross_entropy``, the gradients of the
layer (``backward``), an SGD step (``sgd_step``) and, as a bonus, a hidden tanh layer
(``two_layer_gradients``). Each checker draws fixed float64 inputs from its own seeded
generator, computes the expected answer with PyTorch (``torch.softmax``,
``F.cross_entropy``, autograd, ``torch.optim.SGD``) and names the usual mistakes.

Some inputs are square on purpose. With as many examples as features (``N == D``) a
forgotten transpose, ``X @ (P - Y)`` for ``X.T @ (P - Y)``, still runs, so the checker can
name the mistake instead of leaving the student with PyTorch's shape error; with as many
rows as classes, a forgotten ``keepdim=True`` in softmax runs too, for the same reason.

Left out on purpose: the reference solutions. Students import this module, so they live in
``tests/solutions/hw1.py``, where only the tests use them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from ..checks import check, check_function, returned
from . import exercise

N, D, C, H = 8, 8, 4, 6  # examples (= features, see above), classes, hidden units
K = 5  # rows and classes of the softmax inputs (square, see above)
LR = 0.1
F64 = torch.float64
#: what exercises 1 and 2 ask the student to write with exp, max, sum and log instead
SOFTMAXES = ("torch.softmax", "torch.Tensor.softmax", "torch.nn.functional.softmax",
             "torch.log_softmax", "torch.Tensor.log_softmax", "torch.nn.functional.log_softmax")


def _randn(generator: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=generator, dtype=F64)


def _layer_inputs(seed: int) -> tuple[torch.Tensor, ...]:
    """A batch and a linear layer: X (N, D), W (D, C), b (C,), labels y (N,)."""
    g = torch.Generator().manual_seed(seed)
    X = _randn(g, N, D)  # (N, D)
    W = _randn(g, D, C)  # (D, C)
    b = _randn(g, C)  # (C,)
    y = torch.randint(0, C, (N,), generator=g)  # (N,)
    return X, W, b, y


def _named(fn: Callable, names: Sequence[str]) -> Callable:
    """Run ``fn`` and label the tensors of its returned tuple, so each gets its own line."""

    def run(*args):
        out = fn(*args)
        if out is not None and not (isinstance(out, (tuple, list)) and len(out) == len(names)):
            raise AssertionError(
                f"{getattr(fn, '__name__', 'the function')} should return {len(names)} "
                f"tensors ({', '.join(names)}), got {type(out).__name__}"
                + (f" of {len(out)}" if isinstance(out, (tuple, list)) else ""))
        return None if out is None else dict(zip(names, out))

    return run if callable(fn) else fn


# --- exercise 1 ----------------------------------------------------------------------
def _softmax_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    Z = 3 * _randn(g, K, K)  # (K, K)
    # rows pushed far up or down: exp() of them overflows to inf or underflows to 0
    shift = torch.tensor([1000.0, -1000.0, 1000.0, -1000.0, 0.0], dtype=F64)  # (K,)
    return Z, Z + shift[:, None]  # (K, K), (K, K)


def _both(answers: dict) -> dict:
    """The answers on both inputs; a written function that returned nothing fails."""
    return {label: returned(answer, label) for label, answer in answers.items()}


def _on_both(fn: Callable) -> Callable:
    return lambda Z, Z_large: _both({"softmax(Z)": fn(Z), "softmax(Z_large)": fn(Z_large)})


def _naive(Z: torch.Tensor) -> torch.Tensor:
    e = Z.exp()
    return e / e.sum(dim=1, keepdim=True)


@exercise("hw1_single_layer", "softmax", graded=True)
def check_softmax(softmax: Callable | None) -> None:
    """Exercise 1: ``softmax(logits)`` -> (N, C) probabilities, each row summing to 1.

    Checked on ordinary logits ``Z`` and on ``Z_large``, whose rows are shifted by +-1000:
    ``exp`` of those overflows, so only a softmax that subtracts each row's maximum passes.
    The reference is ``torch.softmax(Z, dim=1)``.
    """
    Z, Z_large = _softmax_inputs()
    stable = lambda Z: (Z - Z.max(dim=1, keepdim=True).values).exp()  # noqa: E731
    # hidden: one huge logit per row, which subtracting the row's mean does not tame
    lopsided = torch.tensor([[3000.0, 0.0, 0.0], [0.0, -3000.0, 5.0]], dtype=F64)  # (2, 3)
    check_function(
        _on_both(softmax) if callable(softmax) else softmax,
        _on_both(lambda Z: torch.softmax(Z, dim=1)),
        Z, Z_large,
        cases=[(lopsided, lopsided.T.contiguous())],
        forbid=SOFTMAXES,
        name="softmax",
        mistakes={
            "softmax without max-subtraction overflows: exp(1000) is inf and inf / inf is "
            "NaN. Subtract each row's max before exp(); the result is the same": _on_both(_naive),
            "the max of the whole matrix was subtracted, not each row's: rows far below it "
            "underflow to 0 / 0. Use Z.max(dim=1, keepdim=True).values": _on_both(
                lambda Z: (Z - Z.max()).exp() / (Z - Z.max()).exp().sum(dim=1, keepdim=True)),
            "normalised over the batch (dim=0) instead of over the classes (dim=1)": _on_both(
                lambda Z: (Z - Z.max(dim=0).values).exp() / (Z - Z.max(dim=0).values).exp().sum(dim=0)),
            "row i was divided by the sum of another row: the (N,) row sums need "
            "keepdim=True, shape (N, 1), to broadcast along each row": _on_both(
                lambda Z: stable(Z) / stable(Z).sum(dim=1)),
            "each row had another row's max subtracted: Z.max(dim=1) needs keepdim=True, "
            "shape (N, 1), to broadcast along each row": _on_both(
                lambda Z: _naive(Z - Z.max(dim=1).values)),
        },
    )


# --- exercise 2 ----------------------------------------------------------------------
def _cross_entropy_inputs() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    X, W, b, y = _layer_inputs(seed=1)
    Z = X @ W + b  # (N, C)
    # row 0 pushed up and row 1 down by 1000 (exp() overflows, underflows); in row 2 the
    # true class sits 1000 below the others, so its softmax probability underflows to 0
    shift = torch.zeros(N, dtype=F64)  # (N,)
    shift[0], shift[1] = 1000.0, -1000.0
    Z_large = Z + shift[:, None]  # (N, C)
    Z_large[2, y[2]] -= 1000.0
    return Z, Z_large, y


def _on_both_ce(fn: Callable) -> Callable:
    return lambda Z, Z_large, y: _both({"cross_entropy(Z, y)": fn(Z, y),
                                        "cross_entropy(Z_large, y)": fn(Z_large, y)})


@exercise("hw1_single_layer", "cross_entropy", graded=True)
def check_cross_entropy(cross_entropy: Callable | None) -> None:
    """Exercise 2: ``cross_entropy(logits, y)`` -> the mean over the batch of
    ``-log softmax(logits)[i, y[i]]``, computed from the logits without overflow.

    ``logits`` (N, C), ``y`` (N,) integer labels. Checked on ordinary logits ``Z`` and on
    ``Z_large``, where exp() overflows or a true class's probability underflows to 0. The
    reference is ``F.cross_entropy(logits, y)``.
    """
    Z, Z_large, y = _cross_entropy_inputs()
    rows = torch.arange(N)
    log_softmax = lambda Z: Z - Z.logsumexp(dim=1, keepdim=True)  # noqa: E731
    check_function(
        _on_both_ce(cross_entropy) if callable(cross_entropy) else cross_entropy,
        _on_both_ce(F.cross_entropy),
        Z, Z_large, y,
        forbid=SOFTMAXES + ("torch.nn.functional.cross_entropy", "torch.nn.functional.nll_loss",
                            "torch.logsumexp", "torch.Tensor.logsumexp"),
        name="cross_entropy",
        batch_size=N,
        mistakes={
            "log(softmax(Z)) underflows: exp(-1000) is 0 in float64, so a class 1000 below "
            "the top one gets probability 0, and -log(0) is inf. Take the log on paper "
            "first: log softmax(Z)[i, c] = Z[i, c] - logsumexp(Z[i]), where "
            "logsumexp(z) = m + log(sum(exp(z - m))) with m the row max": _on_both_ce(
                lambda Z, y: -torch.log(torch.softmax(Z, dim=1)[rows, y]).mean()),
            "exp() without max-subtraction overflows (or underflows to log(0)): compute "
            "logsumexp(z) as m + log(sum(exp(z - m))) with m the row max": _on_both_ce(
                lambda Z, y: (Z.exp().sum(dim=1).log() - Z[rows, y]).mean()),
            "Z[:, y] picks, for every row, the columns of all N labels (an (N, N) block). "
            "Pair row i with label y[i]: Z[torch.arange(N), y]": _on_both_ce(
                lambda Z, y: Z.logsumexp(dim=1).mean() - Z[:, y].mean()),
            "-log softmax was averaged over every class, not taken at each row's true class":
                _on_both_ce(lambda Z, y: -log_softmax(Z).mean()),
            "divided by N * C instead of N: .mean() of an (N, C) matrix such as Y * log P "
            "averages over the classes too. Sum over the classes, then average over the "
            "examples": _on_both_ce(lambda Z, y: -(F.one_hot(y, C) * log_softmax(Z)).mean()),
        },
    )


# --- exercise 3 ----------------------------------------------------------------------
@exercise("hw1_single_layer", "backward", graded=True)
def check_backward(backward: Callable | None) -> None:
    """Exercise 3: ``backward(X, probs, Y)`` -> ``(dW, db)`` for ``logits = X @ W + b``.

    The loss is the mean cross-entropy; ``probs`` (N, C) = softmax(logits), ``Y`` (N, C)
    one-hot labels; ``dW`` has the shape of W, (D, C), and ``db`` that of b, (C,). The
    reference is autograd's ``W.grad`` and ``b.grad`` after ``F.cross_entropy(...).backward()``.
    """
    X, W, b, y = _layer_inputs(seed=2)
    W.requires_grad_()
    b.requires_grad_()
    logits = X @ W + b  # (N, C)
    F.cross_entropy(logits, y).backward()
    P = torch.softmax(logits, dim=1).detach()  # (N, C)
    Y = F.one_hot(y, C).to(F64)  # (N, C)
    dW, db = W.grad, b.grad  # (D, C), (C,)
    g = torch.Generator().manual_seed(22)  # hidden: more examples than features, 3 classes
    X2 = _randn(g, 11, 5)  # (11, 5)
    P2 = torch.softmax(_randn(g, 11, 3), dim=1)  # (11, 3)
    Y2 = F.one_hot(torch.randint(0, 3, (11,), generator=g), 3).to(F64)  # (11, 3)
    check_function(
        _named(backward, ("dW", "db")),
        _autograd_layer_grads,
        X, P, Y,
        cases=[(X2, P2, Y2)],
        name="backward",
        batch_size=N,
        mistakes={
            "missing transpose: X @ (P - Y) has the right shape here only because N == D. "
            "dW[d, c] sums x[i, d] * (P - Y)[i, c] over the examples i, which is X.T @ (P - Y)":
                lambda X, P, Y: {"dW": X @ (P - Y) / N},
            "sign error: the loss decreases as the true class's logit grows, so its gradient "
            "with respect to the logits is (P - Y) / N, not (Y - P) / N":
                {"dW": -dW, "db": -db},
            "forgot the bias gradient: db is not zero. Each logit depends on b with "
            "derivative 1, so db sums (P - Y) / N over the examples":
                {"db": torch.zeros(C, dtype=F64)},
        },
    )


def _autograd_layer_grads(X, P, Y) -> dict:
    """dW and db of the mean cross-entropy of logits ``X @ W + b`` whose softmax is ``P``,
    by autograd: ``log P`` are such logits (a softmax ignores a shift per row), and W, b
    enter them linearly, so the chain rule through a zero W and b gives the gradients."""
    Z = P.log().requires_grad_()
    (gZ,) = torch.autograd.grad(F.cross_entropy(Z, Y.argmax(dim=1)), Z)  # (N, C)
    W0 = torch.zeros(X.shape[1], P.shape[1], dtype=F64, requires_grad=True)
    b0 = torch.zeros(P.shape[1], dtype=F64, requires_grad=True)
    dW, db = torch.autograd.grad(X @ W0 + b0, (W0, b0), gZ)
    return {"dW": dW, "db": db}


# --- exercise 4 ----------------------------------------------------------------------
@exercise("hw1_single_layer", "sgd_step", graded=True)
def check_sgd_step(sgd_step: Callable | None) -> None:
    """Exercise 4: ``sgd_step(params, grads, lr)`` updates each tensor of ``params`` in place,
    ``p -= lr * g``, and returns nothing.

    Checked on ``params = [W, b]`` with ``lr = 0.1``; the reference is one step of
    ``torch.optim.SGD(params, lr=0.1)`` with the same gradients.
    """
    g = torch.Generator().manual_seed(3)
    W, b, dW, db = _randn(g, D, C), _randn(g, C), _randn(g, D, C), _randn(g, C)
    reference = [W.clone().requires_grad_(), b.clone().requires_grad_()]
    reference[0].grad, reference[1].grad = dW.clone(), db.clone()
    torch.optim.SGD(reference, lr=LR).step()
    expected = {"W": reference[0].detach(), "b": reference[1].detach()}
    params, grads = [W.clone(), b.clone()], [dW.clone(), db.clone()]
    own = list(params)  # the tensors themselves, as a model would hold them
    if sgd_step is not None and sgd_step is not ... and not callable(sgd_step):
        raise AssertionError(f"sgd_step: expected a function, got {type(sgd_step).__name__} "
                             f"{sgd_step!r:.40}.\nHint: define it with def sgd_step(params, grads, lr).")
    try:
        if sgd_step is None or sgd_step is ...:
            raise NotImplementedError
        sgd_step(params, grads, LR)
    except NotImplementedError:
        check(None, expected, name="sgd_step")
        return
    # the caller's own tensors, not whatever the list holds now: params[i] = params[i] - ...
    # rebinds the list's entries and leaves the tensors (the model's weights) unchanged
    check(
        {"W": own[0], "b": own[1]},
        expected,
        name="sgd_step",
        mistakes={
            "the parameters did not change. Inside the function, p = p - lr * g (or "
            "params[i] = params[i] - lr * g) only makes a name or a list entry point to a "
            "new tensor; change the tensor itself, in place, as torch.optim.SGD does":
                {"W": W, "b": b},
            "moved uphill: the step goes against the gradient, p - lr * g, not p + lr * g":
                {"W": W + LR * dW, "b": b + LR * db},
            "forgot the learning rate: the step is lr * g, not g": {"W": W - dW, "b": b - db},
        },
    )


# --- bonus ---------------------------------------------------------------------------
def _two_layer_inputs() -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    g = torch.Generator().manual_seed(4)
    X = _randn(g, N, D)  # (N, D)
    y = torch.randint(0, C, (N,), generator=g)  # (N,)
    params = [0.5 * _randn(g, D, H), _randn(g, H),  # W1 (D, H), b1 (H,)
              _randn(g, H, C), _randn(g, C)]  # W2 (H, C), b2 (C,)
    return X, F.one_hot(y, C).to(F64), params


def _autograd_gradients(X: torch.Tensor, Y: torch.Tensor, params: list[torch.Tensor],
                        tanh_grad: bool = True) -> dict[str, torch.Tensor]:
    """Gradients of the two-layer loss by autograd. With ``tanh_grad=False`` the backward
    pass treats tanh as the identity (forward unchanged): the 'forgot tanh's derivative'
    mistake, computed without writing out any gradient formula."""
    W1, b1, W2, b2 = (p.detach().clone().requires_grad_() for p in params)
    A = X @ W1 + b1  # (N, H)
    Hid = torch.tanh(A) if tanh_grad else A + (torch.tanh(A) - A).detach()  # (N, H)
    logits = Hid @ W2 + b2  # (N, C)
    F.cross_entropy(logits, Y.argmax(dim=1)).backward()
    return {"dW1": W1.grad, "db1": b1.grad, "dW2": W2.grad, "db2": b2.grad}


@exercise("hw1_single_layer", "two_layer_gradients", graded=True)
def check_two_layer_gradients(two_layer_gradients: Callable | None) -> None:
    """Bonus: ``two_layer_gradients(X, Y, params)`` -> ``(dW1, db1, dW2, db2)``.

    The network is ``P = softmax(tanh(X @ W1 + b1) @ W2 + b2)`` with ``params = [W1, b1,
    W2, b2]`` and the mean cross-entropy loss; ``Y`` (N, C) is one-hot. The reference is
    autograd.
    """
    X, Y, params = _two_layer_inputs()
    expected = _autograd_gradients(X, Y, params)
    check_function(
        _named(two_layer_gradients, tuple(expected)),
        lambda X, Y, params: expected,
        X, Y, params,
        name="two_layer_gradients",
        batch_size=N,
        mistakes={
            "forgot tanh's derivative: the gradient reaching the hidden layer's input "
            "A = X @ W1 + b1 is the gradient with respect to tanh(A) times 1 - tanh(A)**2":
                lambda X, Y, params: _autograd_gradients(X, Y, params, tanh_grad=False),
            "sign error: the gradient with respect to the logits is (P - Y) / N, not (Y - P) / N":
                {k: -v for k, v in expected.items()},
        },
    )
