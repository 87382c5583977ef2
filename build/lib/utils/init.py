r"""Weight initialisation schemes with ``torch.nn.init``'s names, arguments and random draws.

Every function fills its tensor in place (without recording anything for autograd) and
returns it, as torch's do. The schemes differ only in the spread they give the weights:

.. math::
    \mathrm{Var}\Big(\sum_{i=1}^{n} w_i x_i\Big) = n\,\mathrm{Var}(w)\,\mathrm{Var}(x)
    \quad\text{(independent, zero-mean } w_i, x_i\text{)},

so a layer keeps the variance of its input when :math:`\mathrm{std}(w) = \text{gain} /
\sqrt{n}`, with a *gain* (:func:`calculate_gain`) that makes up for what the nonlinearity
after the layer does to the variance: 1 (linear), 5/3 (tanh), :math:`\sqrt 2` (ReLU).

Conventions:

- A ``Linear`` weight has shape ``(out_features, in_features)``, so ``fan_in = shape[1]``
  and ``fan_out = shape[0]`` (:func:`fan_in_and_fan_out`; a conv weight multiplies both by
  its kernel size). The lecture writes ``x @ W`` with ``W`` of shape ``(fan_in, fan_out)``,
  the transpose: initialise ``W.T`` (a view, so the in-place fill reaches ``W``) or swap
  the two fans.
- ``torch.nn.Linear``'s default is :math:`U(-1/\sqrt{\text{fan\_in}}, 1/\sqrt{\text{fan\_in}})`,
  which is ``kaiming_uniform_(w, a=math.sqrt(5))``: the leaky-ReLU gain
  :math:`\sqrt{2/(1+a^2)} = \sqrt{1/3}` times the uniform's :math:`\sqrt 3` gives
  :math:`1/\sqrt{\text{fan\_in}}`, a gain of :math:`1/\sqrt 3` in the sense above.
- The slides' names: "Xavier :math:`N(0, 1/m)`" is ``kaiming_normal_(w, nonlinearity=
  "linear")``; "He :math:`N(0, 2/m)`" is ``kaiming_normal_(w, nonlinearity="relu")``;
  "normalised (Glorot) :math:`U(\pm\sqrt{6/(m+n)})`" is ``xavier_uniform_(w)``. Torch's
  ``xavier_normal_`` averages the two fans: :math:`N(0, 2/(\text{fan\_in}+\text{fan\_out}))`.

Random numbers come from the optional ``generator=`` (torch's global RNG without one) and
are drawn by the same tensor methods torch uses (``Tensor.uniform_``, ``Tensor.normal_``),
in the same order: with the same generator state every function here writes bit for bit
what its ``torch.nn.init`` namesake writes (``tests/test_init.py``). The one exception is
:func:`sparse_`: torch draws the positions of its zeros from the global RNG even when given
a generator, we draw them from the generator. Nothing here seeds anything.

Left out: ``trunc_normal_``, ``eye_``, ``dirac_``, the ``__torch_function__`` dispatch,
zero-element warnings (an empty tensor is returned unchanged) and meta tensors.
"""

from __future__ import annotations

import math
import numbers

import torch

__all__ = ["calculate_gain", "fan_in_and_fan_out", "uniform_", "normal_", "constant_",
           "ones_", "zeros_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
           "kaiming_normal_", "orthogonal_", "sparse_"]

