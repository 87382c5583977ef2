r"""Measurements of a network: per-layer statistics and probes of its training. Numbers only;
the pictures of these numbers are in :mod:`utils.plotting`.

Every function takes a dict ``{name: 1-D tensor of values}``, in the order the layers come,
as the ``Recorder`` of :mod:`utils.train` returns them: the outputs of each Tanh layer, the
gradients of the loss with respect to those outputs, the weight gradients (with the weights
themselves), and for update ratios ``{param name: log10 ratios, one per step}``. The names
are printed as they are, so name the layers the way the legend should read, e.g.
``"layer 3 (Tanh)"``.

Each table is a list of dicts, one per layer, with the numbers that the matching plot of
:mod:`utils.plotting` puts in its legend, so that a notebook can assert on them:

- :func:`layer_stats`: mean, std and the saturated fraction :math:`P(|t| > 0.97)` of tanh
  outputs; a saturated unit passes almost no gradient, since :math:`\tanh' = 1 - t^2`.
- :func:`gradient_stats`: mean and std of the gradients, which should be similar in every
  layer (neither shrinking nor growing with depth).
- :func:`weight_gradient_stats`: mean, std and the grad:data ratio
  :math:`\mathrm{std}(\nabla W)/\mathrm{std}(W)`.
- :func:`update_ratio_stats`: the update:data ratio
  :math:`\log_{10}\big(\mathrm{std}(\text{lr}\cdot\nabla W)/\mathrm{std}(W)\big)` over the
  steps, which the lecture's rule of thumb wants near :math:`-3`.

- :func:`histogram_densities`: the densities the histogram plots draw.

Probes of a model (they leave its parameters and BatchNorm running statistics as they were):

- :func:`frozen_buffers`, :func:`layer_outputs`: run a model, or look at every layer's
  output, without moving its running statistics;
- :func:`update_ratio`: how much one step changed a tensor, relative to its size;
- :func:`loss_landscape` and :func:`gradient_shift`: the two measurements of Santurkar et
  al. (2018): the loss and gradient along the gradient direction (how far the gradient can
  be trusted), and "internal covariate shift" as the change of a layer's gradient when the
  layers before it take their step.

What a pass costs in memory (:func:`saved_for_backward`, :func:`held_bytes`): the tensors
autograd saves for the backward pass, and the bytes torch's CPU allocator still holds after a
call.

Conventions: ``std`` is torch's default, the unbiased :math:`\frac{1}{n-1}` estimate (the
lecture's ``t.std()``); fractions are in [0, 1]. Histogram densities are over ``bins`` equal
bins between each tensor's min and max (``torch.histogram``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

from . import nn
from .validation import check_int

__all__ = ["series", "layer_stats", "gradient_stats", "weight_gradient_stats",
           "update_ratio_stats", "histogram_densities", "frozen_buffers", "layer_outputs",
           "update_ratio", "loss_landscape", "gradient_shift",
           "saved_for_backward", "held_bytes"]


def series(data, what: str = "data", min_size: int = 2) -> dict[str, torch.Tensor]:
    """``{name: 1-D tensor}`` as float64 CPU tensors, after checking that each value is 1-D,
    finite and has at least ``min_size`` entries; errors name ``what`` and the entry."""
    if not isinstance(data, Mapping) or not data:
        raise ValueError(f"{what} must be a non-empty dict {{name: 1-D tensor}}, "
                         f"got {type(data).__name__} {data!r:.60}")
    out = {}
    for name, values in data.items():
        try:
            t = torch.as_tensor(values.detach() if isinstance(values, torch.Tensor) else values)
            t = t.to("cpu", torch.float64)
        except (TypeError, ValueError, RuntimeError):
            raise ValueError(f"{what}[{name!r}] must be a 1-D tensor of numbers, "
                             f"got {type(values).__name__}") from None
        if t.dim() != 1:
            raise ValueError(f"{what}[{name!r}] must be a 1-D tensor, got shape {tuple(t.shape)} "
                             "(flatten it with .flatten())")
        if t.numel() < min_size:
            raise ValueError(f"{what}[{name!r}] needs at least {min_size} values, got {t.numel()}")
        bad = int((~torch.isfinite(t)).sum())
        if bad:
            raise ValueError(f"{what}[{name!r}] has {bad} NaN or inf values of {t.numel()} "
                             "(a diverged run? log10 of a zero update?)")
        out[str(name)] = t
    return out


def _check_saturation(saturation: float) -> float:
    if not 0 < saturation < 1:
        raise ValueError(f"saturation must be a threshold in (0, 1), got {saturation!r}")
    return float(saturation)


def layer_stats(acts: Mapping, *, saturation: float = 0.97) -> list[dict]:
    r"""Mean, std and saturated fraction of each layer's tanh outputs.

    Args:
        acts: ``{layer name: 1-D tensor of the layer's outputs}``.
        saturation: :math:`|t|` above which a tanh output counts as saturated (default: 0.97).

    Returns:
        One dict per layer, in order: ``{"name", "mean", "std", "saturated"}``, with
        ``saturated`` the fraction in [0, 1].

    Example:
        >>> layer_stats({"layer 1 (Tanh)": torch.tensor([-0.99, 0.0, 0.5, 0.98])})[0]["saturated"]
        0.5
    """
    saturation = _check_saturation(saturation)
    return [{"name": name, "mean": t.mean().item(), "std": t.std().item(),
             "saturated": (t.abs() > saturation).double().mean().item()}
            for name, t in series(acts, "acts").items()]


def gradient_stats(grads: Mapping) -> list[dict]:
    """Mean and std of each layer's gradients: ``[{"name", "mean", "std"}, ...]``."""
    return [{"name": name, "mean": t.mean().item(), "std": t.std().item()}
            for name, t in series(grads, "grads").items()]


def _pairs(grads: Mapping, weights: Mapping) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    g, w = series(grads, "grads"), series(weights, "weights")
    if list(g) != list(w):
        raise ValueError(f"grads and weights must have the same names in the same order, got "
                         f"{list(g)} and {list(w)}")
    for name in g:
        if g[name].numel() != w[name].numel():
            raise ValueError(f"grads[{name!r}] has {g[name].numel()} values but "
                             f"weights[{name!r}] has {w[name].numel()}")
        if w[name].std() == 0:
            raise ValueError(f"weights[{name!r}] are all equal (std 0): no grad:data ratio")
    return [(name, g[name], w[name]) for name in g]


def weight_gradient_stats(grads: Mapping, weights: Mapping) -> list[dict]:
    r"""Mean, std and grad:data ratio :math:`\mathrm{std}(\nabla W)/\mathrm{std}(W)` per weight.

    Args:
        grads: ``{param name: 1-D tensor of the weight's gradient}``.
        weights: ``{param name: 1-D tensor of the weight's values}``, the same names in order.

    Returns:
        ``[{"name", "mean", "std", "grad_data_ratio"}, ...]``.
    """
    return [{"name": name, "mean": g.mean().item(), "std": g.std().item(),
             "grad_data_ratio": (g.std() / w.std()).item()}
            for name, g, w in _pairs(grads, weights)]


def update_ratio_stats(ratios: Mapping) -> list[dict]:
    """Summary of each parameter's log10 update:data ratios over the steps:
    ``[{"name", "mean", "min", "max", "final"}, ...]`` (``final`` is the last step's)."""
    return [{"name": name, "mean": t.mean().item(), "min": t.min().item(),
             "max": t.max().item(), "final": t[-1].item()}
            for name, t in series(ratios, "ratios", min_size=1).items()]


def histogram_densities(data: Mapping, bins: int = 100) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """``{name: (bin centres, density)}`` of each series over ``bins`` equal bins between its
    min and max (``torch.histogram(density=True)``)."""
    bins = check_int(bins, "bins")
    out = {}
    for name, t in series(data).items():
        density, edges = torch.histogram(t, bins=bins, density=True)
        out[name] = ((edges[:-1] + edges[1:]) / 2, density)
    return out


def update_ratio(before: torch.Tensor, after: torch.Tensor) -> float:
    r"""How much a step changed a tensor, relative to its size: :math:`\mathrm{std}(\Delta)/\mathrm{std}(w)`.

    ``before`` and ``after`` are the tensor's values around one step (or a few);
    :math:`\Delta` = after - before and :math:`w` = before. For plain SGD,
    :math:`\Delta = -\eta g` and this is the *update:data ratio* that
    :class:`utils.train.Recorder` logs (as :math:`\log_{10}`); for other optimizers, and with
    weight decay, it measures what the step really did. Values near :math:`10^{-3}` are the
    usual rule of thumb; much lower, the layer hardly learns; much higher, it moves too fast.

    Example:
        >>> w = torch.tensor([1.0, -1.0, 1.0, -1.0])
        >>> round(update_ratio(w, w * 1.001), 6)
        0.001
    """
    if before.shape != after.shape:
        raise ValueError(f"before and after must have the same shape, got "
                         f"{tuple(before.shape)} and {tuple(after.shape)}")
    before, after = before.detach().double(), after.detach().double()
    return ((after - before).std() / before.std()).item()


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


def _storage(t: torch.Tensor) -> tuple[int, int]:
    storage = t.untyped_storage()
    return storage.data_ptr(), storage.nbytes()


def saved_for_backward(fn, *args, exclude: Sequence[torch.Tensor] = (), **kwargs) -> tuple:
    r"""Run ``fn(*args, **kwargs)`` and measure what autograd saves for its backward pass.

    Every tensor an operation saves for the backward pass (a product saves its inputs, tanh
    its output) goes through the pack hook of
    :func:`torch.autograd.graph.saved_tensors_hooks`. We count those saves and the bytes of
    the distinct memory blocks (storages) they hold: a layer's output saved by its tanh and
    again by the next product costs its memory once. Storages of ``exclude`` (the
    parameters, say, which exist with or without a backward pass) are left out of
    ``tensors`` and ``bytes``. Under ``torch.no_grad()``, or when no input requires grad,
    nothing is saved.

    Returns:
        ``(output, {"saves": number of saves, "tensors": distinct storages counted,
        "bytes": their size in bytes})``.

    Example:
        >>> w = torch.ones(3, requires_grad=True)   # float32: 4 bytes a number
        >>> out, saved = saved_for_backward(torch.exp, w)   # exp saves its output
        >>> saved
        {'saves': 1, 'tensors': 1, 'bytes': 12}
    """
    records = []

    def pack(t):
        records.append(_storage(t))
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn(*args, **kwargs)
    skip = {_storage(t)[0] for t in exclude}
    kept = {ptr: nbytes for ptr, nbytes in records if ptr not in skip}
    return out, {"saves": len(records), "tensors": len(kept), "bytes": sum(kept.values())}


def held_bytes(fn, *args, **kwargs) -> tuple:
    """Run ``fn(*args, **kwargs)`` and return ``(output, bytes)``: the bytes torch's CPU
    allocator allocated during the call and still holds when it returns, as
    :mod:`torch.profiler` (``profile_memory=True``) records them.

    That is the output, plus, when autograd records a graph, everything the graph keeps for
    the backward pass that the call allocated (not its inputs, which existed before).
    Temporaries freed during the call count 0. CPU tensors only; a block allocated before
    the call and freed during it is not seen (the profiler warns on stderr).

    Note:
        Unless ``KINETO_LOG_LEVEL`` is set, this sets it to 6 for the process, which keeps
        the profiler's engine (kineto) from printing two lines on stderr at every start and
        stop; kineto reads it once, when a profiler first starts in the process.

    Example:
        >>> held_bytes(lambda: torch.zeros(1000, dtype=torch.float64))[1]
        8000
    """
    os.environ.setdefault("KINETO_LOG_LEVEL", "6")
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        out = fn(*args, **kwargs)
    return out, sum(event.self_cpu_memory_usage for event in prof.events())
