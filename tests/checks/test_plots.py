"""Plot checks read lines, labels, legends and contours off a real Axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dlmath.checks import CheckFailed  # noqa: E402
from dlmath.checks.plots import (  # noqa: E402
    check_axes,
    check_circle,
    check_contours,
    check_drawn_on,
    check_has_labels,
    check_legend,
    check_line_data,
    circle_radii,
    given_axes,
)


@pytest.fixture()
def ax() -> plt.Axes:
    _, ax = plt.subplots()
    yield ax
    plt.close("all")


def test_a_complete_plot_passes(ax: plt.Axes) -> None:
    grid = np.linspace(-1, 1, 5)
    ax.contour(*np.meshgrid(grid, grid), np.add.outer(grid, grid) ** 2)
    ax.plot([0, 1], [2, 3], label="lr=0.1")
    ax.legend()
    assert check_axes("plot", ax) is ax
    check_has_labels("plot", ax, ["lr=0.1"])
    check_line_data("plot", ax, "lr=0.1", [[0, 2], [1, 3]], rtol=0, atol=0)
    check_legend("plot", ax, ["lr=0.1"])
    check_contours("plot", ax)


def test_missing_pieces_fail(ax: plt.Axes) -> None:
    ax.plot([0, 1], [2, 3], label="0.1")
    with pytest.raises(CheckFailed, match="lr=0.1"):
        check_has_labels("plot", ax, ["lr=0.1"])
    with pytest.raises(CheckFailed, match="no legend"):
        check_legend("plot", ax, ["0.1"])
    with pytest.raises(CheckFailed, match="no contour"):
        check_contours("plot", ax)
    with pytest.raises(CheckFailed, match="Axes"):
        check_axes("plot", ax.figure)


def test_duplicate_label_fails(ax: plt.Axes) -> None:
    ax.plot([0], [0], label="lr=0.1")
    ax.plot([1], [1], label="lr=0.1")
    with pytest.raises(CheckFailed, match="exactly one line"):
        check_has_labels("plot", ax, ["lr=0.1"])


def test_wrong_line_data_fails(ax: plt.Axes) -> None:
    ax.plot([2, 3], [0, 1], label="lr=0.1")
    with pytest.raises(CheckFailed):
        check_line_data("plot", ax, "lr=0.1", [[0, 2], [1, 3]], rtol=0, atol=1e-12)


def test_check_drawn_on_accepts_the_given_axes_only(ax: plt.Axes) -> None:
    assert check_drawn_on("plot(ax=ax)", ax, ax) is ax
    _, other = plt.subplots()
    with pytest.raises(CheckFailed, match="not the ax that was passed in"):
        check_drawn_on("plot(ax=ax)", other, ax)
    with pytest.raises(CheckFailed, match="an instance of Axes"):
        check_drawn_on("plot(ax=ax)", None, ax)


def test_a_legend_must_list_the_labelled_lines(ax: plt.Axes) -> None:
    with pytest.warns(UserWarning, match="No artists with labels"):
        ax.legend()  # made before anything is drawn: empty
    ax.plot([0, 1], [0, 1], label="lr=0.1")
    ax.plot([0, 1], [1, 0], label="lr=0.3")
    with pytest.raises(CheckFailed, match=r"does not list \['lr=0.1', 'lr=0.3'\]"):
        check_legend("plot", ax, ["lr=0.1", "lr=0.3"])
    ax.legend(handles=ax.get_lines()[:1])  # made after the first line only
    with pytest.raises(CheckFailed, match=r"does not list \['lr=0.3'\]"):
        check_legend("plot", ax, ["lr=0.1", "lr=0.3"])
    ax.legend()
    check_legend("plot", ax, ["lr=0.1", "lr=0.3"])


def test_a_figure_legend_counts(ax: plt.Axes) -> None:
    ax.plot([0, 1], [0, 1], label="f1")
    ax.figure.legend()
    check_legend("plot", ax, ["f1"])


def test_circles_as_patches_ellipses_and_closed_lines(ax: plt.Axes) -> None:
    from matplotlib.patches import Circle, Ellipse

    ax.add_patch(Circle((0, 0), 1.0, fill=False))
    ax.add_patch(Ellipse((0, 0), 3.0, 3.0, fill=False))
    ax.add_patch(Ellipse((0, 0), 4.0, 2.0, fill=False))  # not a circle
    t = np.linspace(0, 2 * np.pi, 50)
    ax.plot(2.5 * np.cos(t), 2.5 * np.sin(t))
    half = np.linspace(0, np.pi, 50)
    ax.plot(4 * np.cos(half), 4 * np.sin(half))  # a half circle is not the circle
    assert sorted(circle_radii(ax)) == pytest.approx([1.0, 1.5, 2.5])
    check_circle("circle", ax, 2.5, rtol=1e-9)
    with pytest.raises(CheckFailed, match="no circle of the predicted radius"):
        check_circle("circle", ax, 4.0, rtol=0.01)


def test_given_axes_are_not_the_current_axes() -> None:
    given = given_axes()
    assert plt.gca() is not given and plt.gcf() is not given.figure
    plt.contour([[0.0, 1.0], [1.0, 2.0]], levels=[0.5])  # on the current axes, not on given
    with pytest.raises(CheckFailed, match="no contour"):
        check_contours("plot(ax=given)", given)
    plt.close("all")


def test_a_legend_checked_without_labels_must_list_every_labelled_line(ax: plt.Axes) -> None:
    """The test cells released before ``labels`` existed call check_legend(what, ax)."""
    ax.plot([0, 1], [0, 1], label="lr=0.1")
    ax.plot([0, 1], [1, 0], label="lr=0.3")
    ax.legend(handles=ax.get_lines()[:1])
    with pytest.raises(CheckFailed, match=r"does not list \['lr=0.3'\]"):
        check_legend("plot", ax)
    ax.legend()
    check_legend("plot", ax)
