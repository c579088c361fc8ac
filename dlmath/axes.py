"""The plot checks under their first name, which released notebooks import (``dlmath.axes``).

They live in ``dlmath.checks.plots``; this name stays importable so that notebooks already in
students' hands keep working.
"""

from dlmath.checks.plots import (
    check_axes,
    check_circle,
    check_contours,
    check_drawn_on,
    check_equal_aspect,
    check_has_labels,
    check_legend,
    check_line_data,
    check_points,
    circle_radii,
    given_axes,
    labelled_lines,
    labelled_points,
    legend_texts,
    line_points,
)

__all__ = [
    "check_axes",
    "labelled_lines",
    "line_points",
    "check_has_labels",
    "check_line_data",
    "legend_texts",
    "check_legend",
    "check_contours",
    "labelled_points",
    "check_points",
    "circle_radii",
    "check_circle",
    "check_equal_aspect",
    "check_drawn_on",
    "given_axes",
]
