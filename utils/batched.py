r"""Several copies of one model, computed side by side: the batched half of :mod:`utils.train`.

The course trains the same small network many times: under four initialisations, at four
gains, at several learning rates. One plain training loop per variant leaves a CPU mostly
waiting on Python and on tiny matrix products. :class:`Stacked` takes the variants (each a
:class:`utils.nn.Sequential` built with its own generator) and stores every parameter once
with a leading *variant* dimension V, so that one ``torch.bmm`` computes all V products:

.. code-block:: text

    plain, variant v:   x (B, in)     @ weight.T (in, out)       + bias (out,)
    stacked, all V:     x (V, B, in)  bmm weight.mT (V, in, out) + bias (V, 1, out)

Nothing mixes the variants: every reduction (the batch statistics of BatchNorm, the loss)
runs over a dimension other than V, and the loss of the stack is the *sum* of the
variants' losses, so the gradient of variant v is exactly the gradient of its own loss.
The operations are chosen so that each variant's numbers are bit for bit those of its
plain loop (``tests/test_train.py``): ``bmm`` then ``+ bias`` rather than the fused
``baddbmm`` (which rounds differently), and per-variant generators for dropout masks.

The logged loss is bit for bit the plain loop's too: :class:`LossLog` computes each
variant's mean with :func:`cross_entropy_mean`, which repeats the order in which torch's
CPU kernel adds up the mean (tested against ``F.cross_entropy`` of the pinned torch in
``tests/test_train.py``). The parameters do not depend on it: the gradient of the sum
divided by the batch size is exactly that of torch's mean.

Left out: layers the course does not stack (convolutions, LayerNorm), and input that is
not (V, B, features) or (V, B, T) indices.
"""

from __future__ import annotations

import torch

from . import nn

__all__ = ["Stacked", "Single", "LossLog", "cross_entropy_mean"]


def _stack(tensors: list[torch.Tensor], device) -> torch.Tensor:
    return torch.stack([t.detach() for t in tensors]).to(device)  # (V, ...)


class _Layer:
    """A stacked layer: ``params`` (leaf tensors with a leading V dimension), ``__call__``."""

    params: tuple | list = ()  # leaf tensors; none for layers without parameters
    names: tuple = ()  # attributes written back into the plain layers

    def __init__(self, layers, device):
        self.layers = layers  # the plain layers, one per variant, written back after training

    def views(self) -> list[torch.Tensor]:
        """The parameters in the plain layers' layout (what the Recorder reports)."""
        return self.params

    def grad_views(self) -> list[torch.Tensor]:
        return [p.grad for p in self.params]

    def write_back(self) -> None:
        for name in self.names:
            stacked = getattr(self, name)
            for v, layer in enumerate(self.layers):
                old = getattr(layer, name)
                with torch.no_grad():
                    old.copy_(stacked[v].to(old.device))


class _Embedding(_Layer):
    names = ("weight",)

    def __init__(self, layers, device):
        super().__init__(layers, device)
        self.weight = _stack([layer.weight for layer in layers], device)  # (V, num, dim)
        self.params = [self.weight]
        self.variant = torch.arange(len(layers), device=device).view(-1, 1, 1)  # (V, 1, 1)

    def __call__(self, idx):  # (V, B, T) -> (V, B, T, dim)
        return self.weight[self.variant, idx]


class _Flatten(_Layer):
    def __call__(self, x):  # (V, B, ...) -> (V, B, prod(...))
        return x.flatten(2)


