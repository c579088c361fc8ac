"""Helpers that let test cells grade a plot from the matplotlib Axes it was drawn on."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.contour import ContourSet
from matplotlib.lines import Line2D
from matplotlib.patches import Circle

from dlmath.checks import check_array, check_instance, check_same_values, fail


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


def labelled_points(ax: Axes) -> dict[str, np.ndarray]:
    """Map each visible label to its (n, 2) points, from lines and scatter plots alike."""
    points = {label: line_points(line) for label, line in labelled_lines(ax).items()}
    for collection in ax.collections:
        label = collection.get_label()
        if isinstance(collection, PathCollection) and not label.startswith("_"):
            points[label] = np.asarray(collection.get_offsets(), dtype=float)
    return points


def check_points(what: str, ax: Axes, label: str, expected_xy: Any, *, atol: float,
                 hint: str = "") -> None:
    """Check that the artist labelled ``label`` shows exactly the points ``expected_xy``.

    The order of the points does not matter (a scatter of eigenvalues has no natural order):
    every expected point must have a plotted point within ``atol`` and vice versa, and the
    counts must agree.
    """
    plotted = labelled_points(ax)
    if label not in plotted:
        fail(what, detail=f"nothing labelled {label!r}", got=f"labels {sorted(plotted)}",
             hint=hint)
    got = plotted[label]
    expected = np.asarray(expected_xy, dtype=float)
    check_same_values(what, got[:, 0] + 1j * got[:, 1], expected[:, 0] + 1j * expected[:, 1],
                      atol=atol, hint=hint)


def circle_radii(ax: Axes) -> list[float]:
    """Radii of the origin-centred circles on the Axes: Circle patches and closed lines."""
    radii = [float(p.get_radius()) for p in ax.patches
             if isinstance(p, Circle) and np.allclose(p.center, 0, atol=1e-9)]
    for line in ax.get_lines():
        moduli = np.hypot(*line_points(line).T)
        if len(moduli) >= 20 and moduli.min() > 0 and np.ptp(moduli) <= 1e-3 * moduli.max():
            radii.append(float(moduli.mean()))
    return radii


def check_circle(what: str, ax: Axes, radius: float, *, rtol: float, hint: str = "") -> None:
    """Check that an origin-centred circle of ``radius`` (within ``rtol``) is drawn."""
    radii = circle_radii(ax)
    if not any(abs(r - radius) <= rtol * radius for r in radii):
        fail(what, detail="no circle of the predicted radius around the origin",
             expected=f"radius {radius:.4g} (rtol={rtol:g})",
             got=f"circles of radius {[round(r, 4) for r in radii]}", hint=hint)


def check_equal_aspect(what: str, ax: Axes) -> None:
    """Check that one unit on x is as long as one unit on y (circles look round)."""
    if ax.get_aspect() != 1.0:
        fail(what, detail="the aspect ratio is not equal", got=repr(ax.get_aspect()),
             hint='call ax.set_aspect("equal").')


def check_drawn_on(what: str, returned: Any, ax: Axes) -> Axes:
    """Check that a plotting function given ``ax=ax`` returned that very Axes, and return it.

    Inspect the returned Axes afterwards (not ``ax`` itself): that is the value the student's
    function handed back, whatever process it was drawn in.
    """
    check_axes(what, returned)
    if returned is not ax:
        fail(what, detail="the returned Axes is not the ax that was passed in",
             expected="the ax argument", got="another Axes",
             hint="draw on the ax you are given and return it; create one only when ax is None.")
    return returned
