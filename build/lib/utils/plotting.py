"""Small matplotlib helpers shared by the chapters.

Conventions (the same in every helper): object-oriented API, an ``ax=`` argument so that
a helper can draw into a panel of a larger figure, both axes labelled, the ``Axes``
returned, no ``plt.show()`` and no change to global ``rcParams``.

The per-layer diagnostics plots (activation, gradient, weight-gradient histograms and
update:data ratios) live in :mod:`utils.diagnostics`, next to the tables they draw; they are
re-exported here so that every plot helper can be imported from one place.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from .diagnostics import _axes  # the ax=None / type check every plot helper shares
from .diagnostics import (plot_activation_histograms, plot_gradient_histograms,
                          plot_update_ratios, plot_weight_gradient_histograms)

__all__ = ["plot_curves", "plot_function", "figure_to_png", "plot_activation_histograms",
           "plot_gradient_histograms", "plot_weight_gradient_histograms", "plot_update_ratios"]


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
