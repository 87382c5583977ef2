"""Checkers for the exercises of the chapter *Optimizers*.

Each reference is one step of the matching ``torch.optim`` optimizer, started from the same
state (momentum buffer, moment estimates, step count) as the student's function.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..checks import check_function
from . import exercise

DTYPE = torch.float64


def _tensors(seed: int, *shapes):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=g, dtype=DTYPE) for s in shapes]


def _torch_step(make_opt, p, grad, state):
    """One step of a torch.optim optimizer on parameter ``p`` with ``state`` preloaded."""
    p = p.clone().requires_grad_(True)
    opt = make_opt([p])
    opt.state[p].update({k: v.clone() if torch.is_tensor(v) else v for k, v in state.items()})
    p.grad = grad.clone()
    opt.step()
    return p.detach(), opt.state[p]


@exercise("03_optimizers", "momentum_step")
def check_momentum_step(momentum_step: Callable | None) -> None:
    """Exercise: ``momentum_step(p, grad, buf, lr, momentum)`` -> (new p, new buf), torch's form."""
    p, grad, buf = _tensors(0, (3, 4), (3, 4), (3, 4))
    lr, mu = 0.05, 0.9  # lr != 1 - mu, so that scaling by lr and damping by 1 - mu differ

    def reference(p, grad, buf, lr, mu):
        new_p, state = _torch_step(lambda ps: torch.optim.SGD(ps, lr=lr, momentum=mu), p, grad,
                                   {"momentum_buffer": buf})
        return new_p, state["momentum_buffer"]

    check_function(
        momentum_step, reference, p, grad, buf, lr, mu, name="momentum step",
        atol=1e-12, rtol=1e-10,
        mistakes={
            "the slides' velocity form (v <- mu v - lr g; p <- p + v) keeps v = -lr * b: "
            "torch's buffer is b <- mu b + g and the step is p <- p - lr b":
                lambda p, g, b, lr, mu: (p + (mu * b - lr * g), mu * b - lr * g),
            "the step used the OLD buffer: update b first, then p <- p - lr * b":
                lambda p, g, b, lr, mu: (p - lr * b, mu * b + g),
            "the buffer was damped like an average, b <- mu b + (1 - mu) g: torch adds g itself":
                lambda p, g, b, lr, mu: (p - lr * (mu * b + (1 - mu) * g), mu * b + (1 - mu) * g),
            "the buffer was scaled by lr, b <- mu b + lr g: torch's buffer is mu b + g, and lr "
            "multiplies only the step p <- p - lr b":
                lambda p, g, b, lr, mu: (p - (mu * b + lr * g), mu * b + lr * g),
        },
    )


@exercise("03_optimizers", "adam_step")
def check_adam_step(adam_step: Callable | None) -> None:
    """Exercise: ``adam_step(p, grad, m, v, t, lr, betas, eps)`` -> (new p, new m, new v),
    where ``t`` is the number of this step (1 for the first)."""
    p, grad, m, v = _tensors(1, (5,), (5,), (5,), (5,))
    v = v.abs() * 0.1  # a second moment is never negative
    t, lr, betas, eps = 3, 1e-2, (0.9, 0.999), 1e-8

    def reference(p, grad, m, v, t, lr, betas, eps):
        new_p, state = _torch_step(lambda ps: torch.optim.Adam(ps, lr=lr, betas=betas, eps=eps),
                                   p, grad, {"step": torch.tensor(float(t - 1)),
                                             "exp_avg": m, "exp_avg_sq": v})
        return new_p, state["exp_avg"], state["exp_avg_sq"]

    def no_bias_correction(p, grad, m, v, t, lr, betas, eps):
        m = betas[0] * m + (1 - betas[0]) * grad
        v = betas[1] * v + (1 - betas[1]) * grad**2
        return p - lr * m / (v.sqrt() + eps), m, v

    hp, hg, hm, hv = _tensors(11, (2, 3), (2, 3), (2, 3), (2, 3))  # hidden: step 1, other betas
    check_function(
        adam_step, reference, p, grad, m, v, t, lr, betas, eps, name="adam step",
        cases=[(hp, hg, hm * 0, hv.abs() * 0, 1, 1e-3, (0.8, 0.99), eps)],
        atol=1e-12, rtol=1e-10,
        mistakes={
            "no bias correction: divide m by (1 - beta1^t) and v by (1 - beta2^t) before the "
            "step; early on both estimates are biased towards their zero initial values":
                no_bias_correction,
        },
    )


def buggy_rmsprop_step(p, grad, v, lr, alpha, eps):
    """The RMSprop step with a bug, shown in the chapter: find it."""
    v = alpha * v + (1 - alpha) * grad
    return p - lr * grad / (v.sqrt() + eps), v


@exercise("03_optimizers", "rmsprop_step")
def check_rmsprop_step(rmsprop_step: Callable | None) -> None:
    """Exercise: the corrected ``rmsprop_step(p, grad, v, lr, alpha, eps)`` -> (new p, new v)."""
    p, grad, v = _tensors(2, (4, 3), (4, 3), (4, 3))
    v = v.abs()
    lr, alpha, eps = 1e-2, 0.99, 1e-8

    def reference(p, grad, v, lr, alpha, eps):
        new_p, state = _torch_step(
            lambda ps: torch.optim.RMSprop(ps, lr=lr, alpha=alpha, eps=eps),
            p, grad, {"step": torch.tensor(0.0), "square_avg": v})
        return new_p, state["square_avg"]

    def eps_inside(p, grad, v, lr, alpha, eps):
        v = alpha * v + (1 - alpha) * grad**2
        return p - lr * grad / (v + eps).sqrt(), v

    hp, hg, hv = _tensors(12, (6,), (6,), (6,))  # hidden: another shape and alpha
    check_function(
        rmsprop_step, reference, p, grad, v, lr, alpha, eps, name="rmsprop step",
        cases=[(hp, hg, hv.abs(), 1e-3, 0.9, eps)],
        atol=1e-12, rtol=1e-10,
        mistakes={
            "this is the buggy version unchanged: the running average must be of the SQUARED "
            "gradient, v <- alpha v + (1 - alpha) g^2": buggy_rmsprop_step,
            "eps inside the square root: torch adds eps after it, g / (sqrt(v) + eps)": eps_inside,
        },
    )
