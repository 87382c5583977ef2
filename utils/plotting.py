"""Small matplotlib helpers shared by the chapters.

Conventions (the same in every helper): object-oriented API, an ``ax=`` argument so that
a helper can draw into a panel of a larger figure, both axes labelled, the ``Axes``
returned, no ``plt.show()`` and no change to global ``rcParams``.

The per-layer diagnostics plots (activation, gradient and weight-gradient histograms, and
update:data ratios) draw the numbers that :mod:`utils.diagnostics` computes; their legends
carry the values of the matching tables (:func:`utils.diagnostics.layer_stats`, ...).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .diagnostics import (gradient_stats, histogram_densities, layer_stats, series,
                          weight_gradient_stats)

__all__ = ["plot_curves", "plot_function", "figure_to_png", "plot_activation_histograms",
           "plot_gradient_histograms", "plot_weight_gradient_histograms", "plot_update_ratios"]


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    return ax


def plot_curves(
    curves: Mapping[str, Sequence[float]],
    *,
    x: Sequence[float] | None = None,
    ax: Axes | None = None,
    xlabel: str = "step",
    ylabel: str = "loss",
    logy: bool = False,
    title: str | None = None,
    figsize: tuple[float, float] = (6.0, 3.5),
) -> Axes:
    """Plot one line per named curve (training loss, validation loss, ...).

    Args:
        curves: name -> values; all curves share the x values.
        x: the x values (default: 0, 1, 2, ...).
        ax: where to draw; a new figure when ``None``.
        xlabel, ylabel, title: labels.
        logy: logarithmic y axis.

    Returns:
        The ``Axes`` drawn on.

    Example:
        >>> ax = plot_curves({"train": [2.0, 1.5, 1.2], "val": [2.1, 1.7, 1.6]})
    """
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError(f"curves must be a non-empty mapping name -> values, got {curves!r:.80}")
    ax = _axes(ax, figsize)
    for name, values in curves.items():
        values = np.asarray(values, dtype=float)
        if values.ndim != 1:
            raise ValueError(f"curve {name!r} must be 1-D, got shape {values.shape}")
        xs = np.arange(len(values)) if x is None else np.asarray(x, dtype=float)
        if len(xs) != len(values):
            raise ValueError(f"curve {name!r} has {len(values)} values but x has {len(xs)}")
        ax.plot(xs, values, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    if len(curves) > 1:
        ax.legend()
    ax.grid(True, alpha=0.3)
    return ax


def plot_function(
    fn: Callable[[np.ndarray], np.ndarray],
    *,
    xlim: tuple[float, float] = (-4.0, 4.0),
    ax: Axes | None = None,
    label: str | None = None,
    xlabel: str = "x",
    ylabel: str = "f(x)",
    num: int = 401,
    figsize: tuple[float, float] = (5.0, 3.5),
    **line_kwargs,
) -> Axes:
    """Plot a 1-D function ``fn`` (NumPy in, NumPy out) on ``xlim``.

    Example:
        >>> ax = plot_function(np.tanh, label="tanh", ylabel="tanh(x)")
    """
    lo, hi = xlim
    if not lo < hi:
        raise ValueError(f"xlim must be (low, high) with low < high, got {xlim}")
    ax = _axes(ax, figsize)
    xs = np.linspace(lo, hi, num)
    ys = np.asarray(fn(xs), dtype=float)
    if ys.shape != xs.shape:
        raise ValueError(f"fn must return one value per input: expected shape {xs.shape}, got {ys.shape}")
    ax.plot(xs, ys, label=label, **line_kwargs)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.axhline(0, color="0.7", lw=0.8)
    ax.axvline(0, color="0.7", lw=0.8)
    if label:
        ax.legend()
    return ax


def figure_to_png(fig: Figure, *, dpi: int = 100, close: bool = True) -> bytes:
    """Render a figure to PNG bytes (for widgets and files); closes it unless ``close=False``.

    The PNG carries no timestamp, so the same figure gives the same bytes.
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"expected a matplotlib Figure, got {type(fig).__name__}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    if close:
        plt.close(fig)
    return buffer.getvalue()


def _histograms(ax: Axes, data: Mapping, labels: list[str], bins: int,
                xlabel: str, title: str) -> Axes:
    for (centres, density), label in zip(histogram_densities(data, bins).values(), labels):
        ax.plot(centres.numpy(), density.numpy(), label=label)
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
    return _histograms(_axes(ax, figsize), acts, labels, bins,
                       "activation (layer output)", "activation distribution")


def plot_gradient_histograms(grads: Mapping, *, ax: Axes | None = None, bins: int = 100,
                             figsize: tuple[float, float] = (8.0, 3.5)) -> Axes:
    """One density line per layer of the gradients of the loss with respect to its output,
    mean and std in the legend (``layer 1 (Tanh): mean +1.2e-06, std 3.4e-03``).

    Args and return as in :func:`plot_activation_histograms`.
    """
    labels = [f"{r['name']}: mean {r['mean']:+.1e}, std {r['std']:.1e}"
              for r in gradient_stats(grads)]
    return _histograms(_axes(ax, figsize), grads, labels, bins,
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
    return _histograms(_axes(ax, figsize), grads, labels, bins,
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
    data = series(ratios, "ratios", min_size=1)
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
