"""Interactive figures that also work in the static HTML site.

A slider wired to a Python callback (``ipywidgets.interact``) needs a running kernel:
on the published site, moving it changes nothing. ``figure_slider`` instead renders
every frame in Python ahead of time, stacks the pictures in an ``ipywidgets.Stack``
and links the slider to the stack *in the browser* (``jslink``), so the page switches
pictures with no kernel at all. The same widget works live in Jupyter, Binder and Colab.

The cost is that every frame is computed up front, so keep the number of frames small
(a dozen or two) and the figures modest in size.
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets
from matplotlib.figure import Figure

from .plotting import figure_to_png


def figure_slider(
    figures: Sequence[Figure],
    values: Sequence,
    *,
    description: str = "value",
    initial: int = 0,
    dpi: int = 90,
) -> widgets.VBox:
    """A slider that flips between precomputed figures, client-side.

    Args:
        figures: one matplotlib figure per slider position (closed after rendering).
        values: the label shown for each position, e.g. the gains ``[0.5, 1, 5/3, 3]``.
        description: the slider's label.
        initial: index of the position shown first.
        dpi: resolution of the rendered pictures.

    Returns:
        A ``VBox`` holding the slider and the stack of pictures; display it as the
        last expression of a cell.

    Example:
        >>> figs = []
        >>> for gain in (0.5, 1.0, 2.0):
        ...     fig, ax = plt.subplots(); ax.plot(np.tanh(gain * xs)); figs.append(fig)
        >>> figure_slider(figs, [0.5, 1.0, 2.0], description="gain")  # doctest: +SKIP
    """
    figures = list(figures)
    labels = [_label(v) for v in values]
    if not figures:
        raise ValueError("figure_slider needs at least one figure, got none")
    if len(figures) != len(labels):
        raise ValueError(f"expected one value per figure: {len(figures)} figures, {len(labels)} values")
    if len(set(labels)) != len(labels):
        raise ValueError(f"slider values must have distinct labels, got {labels}")
    if not 0 <= initial < len(figures):
        raise ValueError(f"initial must be an index in [0, {len(figures) - 1}], got {initial}")
    pictures = [widgets.Image(value=figure_to_png(fig, dpi=dpi), format="png") for fig in figures]
    stack = widgets.Stack(children=pictures, selected_index=initial)
    slider = widgets.SelectionSlider(
        options=list(zip(labels, range(len(labels)))),
        index=initial,
        description=description,
        continuous_update=True,
        style={"description_width": "initial"},
        layout=widgets.Layout(width="420px"),
    )
    widgets.jslink((slider, "index"), (stack, "selected_index"))
    return widgets.VBox([slider, stack])


def _label(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
