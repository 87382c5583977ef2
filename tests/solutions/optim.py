"""Reference solutions to the exercises of the optimizers chapter (page 03x_optimizers_exercises)."""


def momentum_step(p, grad, buf, lr, momentum):
    """Torch's form: the buffer sums the gradients (decayed by the momentum), and the step
    follows the NEW buffer."""
    buf = momentum * buf + grad
    return p - lr * buf, buf


# The buffer starts at zero: after step k it holds 1 + 0.9 + ... + 0.9^(k-1) = 10 (1 - 0.9^k),
# and the step is lr times that. Summed over k = 1 .. 20:
# 0.01 * 10 * (20 - 0.9 (1 - 0.9^20) / 0.1) = 0.1 * (20 - 7.906), about 1.21: six times
# plain SGD's 0.2, but well short of the 2.0 of a buffer that started at its limit.
momentum_distance = 1.21


# Measured: bisection with quadratic_loss_after between a rate that converges and one that
# does not puts the edge at about 0.076. It is where the steepest direction (curvature 50)
# becomes unstable: with momentum mu that happens at lr * 50 = 2 (1 + mu) = 3.8, almost
# twice plain SGD's edge 2 / 50. Just below it, 0.075, still converges; 1.1 times it does not.
largest_stable_lr = 0.075


def nadam_step(p, grad, m, v, mu_product, t, lr, betas, eps, momentum_decay):
    """The momentum schedule first (this step's mu and the next one's), then Adam's two
    moments, then one step that mixes this step's gradient with the momentum looked ahead
    by one step, each divided by its own product of mus."""
    beta1, beta2 = betas
    mu = beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    mu_product = mu_product * mu                      # mu_1 ... mu_t
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    denom = (v / (1 - beta2 ** t)).sqrt() + eps
    step = ((1 - mu) * grad / (1 - mu_product)
            + mu_next * m / (1 - mu_product * mu_next))
    return p - lr * step / denom, m, v, mu_product


def cyclic_lr(steps, base_lr, max_lr, step_size_up, step_size_down, mode):
    """Where step s falls in its cycle (a fraction of the rise or of the fall) gives the
    height of the triangle; triangular2 halves that height every cycle."""
    period = step_size_up + step_size_down
    rates = []
    for s in range(steps):
        cycle, x = divmod(s, period)                   # cycle 0, 1, ...; x = 0 .. period - 1
        if x <= step_size_up:
            height = x / step_size_up                  # rising from base_lr
        else:
            height = 1 - (x - step_size_up) / step_size_down   # falling back
        if mode == "triangular2":
            height *= 0.5 ** cycle
        rates.append(base_lr + (max_lr - base_lr) * height)
    return rates
