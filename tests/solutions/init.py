"""Reference solutions to the exercises of the initialization chapter (tests only)."""

import math

import torch


def expected_initial_loss(V):
    return math.log(V)                     # -log(1/V)


def relu_std(fan_in, fan_out):
    return math.sqrt(2 / fan_in)           # gain sqrt(2) over sqrt(fan_in)


def fixed_init_(weight, generator=None):
    fan_in = weight.shape[1]
    with torch.no_grad():                  # the bug: the gain 5/3 was applied twice
        weight.normal_(0.0, (5 / 3) / math.sqrt(fan_in), generator=generator)
    return weight
