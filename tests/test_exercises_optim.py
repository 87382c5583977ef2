"""Optimizer chapter's checkers: reference solutions pass, planted mistakes get their hints."""

import pytest

from utils.exercises.optim import (buggy_rmsprop_step, check_adam_step, check_momentum_step,
                                   check_rmsprop_step)


def test_momentum_mistakes():
    with pytest.raises(AssertionError, match="slides' velocity form"):
        check_momentum_step(lambda p, g, b, lr, mu: (p + (mu * b - lr * g), mu * b - lr * g))
    with pytest.raises(AssertionError, match="OLD buffer"):
        check_momentum_step(lambda p, g, b, lr, mu: (p - lr * b, mu * b + g))
    with pytest.raises(AssertionError, match="damped like an average"):
        check_momentum_step(lambda p, g, b, lr, mu: (p - lr * (mu * b + (1 - mu) * g),
                                                     mu * b + (1 - mu) * g))


def test_adam_without_bias_correction_is_named():
    def no_correction(p, g, m, v, t, lr, betas, eps):
        m = betas[0] * m + (1 - betas[0]) * g
        v = betas[1] * v + (1 - betas[1]) * g**2
        return p - lr * m / (v.sqrt() + eps), m, v

    with pytest.raises(AssertionError, match="no bias correction"):
        check_adam_step(no_correction)


def test_rmsprop_mistakes():
    with pytest.raises(AssertionError, match="buggy version unchanged"):
        check_rmsprop_step(buggy_rmsprop_step)

    def eps_inside(p, g, v, lr, alpha, eps):
        v = alpha * v + (1 - alpha) * g**2
        return p - lr * g / (v + eps).sqrt(), v

    with pytest.raises(AssertionError, match="eps inside the square root"):
        check_rmsprop_step(eps_inside)
