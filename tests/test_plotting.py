import matplotlib.pyplot as plt
import numpy as np
import pytest

from utils.plotting import figure_to_png, plot_curves, plot_function


def test_plot_curves_draws_one_labelled_line_per_curve():
    ax = plot_curves({"train": [3.0, 2.0, 1.5], "val": [3.1, 2.4, 2.2]}, ylabel="loss", logy=True)
    assert [line.get_label() for line in ax.get_lines()] == ["train", "val"]
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "loss"
    assert ax.get_yscale() == "log"
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), [3.1, 2.4, 2.2])
    plt.close(ax.figure)


def test_plot_curves_uses_the_given_axes_and_x():
    fig, (left, right) = plt.subplots(1, 2)
    ax = plot_curves({"loss": [1.0, 0.5]}, x=[10, 20], ax=right)
    assert ax is right and not left.get_lines()
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [10, 20])
    plt.close(fig)


def test_plot_curves_errors_name_the_problem():
    with pytest.raises(ValueError, match="non-empty mapping"):
        plot_curves({})
    with pytest.raises(ValueError, match="curve 'a' has 3 values but x has 2"):
        plot_curves({"a": [1, 2, 3]}, x=[0, 1])
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        plot_curves({"a": [1, 2]}, ax="left")


def test_plot_function_samples_the_function():
    ax = plot_function(np.tanh, xlim=(-2, 2), label="tanh", num=5)
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), np.tanh([-2, -1, 0, 1, 2]))
    assert ax.get_xlabel() == "x"
    plt.close(ax.figure)
    with pytest.raises(ValueError, match="low < high"):
        plot_function(np.tanh, xlim=(1, -1))
    with pytest.raises(ValueError, match="one value per input"):
        plot_function(lambda x: x[:3])


def test_figure_to_png_is_a_deterministic_png():
    def make():
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot([0, 1], [1, 0])
        return fig

    first, second = figure_to_png(make()), figure_to_png(make())
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    assert first == second
    with pytest.raises(TypeError, match="expected a matplotlib Figure"):
        figure_to_png("not a figure")
