"""Assertion helpers used by the course's autograder test cells.

Every helper turns the student's value into plain built-in or NumPy data
*before* comparing, so an object whose ``__eq__`` or ``__lt__`` lies cannot
pass, and every failure raises :class:`CheckFailed` with a message a student
can act on: what was checked, what was expected, what they returned, a hint.

Tolerances are always explicit (``rtol`` and ``atol``), never NumPy's
defaults: ``np.allclose``'s ``atol=1e-8`` would accept any tiny wrong answer.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

_PRINT_OPTIONS = {"precision": 6, "threshold": 12, "edgeitems": 3, "suppress": False}


class CheckFailed(AssertionError):
    """A failed check, with a message written for the student."""


def _show(value: Any) -> str:
    """Render a value compactly for a failure message."""
    if isinstance(value, np.ndarray):
        with np.printoptions(**_PRINT_OPTIONS):
            text = np.array2string(value, separator=", ")
        return f"{text}  (shape {value.shape})"
    text = repr(value)
    return text if len(text) <= 300 else text[:300] + " ..."


def fail(what: str, *, expected: Any = None, got: Any = None, hint: str = "",
         detail: str = "") -> None:
    """Raise :class:`CheckFailed` with the course's standard message layout."""
    lines = [f"Check failed: {what}"]
    if detail:
        lines.append(f"  problem:  {detail}")
    if expected is not None:
        lines.append(f"  expected: {expected if isinstance(expected, str) else _show(expected)}")
    if got is not None:
        lines.append(f"  got:      {got if isinstance(got, str) else _show(got)}")
    if hint:
        lines.append(f"  hint:     {hint}")
    raise CheckFailed("\n".join(lines))


def as_number_array(what: str, value: Any, hint: str = "") -> np.ndarray:
    """Convert ``value`` to a float64 (or complex128, if it has complex entries) ndarray.

    Anything that is not plain numbers (objects, strings, ragged lists) fails with a clear
    message instead of being compared.
    """
    try:
        array = np.array(value)
        if array.dtype.kind not in "biufc":
            raise TypeError(f"entries of type {array.dtype}")
        array = array.astype(complex if array.dtype.kind == "c" else float)
    except (TypeError, ValueError) as error:
        fail(what, expected="numbers (a NumPy array or something convertible to one)",
             got=f"{type(value).__name__}: {_show(value)}", hint=hint,
             detail=f"could not convert to an array of numbers ({error})")
    return array


def as_float(what: str, value: Any, hint: str = "") -> float:
    """Convert ``value`` to a plain Python float, failing with a clear message if impossible."""
    try:
        array = np.array(value, dtype=float)
    except (TypeError, ValueError):
        array = None
    if array is None or array.size != 1:
        fail(what, expected="a single number", got=f"{type(value).__name__}: {_show(value)}",
             hint=hint)
    return float(array.reshape(()))


def check_array(what: str, got: Any, expected: Any, *, rtol: float, atol: float,
                hint: str = "") -> None:
    """Check that ``got`` has ``expected``'s shape and matches it within ``rtol``/``atol``.

    Real and complex arrays are both accepted; a complex answer with zero imaginary parts
    matches a real expectation.
    """
    got_array = as_number_array(what, got, hint)
    expected_array = as_number_array(what, expected)
    if got_array.shape != expected_array.shape:
        fail(what, detail="wrong shape", expected=f"shape {expected_array.shape}",
             got=f"shape {got_array.shape}", hint=hint)
    if not np.all(np.isfinite(got_array) | ~np.isfinite(expected_array)):
        fail(what, detail="contains NaN or infinity", expected=expected_array, got=got_array,
             hint=hint)
    close = np.isclose(got_array, expected_array, rtol=rtol, atol=atol)
    if not np.all(close):
        where = tuple(int(i) for i in np.argwhere(~close)[0])
        fail(what, expected=expected_array, got=got_array, hint=hint,
             detail=(f"{int((~close).sum())} of {close.size} entries differ "
                     f"(first at index {where}: expected {expected_array[where].item()!r}, "
                     f"got {got_array[where].item()!r}; rtol={rtol:g}, atol={atol:g})"))


def check_same_values(what: str, got: Any, expected: Any, *, atol: float,
                      hint: str = "") -> None:
    """Check that ``got`` holds the same numbers as ``expected`` in any order (within ``atol``).

    For results with no natural order (eigenvalues, scatter points): the counts must agree and
    every expected value must have a returned value within ``atol``, and vice versa.
    """
    got_values = as_number_array(what, got, hint).astype(complex).ravel()
    expected_values = as_number_array(what, expected).astype(complex).ravel()
    if got_values.size != expected_values.size:
        fail(what, detail="wrong number of values", expected=f"{expected_values.size} values",
             got=f"{got_values.size} values", hint=hint)
    if got_values.size == 0:
        return
    distances = np.abs(got_values[:, None] - expected_values[None, :])
    unmatched = np.flatnonzero(distances.min(axis=0) > atol)
    extra = np.flatnonzero(distances.min(axis=1) > atol)
    if unmatched.size or extra.size:
        fail(what, detail=f"{max(unmatched.size, extra.size)} values have no match "
                          f"within atol={atol:g}",
             expected=expected_values, got=got_values, hint=hint)


