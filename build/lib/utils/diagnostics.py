r"""Per-layer health checks of a deep network: statistics tables and their histograms.

Every function takes a dict ``{name: 1-D tensor of values}``, in the order the layers come,
as the ``Recorder`` of :mod:`utils.train` returns them: the outputs of each Tanh layer, the
gradients of the loss with respect to those outputs, the weight gradients (with the weights
themselves), and for update ratios ``{param name: log10 ratios, one per step}``. The names
are printed as they are, so name the layers the way the legend should read, e.g.
``"layer 3 (Tanh)"``.

For each plot there is a table (a list of dicts, one per layer) with the numbers in its
legend, so that a notebook can assert on them:

- :func:`layer_stats`: mean, std and the saturated fraction :math:`P(|t| > 0.97)` of tanh
  outputs; a saturated unit passes almost no gradient, since :math:`\tanh' = 1 - t^2`.
- :func:`gradient_stats`: mean and std of the gradients, which should be similar in every
  layer (neither shrinking nor growing with depth).
- :func:`weight_gradient_stats`: mean, std and the grad:data ratio
  :math:`\mathrm{std}(\nabla W)/\mathrm{std}(W)`.
- :func:`update_ratio_stats`: the update:data ratio
  :math:`\log_{10}\big(\mathrm{std}(\text{lr}\cdot\nabla W)/\mathrm{std}(W)\big)` over the
  steps, which the lecture's rule of thumb wants near :math:`-3`.

Conventions: ``std`` is torch's default, the unbiased :math:`\frac{1}{n-1}` estimate (the
lecture's ``t.std()``); fractions are in [0, 1] in the tables and in percent in legends.
Histograms are densities over ``bins`` equal bins between each tensor's min and max
(``torch.histogram``), drawn as lines so that the layers can be told apart.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import torch
from matplotlib.axes import Axes

__all__ = ["layer_stats", "gradient_stats", "weight_gradient_stats", "update_ratio_stats",
           "plot_activation_histograms", "plot_gradient_histograms",
           "plot_weight_gradient_histograms", "plot_update_ratios"]


def _read(data, what: str, min_size: int = 2) -> dict[str, torch.Tensor]:
    """The dict's values as float64 CPU tensors, after checking that each is 1-D and finite."""
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
            for name, t in _read(acts, "acts").items()]


def gradient_stats(grads: Mapping) -> list[dict]:
    """Mean and std of each layer's gradients: ``[{"name", "mean", "std"}, ...]``."""
    return [{"name": name, "mean": t.mean().item(), "std": t.std().item()}
            for name, t in _read(grads, "grads").items()]


def _pairs(grads: Mapping, weights: Mapping) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    g, w = _read(grads, "grads"), _read(weights, "weights")
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
            for name, t in _read(ratios, "ratios", min_size=1).items()]


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def _histograms(ax: Axes, data: dict[str, torch.Tensor], labels: list[str], bins: int,
                xlabel: str, title: str) -> Axes:
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    for t, label in zip(data.values(), labels):
        density, edges = torch.histogram(t, bins=bins, density=True)
        ax.plot(((edges[:-1] + edges[1:]) / 2).numpy(), density.numpy(), label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.legend(fontsize="small")
    return ax


def plot_activation_histograms(acts: Mapping, *, ax: Axes | None = None,
                               saturation: float | None = 0.97, bins: int = 100,
                               figsize: tuple[float, float] = (8.0, 3.5)) -> Axes:
    """One density line per layer of its tanh outputs, the legend giving mean, std and the
    saturated percentage, e.g. ``layer 1 (Tanh): mean +0.01, std 0.75, saturated 12.3%``.

    Args:
        acts: ``{layer name: 1-D tensor of the layer's outputs}``.
        ax: where to draw; a new figure when None (default).
        saturation: the threshold of :func:`layer_stats` (default: 0.97); None for outputs
            that cannot saturate (Linear or ReLU layers): the legend then gives only mean
            and std, ``layer 2 (Linear): mean -0.03, std 2.71``.
        bins: number of histogram bins (default: 100).

    Returns:
        The ``Axes`` drawn on.
    """
    if saturation is None:
        labels = [f"{r['name']}: mean {r['mean']:+.2f}, std {r['std']:.2f}"
                  for r in gradient_stats(acts)]
    else:
        rows = layer_stats(acts, saturation=saturation)
        labels = [f"{r['name']}: mean {r['mean']:+.2f}, std {r['std']:.2f}, "
                  f"saturated {100 * r['saturated']:.1f}%" for r in rows]
    return _histograms(_axes(ax, figsize), _read(acts, "acts"), labels, bins,
                       "activation (layer output)", "activation distribution")


def plot_gradient_histograms(grads: Mapping, *, ax: Axes | None = None, bins: int = 100,
                             figsize: tuple[float, float] = (8.0, 3.5)) -> Axes:
    """One density line per layer of the gradients of the loss with respect to its output,
    mean and std in the legend (``layer 1 (Tanh): mean +1.2e-06, std 3.4e-03``).

    Args and return as in :func:`plot_activation_histograms`.
    """
    labels = [f"{r['name']}: mean {r['mean']:+.1e}, std {r['std']:.1e}"
              for r in gradient_stats(grads)]
    return _histograms(_axes(ax, figsize), _read(grads, "grads"), labels, bins,
                       "gradient of the loss w.r.t. the layer output", "gradient distribution")


def plot_weight_gradient_histograms(grads: Mapping, weights: Mapping, *,
                                    ax: Axes | None = None, bins: int = 100,
                                    figsize: tuple[float, float] = (8.0, 3.5)) -> Axes:
    """One density line per weight of its gradient, with mean, std and the grad:data ratio in
    the legend (``weight 1: mean +1.0e-05, std 2.1e-03, grad:data ratio 1.9e-02``).

    Args:
        grads: ``{param name: 1-D tensor of the gradient}``.
        weights: ``{param name: 1-D tensor of the weight}``, the same names in the same order.
        ax, bins: as in :func:`plot_activation_histograms`.
    """
    labels = [f"{r['name']}: mean {r['mean']:+.1e}, std {r['std']:.1e}, "
              f"grad:data ratio {r['grad_data_ratio']:.1e}"
              for r in weight_gradient_stats(grads, weights)]
    return _histograms(_axes(ax, figsize), _read(grads, "grads"), labels, bins,
                       "weight gradient", "weight gradient distribution")


def plot_update_ratios(ratios: Mapping, *, ax: Axes | None = None, guide: float | None = -3.0,
                       figsize: tuple[float, float] = (8.0, 3.5)) -> Axes:
    r"""One line per parameter of its :math:`\log_{10}` update:data ratio over the steps,
    and a dashed horizontal guide line at ``guide`` (default: -3; None for none): updates
    about a thousandth of the weights' spread.

    Args:
        ratios: ``{param name: 1-D tensor of log10 ratios, one per step}``.
        ax: where to draw; a new figure when None (default).

    Returns:
        The ``Axes`` drawn on.
    """
    data = _read(ratios, "ratios", min_size=1)
    ax = _axes(ax, figsize)
    for name, t in data.items():
        ax.plot(torch.arange(len(t)).numpy(), t.numpy(), label=name)
    if guide is not None:
        ax.axhline(guide, color="k", linestyle="--", linewidth=1, label=f"guide: {guide:g}")
    ax.set_xlabel("step")
    ax.set_ylabel(r"$\log_{10}$(update std / data std)")
    ax.set_title("update:data ratio")
    ax.legend(fontsize="small")
    return ax
