"""Plot checks read lines, labels, legends and contours off a real Axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dlmath.axes import (  # noqa: E402
    check_axes,
    check_contours,
    check_drawn_on,
    check_has_labels,
    check_legend,
    check_line_data,
)
from dlmath.checks import CheckFailed  # noqa: E402


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
    check_legend("plot", ax)
    check_contours("plot", ax)


def test_missing_pieces_fail(ax: plt.Axes) -> None:
    ax.plot([0, 1], [2, 3], label="0.1")
    with pytest.raises(CheckFailed, match="lr=0.1"):
        check_has_labels("plot", ax, ["lr=0.1"])
    with pytest.raises(CheckFailed, match="no legend"):
        check_legend("plot", ax)
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
