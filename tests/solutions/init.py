"""Reference solutions to the exercises of the initialization chapter (tests only)."""

import math

import torch


def expected_initial_loss(V):
    return math.log(V)                     # -log(1/V)


def fixed_init_(weight, generator=None):
    fan_in = weight.shape[1]
    with torch.no_grad():                  # the bug: the gain 5/3 was applied twice
        weight.normal_(0.0, (5 / 3) / math.sqrt(fan_in), generator=generator)
    return weight


def kaiming_uniform_fan_out_(weight, nonlinearity, generator=None):
    fan_out = weight.shape[0]              # (out_features, in_features)
    std = torch.nn.init.calculate_gain(nonlinearity) / math.sqrt(fan_out)
    bound = math.sqrt(3) * std             # U(-b, b) has std b / sqrt(3)
    with torch.no_grad():
        weight.uniform_(-bound, bound, generator=generator)
    return weight


# The first layer sees pre-activations with std about 5/3 * 10: nearly all its outputs are
# saturated at +-1, so its std is close to 1 whatever the input's scale. From layer 2 on the
# stack sees inputs of std about 1, as it does for inputs of std 1, and settles where the
# gain and tanh's squashing balance (04's figure: about 0.6 to 0.65). The input's scale is
# forgotten.
std_after_10_layers = 0.65

# A scan in steps of 0.01:
#     next(g / 100 for g in range(100, 200) if tanh_stack_stds(g / 100)[-1] >= 0.5)
# stops at 1.33 (std 0.503; at 1.32 it is 0.497).
smallest_gain = 1.33
