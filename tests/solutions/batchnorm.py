"""Reference solutions to the exercises of the BatchNorm chapters (tests only)."""

import torch


def batchnorm_forward(x, gamma, beta, eps):
    """A channel's statistics pool its values over the batch and over every position, so
    the mean and variance run over every dimension but dimension 1; gamma and beta are
    reshaped to (1, C, 1, ...) so that they broadcast along the channels."""
    dims = [0, *range(2, x.dim())]                     # every dimension but the channels
    mean = x.mean(dims, keepdim=True)                  # (1, C, 1, ...)
    var = x.var(dims, keepdim=True, correction=0)      # biased: divide by the count
    per_channel = (1, -1) + (1,) * (x.dim() - 2)
    x_hat = (x - mean) / torch.sqrt(var + eps)
    return gamma.view(per_channel) * x_hat + beta.view(per_channel)


# running_var starts at 1 and takes in the UNBIASED batch variance, 3 * 4 / 3 = 4. Each step
# closes a tenth of the remaining gap to 4, so after five steps a fraction 0.9 ** 5 = 0.59 of
# the initial gap of 3 is left: 4 - 3 * 0.59 = 2.23.
running_var_after_5 = 4 - 3 * 0.9 ** 5


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


# Measured with deep_tanh_run and diverged on the rates 2 ** k: without BatchNorm 1 is stable
# and 2 diverges; with BatchNorm 8 is stable and 16 diverges.
largest_stable_lr = (1.0, 8.0)
