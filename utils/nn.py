r"""Layers written from scratch with ``torch.nn``'s names, arguments and semantics.

Each layer is a small class in the style of the makemore lectures: tensors as attributes,
``__call__(x)`` for the forward pass (autograd does the backward pass), ``parameters()`` for
the optimizer, and a ``training`` flag that :meth:`Module.train` and :meth:`Module.eval`
switch. A student can swap :class:`Linear`, :class:`BatchNorm1d`, :class:`Dropout`,
:class:`LayerNorm`, :class:`Tanh`, :class:`ReLU` and :class:`Sequential` for their
``torch.nn`` namesakes: in
float64 the outputs, gradients and running statistics agree with torch's to rounding error
(``tests/test_nn.py``).

Conventions that differ from the lecture (stated again where they matter):

- :class:`BatchNorm1d` normalises with the *biased* batch variance but stores the *unbiased*
  one in ``running_var``, as torch does; ``momentum`` is torch's, the weight of the *new*
  batch: the lecture's ``0.999 * running + 0.001 * batch`` is ``momentum=0.001``.
- Randomness comes from an optional ``generator=`` (a ``torch.Generator``); without one the
  layers draw from torch's global RNG, as torch does. Nothing here seeds anything.

:meth:`Module.state_dict` and :meth:`Module.load_state_dict` use torch's keys, so a
checkpoint of ours loads into the ``torch.nn`` model of the same architecture.

Left out, to keep every layer a few readable lines: ``nn.Module``'s machinery (hooks,
``named_parameters``, ``to(device)``, submodule registration by attribute), non-strict
loading, ``device=`` arguments, in-place variants, ``BatchNorm2d/3d``, LayerNorm over
several dimensions and lazy layers. The course's own layers that torch lacks (residual and
highway blocks, input noise, noisy BatchNorm) are in :mod:`utils.layers`.
"""

from __future__ import annotations

import math
import numbers

import torch

from .validation import check_int

__all__ = ["Module", "Embedding", "Flatten", "Linear", "Tanh", "ReLU", "Sequential", "BatchNorm1d",
           "LayerNorm", "Dropout"]


