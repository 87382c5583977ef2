r"""Checkers for the exercises of the BatchNorm chapters (*Batch normalization* and *Why does
BatchNorm work?*), all asked on the page *Exercises: batch normalization*.

1. :func:`check_batchnorm_forward`: the training-mode forward pass for input of shape
   ``(N, C)``, ``(N, C, L)`` or ``(N, C, H, W)``, as ``BatchNorm1d`` and ``BatchNorm2d``
   compute it (the chapter wrote only the ``(N, C)`` case).
2. :func:`check_running_var_prediction`: a number predicted before ``torch.nn.BatchNorm1d``
   measures it: the running variance after five training steps.
3. :func:`check_batchnorm_backward`: :math:`\partial L/\partial x` from
   :math:`\partial L/\partial y` for all the units at once (the chapter applied the compact
   formula one unit at a time: this is the page's one repeat).
4. :func:`check_layernorm_backward`: :math:`\partial L/\partial x` for LayerNorm, whose
   statistics are those of each example over its own features, with a weight per feature.
5. :func:`check_largest_stable_lr`: a measured claim, the largest stable learning rate of a
   10-layer tanh network with and without BatchNorm, which the checker trains again
   (:func:`deep_tanh_run`).

The references are ``torch.nn.functional.batch_norm`` and ``layer_norm``, with autograd for
the backward passes, in float64 (answers must agree to 1e-10), and ``torch.nn.BatchNorm1d``
for the prediction. The shown examples are fixed; the values of the hidden cases come from
:func:`utils.exercises.hidden_case_seed`, so that an instructor's seed changes them.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..checks import check_function, check_prediction, read_claim
from . import exercise, hidden_case_seed

__all__ = ["check_batchnorm_forward", "check_running_var_prediction", "check_batchnorm_backward",
           "check_layernorm_backward", "check_largest_stable_lr", "deep_tanh_run", "diverged"]

PAGE = "05x_batchnorm_exercises"
DTYPE = torch.float64
EPS = 1e-5
TOL = dict(atol=1e-10, rtol=1e-10)

#: autograd, which the backward exercises ask you to do without (it raises while your code runs)
AUTOGRAD = ("torch.Tensor.backward", "torch.autograd.backward", "torch.autograd.grad")


def _tensor(g: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=g, dtype=DTYPE)


def _forward_case(seed: int, shape: tuple, eps: float = EPS):
    """x of ``shape`` (N, C, ...) with a different mean and spread per channel (one channel
    with a spread near sqrt(eps), where eps matters); gamma, beta (C,)."""
    g = torch.Generator().manual_seed(seed)
    C = shape[1]
    per_channel = (1, C) + (1,) * (len(shape) - 2)
    scale = torch.exp(2 * _tensor(g, C)).view(per_channel)  # (1, C, 1, ...)
    scale.view(-1)[0] = 0.01
    x = _tensor(g, *shape) * scale + 3 * _tensor(g, C).view(per_channel)  # (N, C, ...)
    gamma = 1 + 0.5 * _tensor(g, C)  # (C,)
    beta = _tensor(g, C)  # (C,)
    return x, gamma, beta, eps


def _channels(x, t):
    """A per-channel (C,) tensor shaped to broadcast against x (N, C, ...)."""
    return t.view((1, -1) + (1,) * (x.dim() - 2))


def _bn(x, gamma, beta, eps, dims, *, unbiased=False, eps_outside=False, affine=True,
        shift=True):
    """BatchNorm with the statistics over ``dims``, and the parts a mistake gets wrong."""
    mean = x.mean(dims, keepdim=True)
    var = x.var(dims, keepdim=True, correction=int(unbiased))
    std = var.sqrt() + eps if eps_outside else torch.sqrt(var + eps)
    x_hat = (x - mean) / std
    if not affine:
        return x_hat
    return _channels(x, gamma) * x_hat + (_channels(x, beta) if shift else 0)


def _not_channels(x):
    return [0, *range(2, x.dim())]


@exercise(PAGE, "batchnorm_forward")
def check_batchnorm_forward(batchnorm_forward: Callable | None) -> None:
    """Exercise 1: ``batchnorm_forward(x, gamma, beta, eps)`` -> y, in training mode, for x
    of shape (N, C), (N, C, L) or (N, C, H, W) and gamma, beta of shape (C,), without
    torch's batch_norm. Shown: (8, 5, 6); hidden: (7, 3), (2, 3, 4, 5), (5, 4, 1) with eps
    1e-3."""
    check_function(
        batchnorm_forward,
        lambda x, gamma, beta, eps: F.batch_norm(x, None, None, gamma, beta, training=True,
                                                 eps=eps),
        *_forward_case(0, (8, 5, 6)), name="batchnorm forward y", **TOL,
        cases=[_forward_case(hidden_case_seed(501), (7, 3)),
               _forward_case(hidden_case_seed(502), (2, 3, 4, 5)),
               _forward_case(hidden_case_seed(503), (5, 4, 1), eps=1e-3)],
        forbid=("torch.nn.functional.batch_norm", "torch.batch_norm"),
        mistakes={
            "statistics over the batch dimension only: a channel's mean and variance pool "
            "its values over the batch AND over every position (L, or H and W)":
                lambda x, g, b, eps: _bn(x, g, b, eps, [0]),
            "statistics per example (over the positions, not the batch), as instance or "
            "layer normalisation would compute them":
                lambda x, g, b, eps: _bn(x, g, b, eps, list(range(2, x.dim())) or [1]),
            "one mean and variance for the whole tensor: each channel has its own":
                lambda x, g, b, eps: _bn(x, g, b, eps, list(range(x.dim()))),
            "unbiased variance (divided by the count minus 1): BatchNorm normalises with "
            "the biased one": lambda x, g, b, eps: _bn(x, g, b, eps, _not_channels(x),
                                                       unbiased=True),
            "eps added to the standard deviation: it belongs under the square root":
                lambda x, g, b, eps: _bn(x, g, b, eps, _not_channels(x), eps_outside=True),
            "gamma and beta are missing":
                lambda x, g, b, eps: _bn(x, g, b, eps, _not_channels(x), affine=False),
            "beta is missing": lambda x, g, b, eps: _bn(x, g, b, eps, _not_channels(x),
                                                       shift=False),
        },
    )


# --- Exercise 2: predict the running variance -----------------------------------------------

PREDICT_STEPS, PREDICT_BATCH, PREDICT_MOMENTUM = 5, 4, 0.1
PREDICT_MEAN, PREDICT_VAR = 3.0, 3.0  # of every batch, per unit; the variance divides by B


def _running_var_measured(steps: int = PREDICT_STEPS) -> float:
    """A fresh torch.nn.BatchNorm1d(3, momentum=0.1) trained on ``steps`` batches of 4
    examples whose values have, per unit, mean 3 and variance 3 (dividing by 4): the mean of
    its running_var."""
    g = torch.Generator().manual_seed(0)
    base = torch.tensor([-1.0, -1.0, 1.0, 1.0], dtype=DTYPE)  # mean 0, variance 1 (over 4)
    bn = torch.nn.BatchNorm1d(3, momentum=PREDICT_MOMENTUM, dtype=DTYPE)
    with torch.no_grad():
        for _ in range(steps):
            order = torch.stack([torch.randperm(PREDICT_BATCH, generator=g) for _ in range(3)], 1)
            bn(PREDICT_MEAN + math.sqrt(PREDICT_VAR) * base[order])  # (4, 3)
    return bn.running_var.mean().item()


def _running(steps: int, target: float, start: float = 1.0, momentum: float = PREDICT_MOMENTUM):
    """Where a running value that starts at ``start`` ends after ``steps`` updates towards
    ``target`` (a mistake's number, computed as that mistake would compute it)."""
    for _ in range(steps):
        start = (1 - momentum) * start + momentum * target
    return start


@exercise(PAGE, "running_var_after_5", stubs=((None,), (...,)))
def check_running_var_prediction(running_var_after_5) -> bool:
    """Prediction: the running_var of a fresh ``torch.nn.BatchNorm1d(momentum=0.1)`` after 5
    training steps on batches of 4 whose values have, per unit, mean 3 and variance 3
    (dividing by 4). Tolerance 0.05."""
    n, B, m = PREDICT_STEPS, PREDICT_BATCH, PREDICT_MOMENTUM
    unbiased = PREDICT_VAR * B / (B - 1)
    return check_prediction(
        running_var_after_5, _running_var_measured(),
        name=f"running_var after {n} steps (momentum {m}, batches of {B})", tolerance=0.05,
        mistakes={
            "the biased batch variance: the normalisation uses it, but running_var tracks "
            "the unbiased one": _running(n, PREDICT_VAR),
            "momentum read as the weight of the OLD value (Keras' convention), or a running "
            "variance that has already caught up: in torch momentum weighs the new batch, "
            "so each step moves only a tenth of the way": _running(n, unbiased, momentum=1 - m),
            "one step only: there are five": _running(1, unbiased),
            "five equal increments of a tenth of the initial gap: each step moves a tenth of "
            "the REMAINING gap, which shrinks": 1 + n * m * (unbiased - 1),
            "running_var starting at 0: torch starts it at 1 (and running_mean at 0)":
                _running(n, unbiased, start=0.0),
            "four steps counted: there are five": _running(n - 1, unbiased),
            "six steps counted: there are five": _running(n + 1, unbiased),
        },
        explain="follow the buffer through the five batches: what it starts at, which "
                "variance of each batch it takes in, and what fraction of the remaining gap "
                "each step closes.",
    )


# --- Exercise 3: the backward pass, for all units at once (the page's one repeat) ----------

def _backward_case(seed: int, batch: int, features: int, eps: float = EPS):
    x, gamma, _, _ = _forward_case(seed, (batch, features))
    dy = _tensor(torch.Generator().manual_seed(seed + 1), batch, features)
    return dy, x, gamma, eps


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


@exercise(PAGE, "batchnorm_backward")
def check_batchnorm_backward(batchnorm_backward: Callable | None) -> None:
    """Exercise 3: ``batchnorm_backward(dy, x, gamma, eps)`` -> dL/dx, for the training-mode
    forward pass ``y = gamma * x_hat + beta`` (all of shape (B, C) but gamma, (C,)). Shown:
    (32, 5); hidden: (7, 3), (2, 6) (a batch of two), (16, 4) with eps 1e-3."""
    check_function(
        batchnorm_backward, _autograd_dx, *_backward_case(3, 32, 5),
        name="batchnorm backward dx", **TOL, forbid=AUTOGRAD + (
            "torch.nn.functional.batch_norm", "torch.batch_norm"),
        cases=[_backward_case(hidden_case_seed(511), 7, 3),
               _backward_case(hidden_case_seed(512), 2, 6),
               _backward_case(hidden_case_seed(513), 16, 4, eps=1e-3)],
        mistakes={
            "the path through the batch mean is missing: every x_i moves the batch mean, "
            "which every y_j depends on": lambda *a: _dx(*a, mean_term=False),
            "the path through the batch variance is missing: every x_i moves the batch "
            "variance, which every y_j depends on": lambda *a: _dx(*a, xhat_term=False),
            "only the direct path: x also enters through the batch mean and variance":
                lambda *a: _dx(*a, mean_term=False, xhat_term=False),
            "unbiased variance: the forward pass normalises with the biased one (divide by B)":
                lambda *a: _dx(*a, unbiased=True),
            "gamma is missing: the gradient reaches x_hat through the scale gamma":
                lambda *a: _dx(*a, use_gamma=False),
        },
    )


# --- Exercise 4: LayerNorm's backward pass --------------------------------------------------

def _layernorm_case(seed: int, batch: int, features: int):
    """dy, x (batch, features) with rows on very different scales; weight (features,) far
    from 1; eps."""
    g = torch.Generator().manual_seed(seed)
    row_scale = torch.exp(_tensor(g, batch, 1))  # (B, 1)
    x = _tensor(g, batch, features) * row_scale + 2  # (B, D)
    weight = 1 + 0.5 * _tensor(g, features)  # (D,)
    dy = _tensor(g, batch, features)  # (B, D)
    return dy, x, weight, EPS


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


@exercise(PAGE, "layernorm_backward")
def check_layernorm_backward(layernorm_backward: Callable | None) -> None:
    """Exercise 4: ``layernorm_backward(dy, x, weight, eps)`` -> dL/dx for
    ``y = weight * x_hat + bias``, where each row of x (B, D) is normalised over its D
    features with its own mean and biased variance, and weight has shape (D,). Shown:
    (6, 10); hidden: (9, 4) and (1, 7) (one example)."""
    check_function(
        layernorm_backward, _autograd_layernorm_dx, *_layernorm_case(5, 6, 10),
        name="layernorm backward dx", **TOL, forbid=AUTOGRAD + (
            "torch.nn.functional.layer_norm", "torch.layer_norm"),
        cases=[_layernorm_case(hidden_case_seed(521), 9, 4),
               _layernorm_case(hidden_case_seed(522), 1, 7)],
        mistakes={
            "statistics over the batch (dimension 0), as in BatchNorm: LayerNorm normalises "
            "each example over its own features, so its means run along the other dimension":
                lambda *a: _ln_dx(*a, dim=0),
            "the weight multiplied after the means over the features: in BatchNorm gamma is "
            "one number for all the terms of those sums and factors out; LayerNorm's weight "
            "differs from feature to feature, and the sums run over the features":
                lambda *a: _ln_dx(*a, weight_inside=False),
            "the path through the mean is missing: every feature of an example moves that "
            "example's mean":
                lambda *a: _ln_dx(*a, mean_term=False),
            "the path through the variance is missing: every feature of an example moves "
            "that example's variance": lambda *a: _ln_dx(*a, xhat_term=False),
            "only the direct path: x also enters through the example's mean and variance":
                lambda *a: _ln_dx(*a, mean_term=False, xhat_term=False),
            "unbiased variance: LayerNorm normalises with the biased one (divide by D)":
                lambda *a: _ln_dx(*a, unbiased=True),
            "the weight is missing: the gradient reaches x_hat through the weight":
                lambda *a: _ln_dx(*a, use_weight=False),
        },
    )


# --- Exercise 5: a measured claim, the largest stable learning rate -------------------------

DEPTH, WIDTH, INPUTS, CLASSES, EXAMPLES, BATCH, STEPS = 10, 64, 16, 10, 512, 128, 40
#: a run diverges when its loss ever exceeds this many times ln(CLASSES), a uniform guess's
DIVERGE_FACTOR = 1.5


def _deep_tanh(batchnorm: bool, g: torch.Generator) -> torch.nn.Sequential:
    """DEPTH tanh layers of WIDTH units and a linear output layer, weights drawn with std
    (5/3) / sqrt(fan_in); with BatchNorm after every Linear layer (which then has no bias),
    the last one's gamma at 0.1, else the output weights scaled by 0.1 (unconfident first
    predictions either way)."""
    sizes = [INPUTS] + [WIDTH] * DEPTH + [CLASSES]
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        linear = torch.nn.Linear(fan_in, fan_out, bias=not batchnorm, dtype=DTYPE)
        last = i == DEPTH
        with torch.no_grad():
            linear.weight.copy_(_tensor(g, fan_out, fan_in) * (5 / 3) / math.sqrt(fan_in))
            if linear.bias is not None:
                linear.bias.zero_()
            if last and not batchnorm:
                linear.weight.mul_(0.1)
        layers.append(linear)
        if batchnorm:
            layers.append(torch.nn.BatchNorm1d(fan_out, dtype=DTYPE))
            if last:
                with torch.no_grad():
                    layers[-1].weight.fill_(0.1)
        if not last:
            layers.append(torch.nn.Tanh())
    return torch.nn.Sequential(*layers)


@functools.lru_cache(maxsize=64)
def _losses(lr: float, batchnorm: bool, steps: int, seed: int) -> tuple[float, ...]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny matrices: one thread is faster, and never waits for a busy core
    try:
        return _train(lr, batchnorm, steps, seed)
    finally:
        torch.set_num_threads(threads)


def _train(lr: float, batchnorm: bool, steps: int, seed: int) -> tuple[float, ...]:
    g = torch.Generator().manual_seed(seed)
    X = _tensor(g, EXAMPLES, INPUTS)  # (512, 16)
    teacher = _tensor(g, INPUTS, CLASSES)
    Y = (X @ teacher + 0.5 * _tensor(g, EXAMPLES, CLASSES)).argmax(1)  # (512,) 10 classes
    model = _deep_tanh(batchnorm, g)
    losses = []
    for _ in range(steps):
        ix = torch.randint(0, EXAMPLES, (BATCH,), generator=g)
        loss = F.cross_entropy(model(X[ix]), Y[ix])
        losses.append(loss.item())
        if not math.isfinite(losses[-1]):
            break
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for p in model.parameters():
                p -= lr * p.grad
    return tuple(losses)


def deep_tanh_run(lr: float, *, batchnorm: bool, steps: int = STEPS, seed: int = 0) -> torch.Tensor:
    """Train a 10-layer tanh network (64 units a layer) with plain SGD at rate ``lr`` on a
    fixed 10-class problem (512 examples of 16 features, minibatches of 128), with or without
    a BatchNorm after every Linear layer, and return the ``steps`` training losses (fewer if
    one is not finite). Everything is drawn from ``seed``: the same call gives the same
    losses. The first loss is about ln 10 = 2.30 (an unconfident first guess).

    Example:
        >>> losses = deep_tanh_run(0.1, batchnorm=False)
        >>> len(losses), round(losses[0].item(), 2)
        (40, 2.29)
    """
    return torch.tensor(_losses(float(lr), bool(batchnorm), int(steps), int(seed)), dtype=DTYPE)


def diverged(losses: torch.Tensor) -> bool:
    """True if a run's loss was ever not finite or above 1.5 ln 10 (half as much again as a
    uniform guess's): the steps threw the network away instead of improving it."""
    losses = torch.as_tensor(losses, dtype=DTYPE)
    limit = DIVERGE_FACTOR * math.log(CLASSES)
    return bool(len(losses) < STEPS or not torch.isfinite(losses).all() or losses.max() > limit)


_NETS = ("without BatchNorm", "with BatchNorm")


def _two_rates(claim) -> tuple[float, float]:
    """The claimed (without, with) rates; ValueError saying why they are not two positive
    finite numbers."""
    if isinstance(claim, (str, bool)) or callable(claim):
        raise ValueError(f"expected two numbers, got {type(claim).__name__}")
    if isinstance(claim, dict):
        raise ValueError("expected two numbers in a tuple (without BatchNorm, with BatchNorm), "
                         "got a dict")
    try:
        values = torch.as_tensor(claim.detach() if torch.is_tensor(claim) else claim,
                                 dtype=DTYPE).flatten()
    except (TypeError, ValueError, RuntimeError):
        raise ValueError(f"expected two numbers, got {type(claim).__name__}") from None
    if values.numel() != 2:
        raise ValueError(f"expected two numbers (without BatchNorm, with BatchNorm), got "
                         f"{values.numel()}")
    if not torch.isfinite(values).all() or not (values > 0).all():
        raise ValueError(f"a learning rate is a positive number, got {values.tolist()}")
    return float(values[0]), float(values[1])


def _verdict(lr: float, batchnorm: bool) -> tuple[bool, bool]:
    """(stable at lr, stable at 2 lr) for one network."""
    return (not diverged(deep_tanh_run(lr, batchnorm=batchnorm)),
            not diverged(deep_tanh_run(2 * lr, batchnorm=batchnorm)))


def _passes(lr: float, batchnorm: bool) -> bool:
    """Stable at lr and diverging at 2 lr (the second run only if the first is stable)."""
    return (not diverged(deep_tanh_run(lr, batchnorm=batchnorm))
            and diverged(deep_tanh_run(2 * lr, batchnorm=batchnorm)))


@exercise(PAGE, "largest_stable_lr", stubs=((None,), (...,)))
def check_largest_stable_lr(largest_stable_lr) -> bool:
    """Measured claim: ``largest_stable_lr = (without, with)``, the largest rates at which
    ``deep_tanh_run`` does not diverge, without and with BatchNorm. The checker trains both
    networks at each claimed rate (it must not diverge) and at twice it (it must), so a claim
    passes when it lies within a factor of 2 below the network's true limit."""
    name = "largest stable lr"
    rates = read_claim(largest_stable_lr, name=name, reader=_two_rates,
                       hint="write two positive rates, e.g. `largest_stable_lr = (0.25, 0.5)`, "
                            "the first without BatchNorm, the second with it.")
    if rates is None:
        return False
    problems = []
    for net, lr, bn in zip(_NETS, rates, (False, True)):
        at, twice = _verdict(lr, bn)
        ok = at and not twice
        print(f"{name}, {net} | lr {lr:.4g}: {'stable' if at else 'diverges'} | "
              f"lr {2 * lr:.4g}: {'stable' if twice else 'diverges'}{' | ok' if ok else ''}")
        if not at:
            problems.append(f"{net}, the run at your rate {lr:.4g} diverges")
        elif twice:
            problems.append(f"{net}, the run at twice your rate ({2 * lr:.4g}) is still stable")
    if not problems:
        return True
    swapped = _passes(rates[1], False) and _passes(rates[0], True)
    if rates[0] == rates[1]:
        hint = ("you gave the same rate for both networks: BatchNorm changes how large a step "
                "the network tolerates, so measure each one.")
    elif swapped:
        hint = ("your two rates are swapped: the first is the network without BatchNorm, the "
                "second the one with it.")
    elif any("diverges" in p for p in problems):
        hint = ("a rate that diverges is beyond the limit: try smaller rates with "
                "deep_tanh_run and diverged, and keep the largest that does not diverge.")
    else:
        hint = ("a rate whose double is still stable is not the largest: try larger rates "
                "until the run diverges, and keep the last one that did not.")
    raise AssertionError(f"{name}: " + "; ".join(problems) + f".\nHint: {hint}")
