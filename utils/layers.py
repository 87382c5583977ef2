r"""The course's own layers, those ``torch.nn`` does not have, built on :mod:`utils.nn`.

- :class:`Residual`: a shortcut around a block, :math:`y = x + f(x)` (He et al., 2016);
- :class:`Highway`: a learned gate between a transformation and the identity,
  :math:`y = T\odot H + (1 - T)\odot x` (Srivastava, Greff & Schmidhuber, 2015);
- :class:`GaussianNoise`: input noise as a regulariser, identity in eval mode;
- :class:`NoisyBatchNorm1d`: BatchNorm whose output is perturbed by fresh noise at every
  training step, the "noisy BatchNorm" of Santurkar et al. (2018).

Each has the interface of the :mod:`utils.nn` layers (``__call__``, ``parameters()``,
``train()``/``eval()``), so they go into a :class:`utils.nn.Sequential`. The layers torch
does have (``Linear``, ``BatchNorm1d``, ``LayerNorm``, ...) live in :mod:`utils.nn`.

Left out: convolutional variants and stochastic depth.
"""

from __future__ import annotations

import torch

from .nn import BatchNorm1d, Linear, Module, Sequential, Tanh  # Sequential: for the examples

__all__ = ["Residual", "Highway", "GaussianNoise", "NoisyBatchNorm1d"]


class Residual(Module):
    r"""A shortcut around a block: :math:`y = x + f(x)` (He et al., 2016).

    The gradient reaching :math:`x` is the one arriving at :math:`y` plus what flows through
    :math:`f`: :math:`\partial L/\partial x = \partial L/\partial y\,(I + \partial f/\partial x)`.
    The identity term carries the signal through any number of blocks, even when
    :math:`\partial f/\partial x` is small.

    Args:
        block: the residual branch :math:`f`, e.g. ``Sequential(Linear(d, d), Tanh())``,
            whose output has the shape of its input.

    Shape: input (*, d), output (*, d).

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> Residual(Sequential(Linear(4, 4, generator=g), Tanh()))(torch.zeros(3, 4)).shape
        torch.Size([3, 4])
    """

    def __init__(self, block) -> None:
        self.block = block

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)

    def parameters(self) -> list[torch.Tensor]:
        return self.block.parameters()

    def train(self, mode: bool = True) -> Residual:
        self.training = bool(mode)
        self.block.train(mode)
        return self

    def __repr__(self) -> str:
        return f"Residual({self.block!r})"


class Highway(Module):
    r"""A highway layer (Srivastava, Greff & Schmidhuber, 2015): a gate between transform and carry.

    .. math::
        H = \tanh(x W_H^\top + b_H), \qquad T = \sigma(x W_T^\top + b_T), \qquad
        y = T \odot H + (1 - T) \odot x

    With the gate's bias :math:`b_T` negative at the start, :math:`T` is small and the
    layer mostly carries :math:`x` through, like a residual block; training opens the gate
    where a transformation helps.

    Args:
        features: width d (input and output).
        gate_bias: initial value of every entry of :math:`b_T` (default: -2.0, so that
            :math:`T \approx 0.12`; the paper suggests -1 to -3).
        generator: for the two :class:`~utils.nn.Linear` layers' initial weights.
        dtype: of the parameters (default: ``torch.float32``).

    Attributes ``transform`` (:math:`W_H, b_H`) and ``gate`` (:math:`W_T, b_T`), both
    :class:`~utils.nn.Linear`.

    Shape: input (*, d), output (*, d).

    Example:
        >>> layer = Highway(4, generator=torch.Generator().manual_seed(0))
        >>> layer(torch.zeros(2, 4)).shape, round(torch.sigmoid(layer.gate.bias[0]).item(), 2)
        (torch.Size([2, 4]), 0.12)
    """

    def __init__(self, features: int, gate_bias: float = -2.0, *,
                 generator: torch.Generator | None = None,
                 dtype: torch.dtype = torch.float32) -> None:
        self.transform = Linear(features, features, generator=generator, dtype=dtype)
        self.gate = Linear(features, features, generator=generator, dtype=dtype)
        with torch.no_grad():
            self.gate.bias.fill_(gate_bias)
        self.activation = Tanh()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        h = self.activation(self.transform(x))  # (*, d)
        t = torch.sigmoid(self.gate(x))  # (*, d), in (0, 1)
        return t * h + (1 - t) * x

    def parameters(self) -> list[torch.Tensor]:
        return self.transform.parameters() + self.gate.parameters()

    def __repr__(self) -> str:
        return f"Highway({self.transform.in_features})"