_LINEAR = ("linear", "conv1d", "conv2d", "conv3d",
           "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
NONLINEARITIES = _LINEAR + ("sigmoid", "tanh", "relu", "leaky_relu", "selu")


def _tensor(tensor, what: str) -> torch.Tensor:
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{what} expects a torch.Tensor, got {type(tensor).__name__}")
    return tensor


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    r"""The recommended gain for weights followed by ``nonlinearity`` (``torch.nn.init``'s).

    ============================  =============================================
    nonlinearity                  gain
    ============================  =============================================
    linear, conv*, sigmoid        :math:`1`
    tanh                          :math:`5/3`
    relu                          :math:`\sqrt 2`
    leaky_relu                    :math:`\sqrt{2 / (1 + \text{negative\_slope}^2)}`
    selu                          :math:`3/4`
    ============================  =============================================

    For ReLU the gain follows from :math:`E[\mathrm{relu}(z)^2] = \mathrm{Var}(z)/2`; for
    tanh, 5/3 is empirical: it keeps a deep stack of Linear + Tanh layers at a steady spread.

    Args:
        nonlinearity: one of ``linear``, ``conv1d``, ``conv2d``, ``conv3d``,
            ``conv_transpose1d/2d/3d``, ``sigmoid``, ``tanh``, ``relu``, ``leaky_relu``, ``selu``.
        param: the negative slope of ``leaky_relu`` (default: None, meaning 0.01); ignored
            by the others.

    Example:
        >>> calculate_gain("tanh")
        1.6666666666666667
    """
    if nonlinearity in _LINEAR or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            param = 0.01
        elif isinstance(param, bool) or not isinstance(param, numbers.Real):
            raise ValueError(f"negative_slope must be a number, got {param!r}")
        return math.sqrt(2.0 / (1 + param**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}; expected one of "
                     f"{', '.join(NONLINEARITIES)}")


def fan_in_and_fan_out(tensor: torch.Tensor) -> tuple[int, int]:
    r"""``(fan_in, fan_out)`` of a weight of shape ``(out, in, *kernel)`` (torch's layout).

    :math:`\text{fan\_in} = \text{in} \cdot \prod \text{kernel}`, :math:`\text{fan\_out} =
    \text{out} \cdot \prod \text{kernel}`. For a lecture-style ``W`` of shape
    ``(fan_in, fan_out)`` pass ``W.T``.

    Example:
        >>> fan_in_and_fan_out(torch.empty(200, 30))    # nn.Linear(30, 200).weight
        (30, 200)
        >>> fan_in_and_fan_out(torch.empty(16, 3, 5, 5))  # nn.Conv2d(3, 16, 5).weight
        (75, 400)
    """
    dims = _tensor(tensor, "fan_in_and_fan_out").dim()
    if dims < 2:
        raise ValueError("fan in and fan out can not be computed for tensor with fewer than "
                         f"2 dimensions (got {dims}D)")
    receptive_field = math.prod(tensor.shape[2:])  # 1 for a Linear weight
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _fan(tensor: torch.Tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def uniform_(tensor: torch.Tensor, a: float = 0.0, b: float = 1.0,
             generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Fill ``tensor`` with draws from :math:`U(a, b)`.

    Args:
        a: lower bound (default: 0.0). b: upper bound (default: 1.0).
        generator: the ``torch.Generator`` to draw from (default: None, the global RNG).
    """
    with torch.no_grad():
        return _tensor(tensor, "uniform_").uniform_(a, b, generator=generator)


def normal_(tensor: torch.Tensor, mean: float = 0.0, std: float = 1.0,
            generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Fill ``tensor`` with draws from :math:`N(\text{mean}, \text{std}^2)`.

    Args:
        mean: (default: 0.0). std: standard deviation (default: 1.0).
        generator: the ``torch.Generator`` to draw from (default: None, the global RNG).
    """
    with torch.no_grad():
        return _tensor(tensor, "normal_").normal_(mean, std, generator=generator)


def constant_(tensor: torch.Tensor, val: float) -> torch.Tensor:
    """Fill ``tensor`` with ``val``. Every unit of a layer then computes the same function
    and receives the same gradient: the symmetry is never broken by training."""
    with torch.no_grad():
        return _tensor(tensor, "constant_").fill_(val)


def ones_(tensor: torch.Tensor) -> torch.Tensor:
    """Fill ``tensor`` with 1 (BatchNorm's initial gain)."""
    return constant_(tensor, 1.0)


def zeros_(tensor: torch.Tensor) -> torch.Tensor:
    """Fill ``tensor`` with 0 (biases; BatchNorm's initial shift)."""
    return constant_(tensor, 0.0)


def xavier_uniform_(tensor: torch.Tensor, gain: float = 1.0,
                    generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Glorot & Bengio's (2010) "normalised" initialisation, :math:`U(-b, b)` with

    .. math::
        b = \text{gain} \cdot \sqrt{\frac{6}{\text{fan\_in} + \text{fan\_out}}}
          = \sqrt 3 \cdot \text{gain} \cdot \sqrt{\frac{2}{\text{fan\_in} + \text{fan\_out}}}.

    (A uniform on :math:`(-b, b)` has standard deviation :math:`b/\sqrt 3`.) The average of
    the two fans compromises between keeping the forward and the backward variance.

    Args:
        gain: scaling factor (default: 1.0), e.g. ``calculate_gain("tanh")``.
        generator: the ``torch.Generator`` to draw from (default: None, the global RNG).

    Shape: at least 2 dimensions, ``(out, in, *kernel)``.

    Example:
        >>> w = xavier_uniform_(torch.empty(200, 30), generator=torch.Generator().manual_seed(0))
        >>> bool(w.abs().max() <= math.sqrt(6 / 230))
        True
    """
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    if tensor.numel() == 0:
        return tensor
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return uniform_(tensor, -math.sqrt(3.0) * std, math.sqrt(3.0) * std, generator)


def xavier_normal_(tensor: torch.Tensor, gain: float = 1.0,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Glorot & Bengio's initialisation with a normal distribution,
    :math:`N(0, \text{std}^2)` with :math:`\text{std} = \text{gain} \cdot
    \sqrt{2 / (\text{fan\_in} + \text{fan\_out})}`.

    Args:
        gain: scaling factor (default: 1.0).
        generator: the ``torch.Generator`` to draw from (default: None, the global RNG).

    Shape: at least 2 dimensions, ``(out, in, *kernel)``.
    """
    fan_in, fan_out = fan_in_and_fan_out(tensor)
    if tensor.numel() == 0:
        return tensor
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / float(fan_in + fan_out)), generator)


def _kaiming_std(tensor: torch.Tensor, a: float, mode: str, nonlinearity: str) -> float:
    fan = _fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor: torch.Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu",
                     generator: torch.Generator | None = None) -> torch.Tensor:
    r"""He et al.'s (2015) initialisation with a uniform distribution, :math:`U(-b, b)` with

    .. math::
        b = \sqrt 3 \cdot \frac{\text{gain}}{\sqrt{\text{fan\_mode}}}.

    ``kaiming_uniform_(w, a=math.sqrt(5))`` is ``torch.nn.Linear``'s default,
    :math:`U(\pm 1/\sqrt{\text{fan\_in}})`.

    Args:
        a: the negative slope of the leaky ReLU after this layer (default: 0); used only
            when ``nonlinearity="leaky_relu"``, whose gain it sets.
        mode: ``"fan_in"`` (default) keeps the variance of the forward pass,
            ``"fan_out"`` that of the backward pass.
        nonlinearity: the function after the layer, see :func:`calculate_gain` (default:
            ``"leaky_relu"``, which with ``a=0`` is ReLU's :math:`\sqrt 2`).
        generator: the ``torch.Generator`` to draw from (default: None, the global RNG).

    Shape: at least 2 dimensions, ``(out, in, *kernel)``.
    """
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if tensor.numel() == 0:
        return tensor
    bound = math.sqrt(3.0) * std
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: torch.Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu",
                    generator: torch.Generator | None = None) -> torch.Tensor:
    r"""He et al.'s (2015) initialisation, :math:`N(0, \text{std}^2)` with
    :math:`\text{std} = \text{gain} / \sqrt{\text{fan\_mode}}`.

    With ``nonlinearity="tanh"`` and a ``(200, 30)`` weight this is the lecture's
    :math:`(5/3)/\sqrt{30}`.

    Args:
        a: the negative slope of the leaky ReLU after this layer (default: 0).
        mode: ``"fan_in"`` (default) or ``"fan_out"``.
        nonlinearity: see :func:`calculate_gain` (default: ``"leaky_relu"``).
        generator: the ``torch.Generator`` to draw from (default: None, the global RNG).

    Shape: at least 2 dimensions, ``(out, in, *kernel)``.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> w = kaiming_normal_(torch.empty(200, 30), nonlinearity="tanh", generator=g)
        >>> round(w.std().item() * math.sqrt(30), 1)  # about the gain 5/3
        1.7
    """
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    if tensor.numel() == 0:
        return tensor
    return normal_(tensor, 0.0, std, generator)


