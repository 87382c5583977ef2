"""Reference solutions to the exercises of the optimizers chapter (tests only)."""


def momentum_step(p, grad, buf, lr, momentum):
    buf = momentum * buf + grad
    return p - lr * buf, buf


def adam_step(p, grad, m, v, t, lr, betas, eps):
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
    return p - lr * m_hat / (v_hat.sqrt() + eps), m, v


def rmsprop_step(p, grad, v, lr, alpha, eps):
    v = alpha * v + (1 - alpha) * grad ** 2      # the bug: grad was not squared
    return p - lr * grad / (v.sqrt() + eps), v