class _Linear(_Layer):
    """Stores the weights transposed, (V, in, out), as the lecture does: ``bmm`` and its
    backward then need no transposed copies (measured about 20% faster per step)."""

    def __init__(self, layers, device):
        super().__init__(layers, device)
        self.weight_t = _stack([layer.weight.T for layer in layers], device).contiguous()
        self.bias = None
        if layers[0].bias is not None:
            self.bias = _stack([layer.bias for layer in layers], device)  # (V, out)
        self.params = [self.weight_t] + ([] if self.bias is None else [self.bias])
        self.names = ("weight",) if self.bias is None else ("weight", "bias")

    @property
    def weight(self):  # (V, out, in), torch's layout, a view
        return self.weight_t.mT

    def views(self):
        return [self.weight] + ([] if self.bias is None else [self.bias])

    def grad_views(self):
        return [self.weight_t.grad.mT] + ([] if self.bias is None else [self.bias.grad])

    def __call__(self, x):  # (V, B, in) -> (V, B, out)
        out = torch.bmm(x, self.weight_t)
        return out if self.bias is None else out + self.bias.unsqueeze(1)


class _Elementwise(_Layer):
    def __init__(self, layers, device):
        super().__init__(layers, device)
        self.fn = torch.tanh if isinstance(layers[0], nn.Tanh) else torch.relu

    def __call__(self, x):
        return self.fn(x)


class _BatchNorm1d(_Layer):
    """Each variant normalised over its own batch (dim 1), torch's conventions (see nn)."""

    def __init__(self, layers, device):
        super().__init__(layers, device)
        first = layers[0]
        if not first.track_running_stats or first.momentum is None:
            raise ValueError("Stacked supports BatchNorm1d with track_running_stats=True and a "
                             f"numeric momentum, got {first!r}")
        self.eps, self.momentum, self.affine = first.eps, first.momentum, first.affine
        self.names = ("running_mean", "running_var", "num_batches_tracked")
        if self.affine:
            self.names = ("weight", "bias") + self.names
        for name in self.names:
            setattr(self, name, _stack([getattr(layer, name) for layer in layers], device))
        self.params = [self.weight, self.bias] if self.affine else []
        self.training = True

    def __call__(self, x):  # (V, B, C) -> (V, B, C)
        if self.training:
            n = x.shape[1]
            mean = x.mean(dim=1, keepdim=True)  # (V, 1, C)
            var = x.var(dim=1, keepdim=True, correction=0)  # (V, 1, C), biased
            with torch.no_grad():
                m = self.momentum
                self.num_batches_tracked += 1
                self.running_mean.mul_(1 - m).add_(m * mean.squeeze(1))
                self.running_var.mul_(1 - m).add_(m * (var.squeeze(1) * n / (n - 1)))
        else:
            mean, var = self.running_mean.unsqueeze(1), self.running_var.unsqueeze(1)
        x_hat = (x - mean) / torch.sqrt(var + self.eps)
        if self.affine:
            return x_hat * self.weight.unsqueeze(1) + self.bias.unsqueeze(1)
        return x_hat


class _Dropout(_Layer):
    """One mask per variant, drawn from that variant's own layer generator, as it would be."""

    def __init__(self, layers, device):
        super().__init__(layers, device)
        self.p = layers[0].p
        self.training = True

    def __call__(self, x):  # (V, B, ...) -> same
        if not self.training or self.p == 0:
            return x
        if self.p == 1:
            return x * torch.zeros_like(x)
        masks = [torch.empty(x.shape[1:], dtype=x.dtype).bernoulli_(1 - self.p,
                                                                    generator=layer.generator)
                 for layer in self.layers]
        return x * torch.stack(masks).to(x.device).div_(1 - self.p)


_KINDS = {nn.Embedding: _Embedding, nn.Flatten: _Flatten, nn.Linear: _Linear,
          nn.Tanh: _Elementwise, nn.ReLU: _Elementwise, nn.BatchNorm1d: _BatchNorm1d,
          nn.Dropout: _Dropout}