def orthogonal_(tensor: torch.Tensor, gain: float = 1,
                generator: torch.Generator | None = None) -> torch.Tensor:
    r"""A random (semi-)orthogonal matrix times ``gain`` (Saxe et al. 2014).

    The tensor is seen as a ``rows x cols`` matrix (``rows = shape[0]``). A Gaussian matrix
    :math:`A` (its transpose if it is wide) is factored :math:`A = QR`; multiplying column
    :math:`j` of :math:`Q` by :math:`\mathrm{sign}(R_{jj})` makes :math:`Q` uniformly
    (Haar) distributed (Mezzadri 2007). Then :math:`W W^\top = \text{gain}^2 I` for a wide
    matrix and :math:`W^\top W = \text{gain}^2 I` for a tall one: every singular value is
    ``gain``, so a stack of such linear layers neither shrinks nor grows any direction.

    Args:
        gain: scaling factor (default: 1).
        generator: the ``torch.Generator`` to draw from (default: None, the global RNG).

    Shape: at least 2 dimensions; trailing ones are flattened into the columns.
    """
    dims = _tensor(tensor, "orthogonal_").dim()
    if dims < 2:
        raise ValueError(f"orthogonal_ needs a tensor with at least 2 dimensions (got {dims}D)")
    if tensor.numel() == 0:
        return tensor
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    a = tensor.new_empty((rows, cols)).normal_(0, 1, generator=generator)  # (rows, cols)
    wide = rows < cols
    q, r = torch.linalg.qr(a.T if wide else a)  # q: (max, min) with orthonormal columns
    q *= torch.diag(r, 0).sign()
    with torch.no_grad():
        tensor.copy_((q.T if wide else q).reshape(tensor.shape))
        return tensor.mul_(gain)


