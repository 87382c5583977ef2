r"""Tools for the Batch Normalization chapter: LayerNorm, noisy BatchNorm, landscape probes.

- :class:`LayerNorm`: ``torch.nn.LayerNorm`` from scratch (normalise each example over its
  last dimension; no batch statistics, so no train/eval difference).
- :class:`NoisyBatchNorm1d`: a :class:`utils.nn.BatchNorm1d` whose training-mode output is
  perturbed by noise whose mean and variance change at every step, the "noisy BatchNorm" of
  Santurkar et al. (2018).
- :func:`sgd`: the lecture's plain minibatch loop for one model, with a callback every few
  steps (for layers that :class:`utils.train.train` cannot stack, and for measuring the
  model between steps). Bit for bit ``utils.train.train`` for the same generator.
- :func:`frozen_buffers`, :func:`layer_outputs`: look inside a model without moving its
  BatchNorm running statistics.
- :func:`loss_landscape` and :func:`gradient_shift`: the two measurements of Santurkar et al.:
  the loss and gradient along the gradient direction (how far the gradient can be trusted),
  and "internal covariate shift" as the change of a layer's gradient when the layers before
  it take their step.

Left out: LayerNorm over several trailing dimensions, GroupNorm, and the paper's VGG
networks (we measure the course's deep MLP).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from . import nn
from .progress import progress_bar

__all__ = ["LayerNorm", "NoisyBatchNorm1d", "sgd", "frozen_buffers", "layer_outputs",
           "loss_landscape", "gradient_shift"]


class LayerNorm(nn.Module):
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
        if isinstance(normalized_shape, bool) or not isinstance(normalized_shape, int) \
                or normalized_shape < 1:
            raise ValueError(f"normalized_shape must be a positive int, got {normalized_shape!r}")
        self.normalized_shape, self.eps = normalized_shape, eps
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


class NoisyBatchNorm1d(nn.BatchNorm1d):
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


def _buffers(model) -> list[torch.Tensor]:
    return [b for layer in model if hasattr(layer, "buffers") for b in layer.buffers()]


@contextlib.contextmanager
def frozen_buffers(model):
    """Inside the block the model may run in training mode; its BatchNorm running statistics
    (and ``num_batches_tracked``) are put back as they were on exit."""
    saved = [b.clone() for b in _buffers(model)]
    try:
        yield model
    finally:
        with torch.no_grad():
            for b, old in zip(_buffers(model), saved):
                b.copy_(old)


@torch.no_grad()
def layer_outputs(model, x: torch.Tensor) -> list[torch.Tensor]:
    """The output of every layer of a :class:`utils.nn.Sequential` for input ``x``, in the
    model's current mode, leaving its running statistics untouched."""
    outs = []
    with frozen_buffers(model):
        for layer in model:
            x = layer(x)
            outs.append(x)
    return outs