class Stacked:
    """V variants of one :class:`utils.nn.Sequential` architecture, computed as one.

    Args:
        models: the variants, each a ``Sequential`` of :mod:`utils.nn` layers (Embedding,
            Flatten, Linear, Tanh, ReLU, BatchNorm1d, Dropout), with the same layer types and
            shapes; their values may differ (that is the point).
        device: where the stacked tensors live (default: ``"cpu"``).

    The stacked parameters are copies: train them, then :meth:`write_back` puts the values
    (and BatchNorm's running statistics) into the variants' own tensors.

    Shape: input (V, B, ...) where each variant's input is (B, ...); output (V, B, out).
    """

    def __init__(self, models, device="cpu") -> None:
        models = list(models)
        if not models or not all(isinstance(m, nn.Sequential) for m in models):
            raise TypeError("Stacked expects a non-empty list of utils.nn.Sequential models, got "
                            f"{[type(m).__name__ for m in models]}")
        signature = [self._signature(m) for m in models]
        for v, sig in enumerate(signature[1:], 1):
            if sig != signature[0]:
                raise ValueError("every variant must have the same architecture: "
                                 + self._difference(signature[0], sig, v))
        self.models, self.device = models, torch.device(device)
        self.layers = []
        for i in range(len(models[0])):
            plain = [m[i] for m in models]
            kind = _KINDS[type(plain[0])]
            self.layers.append(kind(plain, self.device))
        for p in self.parameters():
            p.requires_grad_(True)

    @staticmethod
    def _signature(model):
        out = []
        for layer in model:
            if type(layer) not in _KINDS:
                raise TypeError(f"Stacked cannot stack a {type(layer).__name__} layer "
                                f"(supported: {', '.join(k.__name__ for k in _KINDS)})")
            shapes = tuple(tuple(p.shape) for p in layer.parameters())
            out.append((type(layer).__name__, shapes, repr(layer)))
        return out

    @staticmethod
    def _difference(first, other, v) -> str:
        """The first layer where variant v's architecture differs from variant 0's."""
        if len(first) != len(other):
            return f"variant 0 has {len(first)} layers, variant {v} has {len(other)}"
        i, (a, b) = next((i, pair) for i, pair in enumerate(zip(first, other)) if pair[0] != pair[1])
        what = a[2] if a[2] != b[2] else f"{a[0]} with parameters of shapes {list(a[1])}"
        got = b[2] if a[2] != b[2] else f"{b[0]} with parameters of shapes {list(b[1])}"
        return f"layer {i} is {what} in variant 0 but {got} in variant {v}"

    def __len__(self) -> int:
        return len(self.models)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self) -> list[torch.Tensor]:
        """The stacked leaf tensors, in the order of each variant's ``parameters()``; a
        Linear weight is stored transposed, (V, in, out) (see :meth:`parameter_views`)."""
        return [p for layer in self.layers for p in layer.params]

    def parameter_views(self) -> list[torch.Tensor]:
        """The parameters in the plain models' layout (Linear weights (V, out, in)), as views."""
        return [p for layer in self.layers for p in layer.views()]

    def parameter_grad_views(self) -> list[torch.Tensor]:
        """Their gradients, in the same layout."""
        return [g for layer in self.layers for g in layer.grad_views()]

    def weights(self) -> list[torch.Tensor]:
        """The Linear layers' stacked weights, each (V, out, in): what weight decay acts on."""
        return [layer.weight for layer in self.layers if isinstance(layer, _Linear)]

    def train(self, mode: bool = True) -> Stacked:
        for layer in self.layers:
            if hasattr(layer, "training"):
                layer.training = bool(mode)
        return self

    def eval(self) -> Stacked:
        return self.train(False)

    def write_back(self) -> None:
        """Copy the stacked values into every variant's own parameters and buffers."""
        for layer in self.layers:
            layer.write_back()