class Module:
    """Base class: no parameters, a ``training`` flag (True at first), ``train``/``eval``."""

    training: bool = True

    def parameters(self) -> list[torch.Tensor]:
        return []

    def train(self, mode: bool = True) -> Module:
        """Set ``training`` to ``mode`` (default: True) and return ``self``, as torch does."""
        self.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Same as ``train(False)``: BatchNorm uses its running stats, Dropout does nothing."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to None (torch's default, ``set_to_none=True``)."""
        for p in self.parameters():
            p.grad = None

    def _named_tensors(self, prefix: str = ""):
        """(name, tensor) for every tensor the layer holds, nested layers included."""
        for key, value in vars(self).items():
            if isinstance(value, torch.Tensor):
                yield prefix + key, value
            elif isinstance(value, Module):
                yield from value._named_tensors(f"{prefix}{key}.")

    def state_dict(self) -> dict[str, torch.Tensor]:
        """A copy of every parameter and buffer, by ``torch.nn.Module``'s names.

        The keys are those ``torch.nn.Module.state_dict()`` gives the same architecture
        (``"0.weight"``, ``"0.bias"``, ``"1.running_mean"``, ...); the values are detached
        clones, so later training does not change a saved checkpoint, and
        ``torch.save(model.state_dict(), path)`` writes a checkpoint.

        Example:
            >>> list(Sequential(Linear(2, 3), Tanh(), Linear(3, 1)).state_dict())
            ['0.weight', '0.bias', '2.weight', '2.bias']
        """
        return {name: t.detach().clone() for name, t in self._named_tensors()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        """Copy ``state`` (from :meth:`state_dict` or ``torch.load``) into the layer in place.

        Raises ``KeyError`` naming missing and unexpected keys, ``ValueError`` on a shape
        mismatch, as torch's strict loading does.
        """
        own = dict(self._named_tensors())
        missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
        if missing or unexpected:
            raise KeyError(f"Error(s) in loading state_dict: missing keys {missing}, "
                           f"unexpected keys {unexpected}")
        for name, tensor in own.items():
            if tensor.shape != state[name].shape:
                raise ValueError(f"size mismatch for {name}: copying a param with shape "
                                 f"{tuple(state[name].shape)}, the shape in the model is "
                                 f"{tuple(tensor.shape)}")
            with torch.no_grad():
                tensor.copy_(state[name])


class Embedding(Module):
    r"""A lookup table of learned vectors, one row per index (``torch.nn.Embedding``).

    ``weight`` (num_embeddings, embedding_dim) is drawn from :math:`N(0, 1)`, as in torch
    and as the makemore lecture draws its table ``C``.

    Shape: input (*) of integer indices, output (*, embedding_dim).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, *,
                 generator: torch.Generator | None = None,
                 dtype: torch.dtype = torch.float32) -> None:
        self.num_embeddings = check_int(num_embeddings, "num_embeddings")
        self.embedding_dim = check_int(embedding_dim, "embedding_dim")
        self.weight = torch.randn((num_embeddings, embedding_dim), generator=generator,
                                  dtype=dtype).requires_grad_()  # (num, dim)

    def __call__(self, idx: torch.Tensor) -> torch.Tensor:
        if idx.dtype not in (torch.int32, torch.int64):
            raise TypeError(f"Embedding expects integer indices, got dtype {idx.dtype}")
        return self.weight[idx]  # (*, dim)

    def parameters(self) -> list[torch.Tensor]:
        return [self.weight]

    def __repr__(self) -> str:
        return f"Embedding({self.num_embeddings}, {self.embedding_dim})"


class Flatten(Module):
    """Merge all dimensions after the first (``torch.nn.Flatten()``): (N, *) -> (N, prod(*)).

    The lecture writes the same thing as ``emb.view(emb.shape[0], -1)``.
    """

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)

    def __repr__(self) -> str:
        return "Flatten()"


class Linear(Module):
    r"""An affine map :math:`y = x W^\top + b` (``torch.nn.Linear``).

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: learn an additive bias (default: True).
        generator: the ``torch.Generator`` to draw the initial values from (default: None,
            torch's global RNG).
        dtype: of ``weight`` and ``bias`` (default: ``torch.float32``).

    Attributes ``weight`` (out_features, in_features) and ``bias`` (out_features,) or None,
    both drawn from :math:`U(-k, k)` with :math:`k = 1/\sqrt{\text{in\_features}}`: this is
    torch's ``kaiming_uniform_(weight, a=sqrt(5))``, whose bound
    :math:`\sqrt{3}\,\sqrt{2/(1+a^2)}/\sqrt{\text{fan\_in}}` simplifies to :math:`k`.
    The weight is drawn first, then the bias, as in torch.

    Shape: input (*, in_features), output (*, out_features).

    Example:
        >>> layer = Linear(3, 2, generator=torch.Generator().manual_seed(0))
        >>> layer(torch.ones(5, 3)).shape
        torch.Size([5, 2])
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 generator: torch.Generator | None = None,
                 dtype: torch.dtype = torch.float32) -> None:
        self.in_features = check_int(in_features, "in_features")
        self.out_features = check_int(out_features, "out_features")
        k = 1 / math.sqrt(in_features)
        self.weight = torch.empty(out_features, in_features, dtype=dtype)  # (out, in)
        self.weight.uniform_(-k, k, generator=generator).requires_grad_()
        self.bias = None
        if bias:
            self.bias = torch.empty(out_features, dtype=dtype)  # (out,)
            self.bias.uniform_(-k, k, generator=generator).requires_grad_()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out = x @ self.weight.T  # (*, out)
        return out if self.bias is None else out + self.bias

    def parameters(self) -> list[torch.Tensor]:
        return [self.weight] + ([] if self.bias is None else [self.bias])

    def __repr__(self) -> str:
        return (f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None})")


