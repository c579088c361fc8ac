"""Helpers that let test cells grade a plot from the matplotlib Axes it was drawn on."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.contour import ContourSet
from matplotlib.lines import Line2D

from dlmath.checks import check_array, check_instance, fail


def check_axes(what: str, got: Any) -> Axes:
    """Check that a plotting function returned a matplotlib Axes, and return it."""
    check_instance(what, got, Axes,
                   hint="end your plotting function with `return ax`, the Axes you drew on.")
    return got


def labelled_lines(ax: Axes) -> dict[str, Line2D]:
    """Map each visible label to its line (matplotlib hides labels starting with '_')."""
    return {line.get_label(): line for line in ax.get_lines()
            if not line.get_label().startswith("_")}


def line_points(line: Line2D) -> np.ndarray:
    """The (n, 2) float array of a line's x and y data."""
    x = np.asarray(line.get_xdata(), dtype=float)
    y = np.asarray(line.get_ydata(), dtype=float)
    return np.column_stack([x, y])


def check_has_labels(what: str, ax: Axes, expected: list[str], hint: str = "") -> None:
    """Check that each expected label names exactly one line (other labelled lines are allowed)."""
    labels = [line.get_label() for line in ax.get_lines()]
    missing = [label for label in expected if labels.count(label) != 1]
    if missing:
        visible = [label for label in labels if not label.startswith("_")]
        fail(what, detail=f"expected exactly one line labelled each of {missing}",
             expected=str(list(expected)), got=f"line labels {visible}", hint=hint)


def check_line_data(what: str, ax: Axes, label: str, expected_xy: Any, *, rtol: float,
                    atol: float, hint: str = "") -> None:
    """Check that the line labelled ``label`` plots exactly the points ``expected_xy``."""
    lines = labelled_lines(ax)
    if label not in lines:
        fail(what, detail=f"no line labelled {label!r}", got=str(sorted(lines)), hint=hint)
    check_array(what, line_points(lines[label]), expected_xy, rtol=rtol, atol=atol, hint=hint)


def check_legend(what: str, ax: Axes) -> None:
    """Check that the Axes shows a legend."""
    if ax.get_legend() is None:
        fail(what, detail="the plot has no legend", hint="call ax.legend() after plotting.")


def check_contours(what: str, ax: Axes) -> None:
    """Check that the Axes holds contour lines (from ax.contour or ax.contourf)."""
    if not any(isinstance(c, ContourSet) for c in ax.collections):
        fail(what, detail="no contour lines on the plot",
             hint="draw the level sets of f with ax.contour(X, Y, Z).")