class Single:
    """One model, computed as itself: :class:`Stacked`'s interface for a single variant.

    A stack of one pays for the variant dimension (batched products, a two-index embedding
    lookup, copies written back) and buys nothing, so :func:`utils.train.train` trains a
    single CPU model without a :class:`~utils.train.Recorder` through this class instead:
    the model's own parameters and forward, which is the plain loop's computation, op for op
    (``benchmarks/engine.py``, workload (a), measures it against the plain loop).

    Shape: input (1, B, ...), output (1, B, out), as :class:`Stacked` with V = 1;
    :meth:`one` computes the (B, out) output of a (B, ...) input without the extra dimension.
    """

    def __init__(self, model) -> None:
        Stacked._signature(model)  # the same layers as Stacked accepts, with the same error
        for p in model.parameters():
            p.requires_grad_(True)
        self.models, self.model = [model], model
        self.layers, self.device = list(model), torch.device("cpu")

    def __len__(self) -> int:
        return 1

    def one(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x[0]).unsqueeze(0)

    def parameters(self) -> list[torch.Tensor]:
        return self.model.parameters()

    def weights(self) -> list[torch.Tensor]:
        """The Linear weights, each as (1, out, in)."""
        return [layer.weight.unsqueeze(0) for layer in self.layers if isinstance(layer, nn.Linear)]

    def train(self, mode: bool = True) -> Single:
        self.model.train(mode)
        return self

    def eval(self) -> Single:
        return self.train(False)

    def write_back(self) -> None:
        """Nothing to copy: the model's own tensors were trained."""


# -- the loss a plain loop prints, to the last bit ------------------------------------


def cross_entropy_mean(per_example: torch.Tensor) -> torch.Tensor:
    """``F.cross_entropy``'s mean over each row of ``per_example`` (R, B), to the last bit.

    torch's CPU kernel (``nll_loss`` in ATen's LossNLL.cpp) does not call ``sum``: it adds the
    B losses one by one into a cascade of 8 partial sums, moving a partial sum one level up
    each time the index passes a multiple of 16, 256, ... (to limit rounding error), adds the
    levels, and divides by B. A different order of additions can change the last bit, so
    to record exactly the loss a plain loop prints we repeat that order, for all rows at once.
    """
    R, B = per_example.shape
    levels = [torch.zeros(R, dtype=per_example.dtype) for _ in range(8)]
    for b in range(B):
        levels[0] = levels[0] + per_example[:, b]
        for j in range(7):  # carry upwards while the low bits of b are zero
            if b & (15 << (4 * j)):
                break
            levels[j + 1] = levels[j + 1] + levels[j]
            levels[j] = torch.zeros_like(levels[j])
    total = torch.zeros(R, dtype=per_example.dtype)
    for level in levels:
        total = total + level
    return total / B


class LossLog:
    """Collects each step's per-example losses of the V variants and turns them into the
    means a plain loop would have printed, written into ``losses`` (V, steps).

    With cross-entropy on the CPU (``exact``) the means are computed every 1,024 steps by
    :func:`cross_entropy_mean`, in torch's own order of additions (no per-step cost);
    otherwise ``loss_fn``'s own mean is called per variant at every step. ``flush()``
    before reading ``losses``.
    """

    def __init__(self, losses, V, B, loss_fn, exact):
        self.losses, self.V, self.B, self.loss_fn, self.exact = losses, V, B, loss_fn, exact
        self.buffer, self.extras, self.first = [], [], 0

    def add(self, step, per_example, logits, yb, extra, means=None):
        """Log one step: from ``per_example`` (V*B,) losses, or from ``means`` (V,) that are
        already the plain loop's (one variant: ``F.cross_entropy`` itself)."""
        with torch.no_grad():
            if means is not None:
                self.exact = False  # the means are final: flush stacks them as they are
                self.buffer.append(means.detach())
            elif self.exact:
                self.buffer.append(per_example.detach().view(self.V, self.B))
            else:
                self.buffer.append(torch.stack([self.loss_fn(logits[v], yb[v])
                                                for v in range(self.V)]).detach())
            self.extras.append(None if extra is None else extra.detach())
        if len(self.buffer) == 1024:
            self.flush()

    def flush(self):
        if not self.buffer:
            return
        m = len(self.buffer)
        if self.exact:
            rows = torch.stack(self.buffer).cpu().view(m * self.V, self.B)
            means = cross_entropy_mean(rows).view(m, self.V)
        else:
            means = torch.stack(self.buffer).cpu()  # (m, V)
        if self.extras[0] is not None:
            means = means + torch.stack(self.extras).cpu()  # as the plain loop: mean + penalty
        self.losses[:, self.first:self.first + m] = means.T
        self.first += m
        self.buffer, self.extras = [], []
