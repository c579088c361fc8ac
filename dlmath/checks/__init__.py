"""What the course's test cells import: checks of values (``values.py``) and plots (``plots.py``).

Released notebooks import ``from dlmath.checks import check_close, ...``, so the value checks
are importable from here as well as from ``dlmath.checks.values``.
"""

from dlmath.checks.values import (
    CheckFailed,
    Hint,
    as_float,
    as_number_array,
    as_plain,
    check_array,
    check_close,
    check_equal,
    check_inputs_unchanged,
    check_instance,
    check_integer,
    check_no_error,
    check_raises,
    check_same_values,
    check_true,
    default_shape_hint,
    fail,
    message,
    result_of,
    show,
    which_part,
)

__all__ = [
    "CheckFailed",
    "show",
    "Hint",
    "message",
    "fail",
    "which_part",
    "as_number_array",
    "as_float",
    "default_shape_hint",
    "check_array",
    "check_same_values",
    "check_close",
    "check_integer",
    "check_true",
    "check_instance",
    "check_raises",
    "check_inputs_unchanged",
    "result_of",
    "check_no_error",
    "as_plain",
    "check_equal",
]
