r"""The course's two character-level models, built from :mod:`utils.nn` layers.

:func:`names_mlp` is the makemore MLP of Bengio et al. (2003) as the lecture writes it: a
27 x 10 embedding table, three characters of context, one tanh hidden layer of 200 units
and 27 output logits. :func:`deep_mlp` is the lecture's deeper diagnostics net: five hidden
layers of 100 units. Both draw their initial values from ``generator`` in the lecture's
order and with the lecture's formulas, so with the lecture's seed (2147483647) they start
from the lecture's exact numbers. The lecture stores a weight as (fan_in, fan_out) and
computes ``x @ W``; torch's (and our) ``Linear`` stores (out, in) and computes
``x @ weight.T``, so we keep the transpose of each drawn matrix (the same numbers).
"""

from __future__ import annotations

import math

import torch

from . import nn

__all__ = ["NAMES_INITS", "names_mlp", "deep_mlp", "count_parameters"]

#: The rows of the lecture's loss log, in order.
NAMES_INITS = ("original", "fix softmax", "fix tanh", "kaiming", "batchnorm")


def _linear(weight_in_out: torch.Tensor, bias: torch.Tensor | None) -> nn.Linear:
    fan_in, fan_out = weight_in_out.shape
    layer = nn.Linear(fan_in, fan_out, bias=bias is not None,
                      generator=torch.Generator().manual_seed(0))  # values replaced below
    layer.weight = weight_in_out.T.contiguous().requires_grad_()  # (out, in)
    if bias is not None:
        layer.bias = bias.clone().requires_grad_()
    return layer


def names_mlp(init: str = "kaiming", *, generator: torch.Generator, block_size: int = 3,
              n_embd: int = 10, n_hidden: int = 200, vocab_size: int = 27,
              bn_momentum: float = 0.001) -> nn.Sequential:
    r"""The names MLP, initialised as one row of the lecture's loss log.

    Args:
        init: one of :data:`NAMES_INITS`:

            - ``"original"``: every tensor :math:`N(0, 1)`;
            - ``"fix softmax"``: output layer scaled, ``W2 * 0.01``, ``b2 * 0``;
            - ``"fix tanh"``: also ``W1 * 0.2``, ``b1 * 0.01``;
            - ``"kaiming"``: ``W1 * (5/3) / sqrt(n_embd * block_size)`` instead of 0.2;
            - ``"batchnorm"``: Kaiming, no ``b1`` (BatchNorm's shift replaces it) and a
              :class:`utils.nn.BatchNorm1d` with ``momentum=bn_momentum`` before the tanh.
        generator: draws C, W1, b1, W2, b2 in that order (b1 is not drawn with BatchNorm).
        block_size, n_embd, n_hidden, vocab_size: the sizes (defaults: the lecture's).
        bn_momentum: torch's momentum of the running statistics (default: the lecture's
            0.001, i.e. ``running = 0.999 * running + 0.001 * batch``).

    Returns:
        ``Sequential(Embedding, Flatten, Linear, [BatchNorm1d,] Tanh, Linear)``: 11,897
        parameters with the default sizes (12,097 with BatchNorm).
    """
    if init not in NAMES_INITS:
        raise ValueError(f"init must be one of {NAMES_INITS}, got {init!r}")
    g, fan_in = generator, n_embd * block_size
    emb = nn.Embedding(vocab_size, n_embd, generator=g)  # C: (vocab, n_embd), N(0, 1)
    W1 = torch.randn((fan_in, n_hidden), generator=g)
    b1 = None if init == "batchnorm" else torch.randn(n_hidden, generator=g)
    W2 = torch.randn((n_hidden, vocab_size), generator=g)
    b2 = torch.randn(vocab_size, generator=g)
    if init != "original":
        W2, b2 = W2 * 0.01, b2 * 0
    if init == "fix tanh":
        W1, b1 = W1 * 0.2, b1 * 0.01
    elif init in ("kaiming", "batchnorm"):
        W1 = W1 * (5 / 3) / fan_in ** 0.5  # as the lecture writes it (two roundings)
        b1 = None if b1 is None else b1 * 0.01
    hidden = [_linear(W1, b1)]
    if init == "batchnorm":
        hidden.append(nn.BatchNorm1d(n_hidden, momentum=bn_momentum))
    return nn.Sequential(emb, nn.Flatten(), *hidden, nn.Tanh(), _linear(W2, b2))


def deep_mlp(*, generator: torch.Generator, gain: float = 5 / 3, n_layers: int = 5,
             n_hidden: int = 100, batchnorm: bool = False, nonlinearity=nn.Tanh,
             last_layer_scale: float = 0.1, block_size: int = 3, n_embd: int = 10,
             vocab_size: int = 27, bn_momentum: float = 0.1) -> nn.Sequential:
    r"""The lecture's deep diagnostics net: ``n_layers`` hidden layers of ``n_hidden`` units.

    Each Linear weight is drawn as in the lecture, :math:`N(0,1)/\sqrt{\text{fan\_in}}`, then
    multiplied by ``gain`` (hidden layers) or ``last_layer_scale`` (the output layer, to make
    the first predictions less confident); biases start at zero. With ``batchnorm=True`` a
    BatchNorm1d follows every Linear (the Linears then have no bias) and the output
    BatchNorm's weight is scaled by ``last_layer_scale`` instead.

    Args:
        generator: draws the embedding table, then each weight, in layer order.
        gain: multiplies the hidden weights (default: 5/3, tanh's gain).
        n_layers: hidden layers (default: 5). n_hidden: their width (default: 100).
        batchnorm: a BatchNorm1d after every Linear (default: False).
        nonlinearity: the activation class, ``nn.Tanh`` or ``nn.ReLU``, or None for the
            purely linear sandwich (default: ``nn.Tanh``).
        last_layer_scale: see above (default: 0.1).
        block_size, n_embd, vocab_size: the input and output sizes (defaults: the lecture's).
        bn_momentum: torch's momentum for the BatchNorm layers (default: 0.1).
    """
    g = generator
    layers: list = [nn.Embedding(vocab_size, n_embd, generator=g), nn.Flatten()]
    sizes = [n_embd * block_size] + [n_hidden] * n_layers + [vocab_size]
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = i == n_layers
        W = torch.randn((fan_in, fan_out), generator=g) / math.sqrt(fan_in)
        W = W * (1.0 if batchnorm and last else last_layer_scale if last else gain)
        layers.append(_linear(W, None if batchnorm else torch.zeros(fan_out)))
        if batchnorm:
            bn = nn.BatchNorm1d(fan_out, momentum=bn_momentum)
            if last:
                with torch.no_grad():
                    bn.weight *= last_layer_scale
            layers.append(bn)
        if not last and nonlinearity is not None:
            layers.append(nonlinearity())
    return nn.Sequential(*layers)


def count_parameters(model) -> int:
    """The number of scalars in ``model.parameters()``."""
    return sum(p.numel() for p in model.parameters())
