"""Helpers that let test cells grade a plot from the matplotlib Axes it was drawn on."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.contour import ContourSet
from matplotlib.lines import Line2D
from matplotlib.patches import Ellipse

from dlmath.checks.values import check_array, check_instance, check_same_values, fail


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


def legend_texts(ax: Axes) -> list[str] | None:
    """The entries of the legends that show ``ax``'s artists: its own legend (``ax.legend()``)
    and its figure's (``fig.legend()``); None when there is no legend at all."""
    legends = [ax.get_legend(), *getattr(ax.figure, "legends", [])]
    legends = [legend for legend in legends if legend is not None]
    if not legends:
        return None
    return [text.get_text() for legend in legends for text in legend.get_texts()]


def check_legend(what: str, ax: Axes, labels: list[str] | None = None) -> None:
    """Check that a legend (the Axes' own or its figure's) lists each of ``labels``.

    A legend made before the lines are drawn is empty, and one made after the first of several
    lists only that one: both fail. ``labels=None`` means every labelled line of ``ax``: the
    test cells released before ``labels`` existed call ``check_legend(what, ax)``, and notebooks
    in students' hands must keep validating.
    """
    if labels is None:
        labels = list(labelled_lines(ax))
    texts = legend_texts(ax)
    if texts is None:
        fail(what, detail="the plot has no legend",
             hint="call ax.legend() after plotting the labelled lines.")
    missing = [label for label in labels if label not in texts]
    if missing:
        fail(what, detail=f"the legend does not list {missing}", expected=str(list(labels)),
             got=f"legend entries {texts}",
             hint="call ax.legend() once, after every labelled line is drawn (a legend made "
                  "earlier lists only the lines drawn before it).")


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
    """Radii of the origin-centred circles on the Axes: Circle patches, Ellipse patches with
    equal axes, and lines through at least 20 points on a circle that go all the way round
    (no gap between neighbouring points wider than 45 degrees)."""
    radii = [float(p.width) / 2 for p in ax.patches
             if isinstance(p, Ellipse) and np.isclose(p.width, p.height, rtol=1e-9, atol=0)
             and np.allclose(p.center, 0, atol=1e-9)]
    for line in ax.get_lines():
        points = line_points(line)
        moduli = np.hypot(*points.T)
        if len(moduli) < 20 or not moduli.min() > 0 or np.ptp(moduli) > 1e-3 * moduli.max():
            continue
        angles = np.sort(np.arctan2(points[:, 1], points[:, 0]))
        gaps = np.diff(np.append(angles, angles[0] + 2 * np.pi))
        if gaps.max() <= np.pi / 4:
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


def given_axes() -> Axes:
    """A new Axes to pass to a plotting function as ``ax``, with another figure made current
    afterwards (as after any earlier plot in a notebook): a function that draws with
    ``plt.plot`` or ``plt.contour``, on the current axes, instead of on ``ax`` misses it."""
    import matplotlib.pyplot as plt

    _, ax = plt.subplots()
    plt.figure()
    return ax