def sparse_(tensor: torch.Tensor, sparsity: float, std: float = 0.01,
            generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Martens' (2010) sparse initialisation: :math:`N(0, \text{std}^2)` weights, of which
    :math:`\lceil \text{sparsity} \cdot \text{rows} \rceil` in every *column* are set to zero.

    For a ``Linear`` weight ``(out, in)`` a column holds the weights leaving one input, so
    each input then feeds a fraction :math:`1 - \text{sparsity}` of the units. Martens
    gives each *unit* :math:`k` non-zero incoming weights instead: ``sparse_(w.T, s)``
    with :math:`\lceil s \cdot \text{fan\_in} \rceil = \text{fan\_in} - k`.

    The normal draws are those of ``torch.nn.init.sparse_``; the zeros' positions come from
    ``generator`` here, but from the global RNG in torch (which ignores its generator for
    them), so the two agree bit for bit only when both use the global RNG.

    Args:
        sparsity: the fraction of each column set to zero, in [0, 1].
        std: standard deviation of the non-zero weights (default: 0.01).
        generator: the ``torch.Generator`` to draw from (default: None, the global RNG).

    Shape: exactly 2 dimensions.
    """
    dims = _tensor(tensor, "sparse_").dim()
    if dims != 2:
        raise ValueError(f"sparse_ needs a 2-D tensor (got {dims}D)")
    if isinstance(sparsity, bool) or not isinstance(sparsity, numbers.Real) \
            or not 0 <= sparsity <= 1:
        raise ValueError(f"sparsity must be a number in [0, 1], got {sparsity!r}")
    rows, cols = tensor.shape
    num_zeros = math.ceil(sparsity * rows)
    with torch.no_grad():
        tensor.normal_(0, std, generator=generator)
        for col in range(cols):
            zero_rows = torch.randperm(rows, generator=generator)[:num_zeros]
            tensor[zero_rows, col] = 0
    return tensor