def sgd(model, X: torch.Tensor, Y: torch.Tensor, *, steps: int, generator: torch.Generator,
        lr: float = 0.1, batch_size: int = 32, every: int = 0,
        callback: Callable | None = None, progress: bool = True,
        description: str = "training") -> torch.Tensor:
    """The lecture's minibatch SGD loop for one model; returns the (steps,) minibatch losses.

    Each step draws ``torch.randint(0, len(X), (batch_size,), generator=generator)``, so the
    losses are bit for bit those of ``utils.train.train(model, X, Y, generators=generator,
    lr=lr)``. With ``every`` > 0, ``callback(step, model)`` runs before the first step and
    after every ``every`` steps (``step`` = steps done so far).
    """
    params = model.parameters()
    losses = torch.zeros(steps)
    bar = None
    if progress and steps > 0:
        bar = progress_bar(steps, description)
    model.train()
    for step in range(steps):
        if every and callback is not None and step % every == 0:
            callback(step, model)
        ix = torch.randint(0, len(X), (batch_size,), generator=generator)
        loss = F.cross_entropy(model(X[ix]), Y[ix])
        for p in params:
            p.grad = None
        loss.backward()
        with torch.no_grad():
            for p in params:
                p += -lr * p.grad
        losses[step] = loss.item()
        if bar is not None and ((step + 1) % max(1, steps // 100) == 0 or step + 1 == steps):
            bar.update(step + 1 - bar.n)
    if every and callback is not None and steps % every == 0:
        callback(steps, model)
    if bar is not None:
        bar.close()
    return losses


def _loss_and_grads(model, X, Y) -> tuple[float, list[torch.Tensor]]:
    params = model.parameters()
    loss = F.cross_entropy(model(X), Y)
    grads = torch.autograd.grad(loss, params)
    return loss.item(), [g.detach() for g in grads]


def _flat(tensors) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


def loss_landscape(model, X: torch.Tensor, Y: torch.Tensor,
                   step_sizes: Sequence[float]) -> dict:
    r"""The loss and the gradient along the gradient direction, on the batch (X, Y).

    With :math:`g = \nabla L(\theta)` on the batch, for each step size :math:`\eta`:
    the loss :math:`L(\theta - \eta g)` and the gradient change
    :math:`\|\nabla L(\theta - \eta g) - g\|`. The *effective* :math:`\beta`-smoothness
    (Santurkar et al., 2018) is the largest ratio of gradient change to distance moved,
    :math:`\max_\eta \|\nabla L(\theta-\eta g) - g\| / (\eta\|g\|)`. The model runs in its
    current mode and is left exactly as it was (parameters and running statistics).

    Returns:
        ``{"loss": L(theta), "grad_norm": |g|, "losses": (K,), "grad_change": (K,),
        "beta": float}`` (tensors in float64).
    """
    params = model.parameters()
    with frozen_buffers(model):
        loss0, g = _loss_and_grads(model, X, Y)
        saved = [p.detach().clone() for p in params]
        losses, changes = [], []
        try:
            for eta in step_sizes:
                with torch.no_grad():
                    for p, p0, gp in zip(params, saved, g):
                        p.copy_(p0 - eta * gp)
                loss, g2 = _loss_and_grads(model, X, Y)
                losses.append(loss)
                changes.append((_flat(g2) - _flat(g)).double().norm().item())
        finally:
            with torch.no_grad():
                for p, p0 in zip(params, saved):
                    p.copy_(p0)
    gnorm = _flat(g).double().norm().item()
    eta = torch.tensor(list(step_sizes), dtype=torch.float64)
    changes_t = torch.tensor(changes, dtype=torch.float64)
    return {"loss": loss0, "grad_norm": gnorm, "losses": torch.tensor(losses, dtype=torch.float64),
            "grad_change": changes_t, "beta": (changes_t / (eta * max(gnorm, 1e-30))).max().item()}


def gradient_shift(model, X: torch.Tensor, Y: torch.Tensor, lr: float) -> list[dict]:
    r"""Santurkar et al.'s internal covariate shift of every Linear layer, on the batch (X, Y).

    For Linear layer :math:`k`, :math:`G_k = \nabla_{W_k} L` at the current parameters and
    :math:`G'_k` the same gradient after every parameter of the layers *before* layer
    :math:`k` has taken its SGD step :math:`-\text{lr}\cdot\nabla L`: the change that those
    updates cause in the input distribution of layer :math:`k`, seen through its gradient.
    The model is left exactly as it was.

    Returns:
        one dict per Linear layer with parameters before it: ``{"layer": index in the model,
        "l2": |G - G'|, "rel": |G - G'| / |G|, "cos": cos(G, G')}``.
    """
    layers = list(model)
    params = model.parameters()
    owner = [i for i, layer in enumerate(layers) for _ in layer.parameters()]  # layer of each p
    out = []
    with frozen_buffers(model):
        _, g = _loss_and_grads(model, X, Y)
        saved = [p.detach().clone() for p in params]
        try:
            for k, layer in enumerate(layers):
                if not isinstance(layer, nn.Linear) or not any(o < k for o in owner):
                    continue
                j = next(n for n, p in enumerate(params) if p is layer.weight)
                with torch.no_grad():
                    for p, p0, gp, o in zip(params, saved, g, owner):
                        p.copy_(p0 - lr * gp if o < k else p0)
                _, g2 = _loss_and_grads(model, X, Y)
                G, G2 = g[j].double(), g2[j].double()
                diff = (G - G2).norm().item()
                out.append({"layer": k, "l2": diff, "rel": diff / max(G.norm().item(), 1e-30),
                            "cos": F.cosine_similarity(G.flatten(), G2.flatten(), dim=0).item()})
        finally:
            with torch.no_grad():
                for p, p0 in zip(params, saved):
                    p.copy_(p0)
    return out