class Tanh(Module):
    """Elementwise ``tanh`` (``torch.nn.Tanh``); no parameters."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x)

    def __repr__(self) -> str:
        return "Tanh()"


class ReLU(Module):
    """Elementwise ``max(x, 0)`` (``torch.nn.ReLU``); its derivative at 0 is 0, as torch's."""

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x)

    def __repr__(self) -> str:
        return "ReLU()"


class Sequential(Module):
    """Layers applied one after the other (``torch.nn.Sequential``).

    ``parameters()`` lists every layer's parameters in layer order; ``train()`` and
    ``eval()`` set the flag of every layer; ``model[i]`` is the i-th layer, ``model[i:j]``
    a :class:`Sequential` of those layers (the same objects), ``len(model)`` their number.

    Example:
        >>> g = torch.Generator().manual_seed(0)
        >>> model = Sequential(Linear(2, 4, generator=g), Tanh(), Linear(4, 1, generator=g))
        >>> [tuple(p.shape) for p in model.parameters()]
        [(4, 2), (4,), (1, 4), (1,)]
    """

    def __init__(self, *layers) -> None:
        for layer in layers:
            if not callable(layer):
                raise TypeError(f"Sequential takes callable layers, got {layer!r}")
        self.layers = list(layers)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list[torch.Tensor]:
        return [p for layer in self.layers if hasattr(layer, "parameters")
                for p in layer.parameters()]

    def train(self, mode: bool = True) -> Sequential:
        self.training = bool(mode)
        for layer in self.layers:
            if hasattr(layer, "train"):
                layer.train(mode)
        return self

    def _named_tensors(self, prefix: str = ""):
        for i, layer in enumerate(self.layers):  # torch's keys: the layer's index
            if isinstance(layer, Module):
                yield from layer._named_tensors(f"{prefix}{i}.")

    def __getitem__(self, i):
        return Sequential(*self.layers[i]) if isinstance(i, slice) else self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __repr__(self) -> str:
        return "Sequential(\n" + "".join(f"  ({i}): {layer!r}\n"
                                         for i, layer in enumerate(self.layers)) + ")"


