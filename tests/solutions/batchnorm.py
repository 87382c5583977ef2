"""Reference solutions to the exercises of the BatchNorm chapter (tests only)."""

import torch


def batchnorm_forward(x, gamma, beta, eps):
    mean = x.mean(0, keepdim=True)                       # (1, C)
    var = ((x - mean) ** 2).mean(0, keepdim=True)        # (1, C), biased
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta


def update_running_stats(running_mean, running_var, x, momentum):
    n = x.shape[0]
    mean = x.mean(0)
    var = ((x - mean) ** 2).sum(0) / (n - 1)              # unbiased
    return ((1 - momentum) * running_mean + momentum * mean,
            (1 - momentum) * running_var + momentum * var)


def batchnorm_backward(dy, x, gamma, eps):
    mean = x.mean(0)
    var = ((x - mean) ** 2).mean(0)
    x_hat = (x - mean) / torch.sqrt(var + eps)
    return gamma / torch.sqrt(var + eps) * (dy - dy.mean(0) - x_hat * (dy * x_hat).mean(0))


def layernorm_backward(dy, x, weight, eps):
    var = x.var(1, keepdim=True, correction=0)  # (N, 1) each example over its features
    s = torch.sqrt(var + eps)
    x_hat = (x - x.mean(1, keepdim=True)) / s  # (N, C)
    g = weight * dy  # (N, C) the gradient reaching x_hat
    return (g - g.mean(1, keepdim=True) - x_hat * (g * x_hat).mean(1, keepdim=True)) / s