def check_close(what: str, got: Any, expected: float, *, rtol: float, atol: float,
                hint: str = "") -> None:
    """Check that a scalar ``got`` is within ``rtol``/``atol`` of ``expected``."""
    value = as_float(what, got, hint)
    if not np.isclose(value, expected, rtol=rtol, atol=atol):
        fail(what, expected=f"{float(expected)!r} (rtol={rtol:g}, atol={atol:g})",
             got=repr(value), hint=hint)


def check_integer(what: str, got: Any, expected: int | None, hint: str = "") -> None:
    """Check that ``got`` is exactly the integer ``expected``, or ``None`` when that is expected.

    NumPy integers count as integers; floats, bools and look-alike objects do not.
    """
    if expected is None:
        if got is not None:
            fail(what, expected="None", got=_show(got), hint=hint)
        return
    is_integer = isinstance(got, numbers.Integral | np.integer) and not isinstance(got, bool)
    if not is_integer:
        fail(what, expected=f"the integer {expected}", got=f"{type(got).__name__}: {_show(got)}",
             hint=hint)
    if int(got) != expected:
        fail(what, expected=str(expected), got=str(int(got)), hint=hint)


def check_true(what: str, condition: Any, hint: str = "", got: Any = None) -> None:
    """Check a condition computed by the test itself (never by the student's objects)."""
    if not (condition is True or condition is np.True_):
        fail(what, hint=hint, got=got)


def check_instance(what: str, got: Any, cls: type | tuple[type, ...], hint: str = "") -> None:
    """Check that ``got`` is an instance of ``cls``."""
    if not isinstance(got, cls):
        names = cls.__name__ if isinstance(cls, type) else " or ".join(c.__name__ for c in cls)
        fail(what, expected=f"an instance of {names}", got=f"{type(got).__name__}", hint=hint)


def check_raises(what: str, exception: type[BaseException], func: Callable[..., Any],
                 *args: Any, hint: str = "", mentions: tuple[str, ...] = (),
                 **kwargs: Any) -> None:
    """Check that ``func(*args, **kwargs)`` raises ``exception`` mentioning ``mentions``."""
    try:
        result = func(*args, **kwargs)
    except exception as error:
        missing = [word for word in mentions if word not in str(error)]
        if missing:
            fail(what, detail=f"the error message does not mention {missing}",
                 got=f"{type(error).__name__}: {error}", hint=hint)
        return
    except Exception as error:  # noqa: BLE001 - any other exception is the student's mistake
        fail(what, expected=f"{exception.__name__} to be raised",
             got=f"{type(error).__name__}: {error}", hint=hint)
    fail(what, expected=f"{exception.__name__} to be raised",
         got=f"no exception; returned {_show(result)}", hint=hint)


def check_inputs_unchanged(what: str, func: Callable[..., Any], *args: Any,
                           hint: str = "", **kwargs: Any) -> Any:
    """Call ``func`` and check that none of its array-like arguments was modified in place.

    Returns whatever ``func`` returned, so the call can be checked further.
    """
    before = [copy.deepcopy(a) for a in args]
    result = func(*args, **kwargs)
    for position, (old, new) in enumerate(zip(before, args, strict=True)):
        if isinstance(old, np.ndarray) and not np.array_equal(old, new, equal_nan=True):
            fail(what, detail=f"argument {position + 1} was modified in place",
                 expected=old, got=new,
                 hint=hint or "work on a copy (e.g. np.array(x, dtype=float)) instead.")
    return result


def check_no_error(what: str, func: Callable[..., Any], *args: Any, hint: str = "",
                   **kwargs: Any) -> None:
    """Check that ``func(*args, **kwargs)`` returns without raising (a valid input is accepted).

    Returns ``None`` on purpose, so that a bare call ending a test cell never displays the
    student's value (nbgrader would read a displayed number as partial credit).
    """
    try:
        func(*args, **kwargs)
    except Exception as error:  # noqa: BLE001 - any exception is the student's mistake
        fail(what, expected="a result, without an exception",
             got=f"{type(error).__name__}: {error}", hint=hint)


def as_plain(what: str, value: Any, hint: str = "") -> Any:
    """Convert ``value`` to built-in data: None, bool, int, float, complex, str, list, dict.

    NumPy scalars and arrays become their built-in equivalents, tuples become lists, and
    subclasses of built-in types are converted to the base type (so a lying ``__eq__`` is
    dropped). Anything else fails with a clear message instead of being compared.
    """
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral | np.integer):
        return int(value)
    if isinstance(value, numbers.Real | np.floating):
        return float(value)
    if isinstance(value, numbers.Complex | np.complexfloating):
        return complex(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, np.ndarray):
        return as_plain(what, value.tolist(), hint)
    if isinstance(value, list | tuple):
        return [as_plain(what, item, hint) for item in value]
    if isinstance(value, dict):
        return {as_plain(what, key, hint) if not isinstance(key, tuple)
                else tuple(as_plain(what, list(key), hint)): as_plain(what, item, hint)
                for key, item in value.items()}
    fail(what, expected="plain data (numbers, strings, lists, dicts)",
         got=f"{type(value).__name__}: {_show(value)}", hint=hint)


def check_equal(what: str, got: Any, expected: Any, hint: str = "") -> None:
    """Check that ``got`` equals ``expected`` exactly, after both are converted to plain data.

    For exact, structured answers (labels, orderings, keys): tuples and lists compare equal,
    ``1 == 1.0``, and NumPy values count as their built-in equivalents.
    """
    plain = as_plain(what, got, hint)
    if plain != as_plain(what, expected):
        fail(what, expected=_show(as_plain(what, expected)), got=_show(plain), hint=hint)