class BatchNorm1d(Module):
    r"""Batch normalisation over the batch (and length) dimension (``torch.nn.BatchNorm1d``).

    In training mode, each channel :math:`c` is normalised with the statistics of the batch
    :math:`\mathcal B` (the :math:`n` values of that channel: N of them, N·L for 3D input):

    .. math::
        \mu_c = \frac1n \sum_{i \in \mathcal B} x_{ic}, \qquad
        \sigma_c^2 = \frac1n \sum_{i \in \mathcal B} (x_{ic} - \mu_c)^2, \qquad
        y_{ic} = \gamma_c \frac{x_{ic} - \mu_c}{\sqrt{\sigma_c^2 + \epsilon}} + \beta_c

    and the running statistics move towards the batch's,

    .. math::
        \hat\mu \leftarrow (1 - m)\,\hat\mu + m\,\mu, \qquad
        \hat\sigma^2 \leftarrow (1 - m)\,\hat\sigma^2 + m\,\frac{n}{n - 1}\sigma^2,

    with :math:`m` = ``momentum``, or :math:`m = 1/t` at the t-th batch when ``momentum`` is
    None (the plain average of all batches so far). In eval mode :math:`\hat\mu` and
    :math:`\hat\sigma^2` replace :math:`\mu` and :math:`\sigma^2` and nothing is updated.

    Args:
        num_features: number of channels C.
        eps: :math:`\epsilon`, added to the variance (default: 1e-5).
        momentum: :math:`m`, the weight of the *new* batch, in [0, 1]; None for the
            cumulative average (default: 0.1).
        affine: learn ``weight`` :math:`\gamma` (ones) and ``bias`` :math:`\beta` (zeros)
            (default: True); otherwise both are None.
        track_running_stats: keep ``running_mean`` (zeros), ``running_var`` (ones) and
            ``num_batches_tracked`` (0, an int64 tensor) (default: True); otherwise all three
            are None and the batch statistics are used in eval mode too.
        dtype: of the parameters and running statistics (default: ``torch.float32``).

    Shape: input (N, C) or (N, C, L), output the same.

    Example:
        >>> bn = BatchNorm1d(3, momentum=0.001)   # the lecture's 0.999 / 0.001 update
        >>> y = bn(torch.randn(32, 3)); y.shape, bn.num_batches_tracked.item()
        (torch.Size([32, 3]), 1)

    Note:
        The batch is normalised with the *biased* variance (divide by n) but ``running_var``
        averages the *unbiased* one (divide by n - 1), as in torch; the makemore lecture
        keeps the unbiased ``var()`` for both, which changes training outputs slightly.
        torch's ``momentum`` weighs the new batch: the lecture's
        ``running = 0.999 * running + 0.001 * batch`` is ``momentum=0.001`` here, not 0.999.
        As in torch, training needs more than one value per channel (n > 1).
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, *,
                 dtype: torch.dtype = torch.float32) -> None:
        self.num_features = check_int(num_features, "num_features")
        if not eps > 0:
            raise ValueError(f"eps must be positive, got {eps!r}")
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"momentum must be in [0, 1] or None, got {momentum!r}")
        self.eps, self.momentum = eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        self.weight = self.bias = None
        if affine:
            self.weight = torch.ones(num_features, dtype=dtype, requires_grad=True)  # (C,)
            self.bias = torch.zeros(num_features, dtype=dtype, requires_grad=True)  # (C,)
        self.running_mean = self.running_var = self.num_batches_tracked = None
        if track_running_stats:
            self.running_mean = torch.zeros(num_features, dtype=dtype)  # (C,)
            self.running_var = torch.ones(num_features, dtype=dtype)  # (C,)
            self.num_batches_tracked = torch.tensor(0, dtype=torch.long)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {x.dim()}D input)")
        if x.shape[1] != self.num_features:
            raise ValueError(f"expected {self.num_features} channels in dim 1, "
                             f"got input of shape {tuple(x.shape)}")
        dims = (0, 2) if x.dim() == 3 else (0,)  # reduce over all but the channel dim
        shape = (1, -1, 1) if x.dim() == 3 else (1, -1)  # broadcast (C,) against x
        use_batch = self.training or self.running_mean is None
        if use_batch:
            n = x.numel() // x.shape[1]
            if n == 1:
                raise ValueError("Expected more than 1 value per channel when training, "
                                 f"got input size {tuple(x.shape)}")
            mean = x.mean(dim=dims)  # (C,)
            var = x.var(dim=dims, correction=0)  # (C,) biased, for normalising
            if self.training and self.track_running_stats:
                self._update_running_stats(mean, var * n / (n - 1))
        else:
            mean, var = self.running_mean, self.running_var
        x_hat = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + self.eps)  # like x
        if self.affine:
            return x_hat * self.weight.view(shape) + self.bias.view(shape)
        return x_hat

    def _update_running_stats(self, mean: torch.Tensor, unbiased_var: torch.Tensor) -> None:
        self.num_batches_tracked += 1
        m = self.momentum
        if m is None:  # cumulative average: the t-th batch gets weight 1/t
            m = 1.0 / float(self.num_batches_tracked)
        with torch.no_grad():
            self.running_mean.mul_(1 - m).add_(m * mean)
            self.running_var.mul_(1 - m).add_(m * unbiased_var)

    def parameters(self) -> list[torch.Tensor]:
        return [self.weight, self.bias] if self.affine else []

    def buffers(self) -> list[torch.Tensor]:
        """``[running_mean, running_var, num_batches_tracked]``, or [] if not tracked."""
        if not self.track_running_stats:
            return []
        return [self.running_mean, self.running_var, self.num_batches_tracked]

    def __repr__(self) -> str:
        return (f"BatchNorm1d({self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, track_running_stats={self.track_running_stats})")


class LayerNorm(Module):
    r"""Normalise every example over its features (``torch.nn.LayerNorm(num_features)``).

    .. math::
        \mu_i = \frac1C \sum_c x_{ic}, \qquad
        \sigma_i^2 = \frac1C \sum_c (x_{ic} - \mu_i)^2, \qquad
        y_{ic} = \gamma_c \frac{x_{ic} - \mu_i}{\sqrt{\sigma_i^2 + \epsilon}} + \beta_c

    The statistics are those of one example (one row), not of the batch (one column as in
    BatchNorm), so an example's output never depends on its batch-mates and training and
    evaluation compute the same thing.

    Args:
        normalized_shape: C, the size of the last dimension.
        eps: :math:`\epsilon` (default: 1e-5).
        elementwise_affine: learn ``weight`` :math:`\gamma` (ones) and ``bias`` :math:`\beta`
            (zeros) (default: True).
        dtype: of the parameters (default: ``torch.float32``).

    Shape: input (*, C), output the same.

    Example:
        >>> ln = LayerNorm(4)
        >>> y = ln(torch.tensor([[1.0, 2.0, 3.0, 4.0]]))
        >>> round(y.mean().item(), 6), round(y.var(correction=0).item(), 4)
        (0.0, 1.0)
    """

    def __init__(self, normalized_shape: int, eps: float = 1e-5, elementwise_affine: bool = True,
                 *, dtype: torch.dtype = torch.float32) -> None:
        self.normalized_shape, self.eps = check_int(normalized_shape, "normalized_shape"), eps
        self.weight = self.bias = None
        if elementwise_affine:
            self.weight = torch.ones(normalized_shape, dtype=dtype, requires_grad=True)  # (C,)
            self.bias = torch.zeros(normalized_shape, dtype=dtype, requires_grad=True)  # (C,)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.normalized_shape:
            raise ValueError(f"expected last dimension {self.normalized_shape}, "
                             f"got input of shape {tuple(x.shape)}")
        mean = x.mean(-1, keepdim=True)  # (*, 1)
        var = x.var(-1, keepdim=True, correction=0)  # (*, 1), biased
        x_hat = (x - mean) / torch.sqrt(var + self.eps)  # (*, C)
        return x_hat if self.weight is None else x_hat * self.weight + self.bias

    def parameters(self) -> list[torch.Tensor]:
        return [] if self.weight is None else [self.weight, self.bias]

    def __repr__(self) -> str:
        return f"LayerNorm({self.normalized_shape}, eps={self.eps})"


class Dropout(Module):
    r"""Inverted dropout (``torch.nn.Dropout``).

    In training mode each entry is zeroed with probability :math:`p` and the survivors are
    scaled by :math:`1/(1-p)`, so that :math:`\mathbb E[y] = x`; with :math:`p = 1` the
    output is all zeros. In eval mode the layer is the identity (it returns ``x`` itself).

    Args:
        p: probability of zeroing an entry, in [0, 1] (default: 0.5).
        generator: the ``torch.Generator`` for the masks (default: None, torch's global RNG).

    Shape: any; output the same as the input.

    Example:
        >>> drop = Dropout(0.5, generator=torch.Generator().manual_seed(0))
        >>> sorted(set(drop(torch.ones(100)).tolist()))
        [0.0, 2.0]

    Note:
        The mask is drawn as torch draws it, ``torch.empty_like(x).bernoulli_(1 - p)``, and
        scaled by :math:`1/(1-p)` before the product, so with a generator seeded ``s`` the
        output is bit for bit ``torch.nn.Dropout(p)`` after ``torch.manual_seed(s)``.
    """

    def __init__(self, p: float = 0.5, *, generator: torch.Generator | None = None) -> None:
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p!r}")
        self.p, self.generator = float(p), generator

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        if self.p == 1:
            return x * torch.zeros_like(x)  # keeps the graph, so x still gets a (zero) grad
        mask = torch.empty_like(x).bernoulli_(1 - self.p, generator=self.generator)
        return x * mask.div_(1 - self.p)  # kept entries: x / (1 - p), as torch computes it

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"
