"""Reference solutions to the exercises of the BatchNorm chapter (tests only)."""

import torch


def batchnorm_forward(x, gamma, beta, eps):
    mean = x.mean(0)
    var = x.var(0, correction=0)                    # biased: divide by B
    return gamma * (x - mean) / torch.sqrt(var + eps) + beta


def update_running_stats(running_mean, running_var, x, momentum):
    new_mean = (1 - momentum) * running_mean + momentum * x.mean(0)
    new_var = (1 - momentum) * running_var + momentum * x.var(0)   # unbiased: B - 1
    return new_mean, new_var


def batchnorm_backward(dy, x, gamma, eps):
    var = x.var(0, correction=0)
    x_hat = (x - x.mean(0)) / torch.sqrt(var + eps)
    return gamma / torch.sqrt(var + eps) * (dy - dy.mean(0) - x_hat * (dy * x_hat).mean(0))


def layernorm_backward(dy, x, weight, eps):
    var = x.var(1, keepdim=True, correction=0)         # (B, 1): one per example
    s = torch.sqrt(var + eps)
    x_hat = (x - x.mean(1, keepdim=True)) / s          # (B, D)
    g = weight * dy                                    # dL/dx_hat: the weight varies along D
    return (g - g.mean(1, keepdim=True) - x_hat * (g * x_hat).mean(1, keepdim=True)) / s