class GaussianNoise(Module):
    r"""Add :math:`\mathcal N(0, \sigma^2)` noise to every entry in training mode; identity in eval.

    Noise on the inputs is data augmentation in its simplest form: each pass sees a
    slightly different copy of every example. For small :math:`\sigma` and a squared loss
    it acts like an L2 penalty on the model's input gradient (Bishop, 1995).

    Args:
        std: :math:`\sigma \ge 0`.
        generator: for the noise (default: None, torch's global RNG).

    Shape: any; output the same as the input.

    Example:
        >>> noise = GaussianNoise(0.1).eval()
        >>> bool((noise(torch.ones(3)) == 1).all())
        True
    """

    def __init__(self, std: float, *, generator: torch.Generator | None = None) -> None:
        if not std >= 0:
            raise ValueError(f"std must be >= 0, got {std!r}")
        self.std, self.generator = float(std), generator

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.std == 0:
            return x
        return x + self.std * torch.randn(x.shape, generator=self.generator, dtype=x.dtype)

    def __repr__(self) -> str:
        return f"GaussianNoise(std={self.std})"


class NoisyBatchNorm1d(BatchNorm1d):
    r"""BatchNorm whose output, in training mode, is shifted and scaled by fresh noise every step.

    At every training forward pass each unit :math:`j` draws a mean
    :math:`m_j \sim U(-\text{shift}, \text{shift})` and a scale
    :math:`s_j \sim U(\text{scale}_0, \text{scale}_1)`, and every example :math:`i` gets

    .. math::
        y'_{ij} = s_j\, y_{ij} + m_j + \text{jitter}\cdot s_j\, \xi_{ij}, \qquad
        \xi_{ij} \sim N(0, 1),

    so the distribution of each unit's output over the batch has a non-zero mean and a
    non-unit variance that change at every step: BatchNorm's careful standardisation is
    undone on purpose. In eval mode the layer is a plain BatchNorm1d.

    Args:
        num_features, eps, momentum: as :class:`utils.nn.BatchNorm1d` (defaults 1e-5, 0.1).
        shift: half-width of the uniform range of :math:`m_j` (default: 1.0).
        scale: the range :math:`(\text{scale}_0, \text{scale}_1)` of :math:`s_j`
            (default: (0.5, 2.0)).
        jitter: standard deviation of the per-example noise, in units of :math:`s_j`
            (default: 0.5).
        generator: where the noise comes from (default: None, torch's global RNG).

    Shape: input (N, C), output the same.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, *,
                 shift: float = 1.0, scale: tuple[float, float] = (0.5, 2.0),
                 jitter: float = 0.5, generator: torch.Generator | None = None,
                 dtype: torch.dtype = torch.float32) -> None:
        super().__init__(num_features, eps, momentum, dtype=dtype)
        if shift < 0 or jitter < 0 or not 0 < scale[0] <= scale[1]:
            raise ValueError(f"need shift >= 0, jitter >= 0 and 0 < scale[0] <= scale[1], got "
                             f"shift={shift!r}, scale={scale!r}, jitter={jitter!r}")
        self.shift, self.scale, self.jitter, self.generator = shift, tuple(scale), jitter, generator

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        y = super().__call__(x)  # (N, C)
        if not self.training:
            return y
        C, g = self.num_features, self.generator
        m = (2 * torch.rand(C, generator=g, dtype=y.dtype) - 1) * self.shift  # (C,)
        lo, hi = self.scale
        s = lo + (hi - lo) * torch.rand(C, generator=g, dtype=y.dtype)  # (C,)
        xi = torch.randn(y.shape, generator=g, dtype=y.dtype)  # (N, C)
        return s * (y + self.jitter * xi) + m

    def __repr__(self) -> str:
        return (f"NoisyBatchNorm1d({self.num_features}, shift={self.shift}, scale={self.scale}, "
                f"jitter={self.jitter})")
