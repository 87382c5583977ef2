import ipywidgets as widgets
import matplotlib.pyplot as plt
import pytest
from ipywidgets.widgets.widget import _instances as live_widgets
from ipywidgets.widgets.widget_link import Link

from utils.widgets import figure_slider


def _figures(n):
    figs = []
    for k in range(n):
        fig, ax = plt.subplots(figsize=(2, 1.5))
        ax.plot([0, 1], [0, k])
        figs.append(fig)
    return figs


def test_figure_slider_links_slider_to_stack_in_the_browser():
    box = figure_slider(_figures(3), [0.5, 1.0, 5 / 3], description="gain", initial=1)
    slider, stack = box.children
    assert isinstance(slider, widgets.SelectionSlider) and isinstance(stack, widgets.Stack)
    assert [label for label, _ in slider.options] == ["0.5", "1", "1.667"]
    assert slider.index == 1 and stack.selected_index == 1
    assert all(isinstance(child, widgets.Image) and child.value[:4] == b"\x89PNG" for child in stack.children)
    # The link is a client-side widget (jslink), so it works with no kernel: it is a
    # Link widget whose two ends are the slider's index and the stack's selected_index.
    links = [w for w in live_widgets.values() if isinstance(w, Link)]
    assert any(link.source == (slider, "index") and link.target == (stack, "selected_index") for link in links)


def test_figure_slider_validates_its_arguments():
    with pytest.raises(ValueError, match="at least one figure"):
        figure_slider([], [])
    with pytest.raises(ValueError, match="2 figures, 3 values"):
        figure_slider(_figures(2), [1, 2, 3])
    with pytest.raises(ValueError, match="distinct labels"):
        figure_slider(_figures(2), [1.00001, 1.00002])
    with pytest.raises(ValueError, match=r"initial must be an index in \[0, 1\], got 2"):
        figure_slider(_figures(2), [1, 2], initial=2)
