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
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

_PRINT_OPTIONS = {"precision": 6, "threshold": 12, "edgeitems": 3, "suppress": False}
# Every digit a float64 needs (when the short forms of two different values look alike).
_FULL_PRINT_OPTIONS = {"floatmode": "unique", "threshold": 12, "edgeitems": 3, "suppress": False}


class CheckFailed(AssertionError):
    """A failed check, with a message written for the student."""


def show(value: Any, *, full: bool = False) -> str:
    """Render a value compactly for a failure message (``full``: floats with every digit)."""
    if isinstance(value, np.ndarray):
        with np.printoptions(**(_FULL_PRINT_OPTIONS if full else _PRINT_OPTIONS)):
            text = np.array2string(value, separator=", ")
        return f"{text}  (shape {value.shape})"
    text = repr(value)
    return text if len(text) <= 300 else text[:300] + " ..."


Hint = str | Callable[[], str]


def message(what: str, *, detail: str = "", input: str = "", expected: Any = None,
            got: Any = None, hint: Hint = "") -> str:
    """The course's standard failure message: what was checked, the problem, the call that was
    made (its input), what was expected, what was returned, and a hint.

    Values that are not strings are rendered with :func:`show`; when the expected and returned
    values look the same at the short precision, both are shown with every digit. A callable
    ``hint`` is called now, on failure (see :func:`which_part`).
    """
    if callable(hint):
        hint = hint()
    def render(value: Any, full: bool) -> str:
        return value if isinstance(value, str) else show(value, full=full)

    expected_text = None if expected is None else render(expected, False)
    got_text = None if got is None else render(got, False)
    if expected_text is not None and expected_text == got_text:
        expected_text, got_text = render(expected, True), render(got, True)
    lines = [f"Check failed: {what}"]
    for label, text in (("problem", detail), ("input", input), ("expected", expected_text),
                        ("got", got_text), ("hint", hint)):
        if text:  # a value over several lines (a matrix) stays aligned under its first line
            lines.append(f"  {label + ':':<9} " + text.replace("\n", "\n" + " " * 12))
    return "\n".join(lines)


def fail(what: str, *, expected: Any = None, got: Any = None, hint: Hint = "",
         detail: str = "") -> None:
    """Raise :class:`CheckFailed` with the course's standard message layout."""
    raise CheckFailed(message(what, detail=detail, expected=expected, got=got, hint=hint))


def which_part(parts: Iterable[tuple[str, Callable[[], bool]]], otherwise: str) -> str:
    """The hint for a wrong result that is built from other functions: the hint of the first
    part that is wrong (its test returns False or raises), else ``otherwise``.

    Pass it lazily, ``hint=lambda: which_part([...], "...")``, so the parts are tested only
    when the result is wrong, and the hint names the function to fix.
    """
    for hint, part_is_right in parts:
        try:
            verdict = part_is_right()
            right = verdict is True or verdict is np.True_
        except Exception:  # noqa: BLE001 - a part that raises is a part that is wrong
            right = False
        if not right:
            return hint
    return otherwise


def as_number_array(what: str, value: Any, hint: Hint = "") -> np.ndarray:
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
             got=f"{type(value).__name__}: {show(value)}", hint=hint,
             detail=f"could not convert to an array of numbers ({error})")
    return array


def as_float(what: str, value: Any, hint: Hint = "") -> float:
    """Convert ``value`` to a plain Python float, failing with a clear message if impossible."""
    try:
        array = np.array(value, dtype=float)
    except (TypeError, ValueError):
        array = None
    if array is None or array.size != 1:
        fail(what, expected="a single number", got=f"{type(value).__name__}: {show(value)}",
             hint=hint)
    return float(array.reshape(()))


def default_shape_hint(expected_shape: tuple[int, ...]) -> str:
    """A hint for a result of the wrong shape."""
    if expected_shape == ():
        return "return a single number (e.g. float(...)), not an array."
    return (f"return an array of shape {expected_shape}: check which axis you sum or reduce "
            "over, and that you keep one value per row (or per entry).")


def check_array(what: str, got: Any, expected: Any, *, rtol: float, atol: float,
                hint: Hint = "", shape_hint: Hint = "") -> None:
    """Check that ``got`` has ``expected``'s shape and matches it within ``rtol``/``atol``.

    Real and complex arrays are both accepted; a complex answer with zero imaginary parts
    matches a real expectation. A wrong shape gets ``shape_hint`` (by default one made from the
    expected shape), not ``hint``, which is about the values.
    """
    got_array = as_number_array(what, got, hint)
    expected_array = as_number_array(what, expected)
    if got_array.shape != expected_array.shape:
        fail(what, detail="wrong shape", expected=f"shape {expected_array.shape}",
             got=show(got_array),
             hint=shape_hint or default_shape_hint(expected_array.shape))
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
                      hint: Hint = "") -> None:
    """Check that ``got`` holds the same numbers as ``expected`` in any order (within ``atol``).

    For results with no natural order (eigenvalues, scatter points): the counts must agree and
    the values must pair up one to one, each returned value within ``atol`` of its own expected
    value (so ``[1, 2, 2]`` is not ``[1, 1, 2]``). The pairing that leaves the fewest values
    without a partner is found as an assignment problem (scipy's ``linear_sum_assignment``).
    """
    got_values = as_number_array(what, got, hint).astype(complex).ravel()
    expected_values = as_number_array(what, expected).astype(complex).ravel()
    if got_values.size != expected_values.size:
        fail(what, detail="wrong number of values", expected=f"{expected_values.size} values",
             got=f"{got_values.size} values", hint=hint)
    if got_values.size == 0:
        return
    # Written as 'not within' so that a NaN is never within anything.
    # Imported here: scipy.optimize would cost every student kernel that imports the checks
    # its memory (the sandbox's address-space limit), not only the tests that match values.
    from scipy.optimize import linear_sum_assignment

    too_far = ~(np.abs(got_values[:, None] - expected_values[None, :]) <= atol)
    rows, columns = linear_sum_assignment(too_far)
    unmatched = int(too_far[rows, columns].sum())
    if unmatched:
        fail(what, detail=f"{unmatched} values have no match within atol={atol:g}",
             expected=expected_values, got=got_values, hint=hint)


def check_close(what: str, got: Any, expected: float, *, rtol: float, atol: float,
                hint: Hint = "") -> None:
    """Check that a scalar ``got`` is within ``rtol``/``atol`` of ``expected``."""
    value = as_float(what, got, hint)
    if not np.isclose(value, expected, rtol=rtol, atol=atol):
        fail(what, expected=f"{float(expected)!r} (rtol={rtol:g}, atol={atol:g})",
             got=repr(value), hint=hint)


def check_integer(what: str, got: Any, expected: int | None, hint: Hint = "") -> None:
    """Check that ``got`` is exactly the integer ``expected``, or ``None`` when that is expected.

    NumPy integers count as integers; floats, bools and look-alike objects do not.
    """
    if expected is None:
        if got is not None:
            fail(what, expected="None", got=show(got), hint=hint)
        return
    is_integer = isinstance(got, numbers.Integral | np.integer) and not isinstance(got, bool)
    if not is_integer:
        fail(what, expected=f"the integer {expected}", got=f"{type(got).__name__}: {show(got)}",
             hint=hint)
    if int(got) != expected:
        fail(what, expected=str(expected), got=str(int(got)), hint=hint)


def check_true(what: str, condition: Any, hint: Hint = "", got: Any = None) -> None:
    """Check a condition computed by the test itself (never by the student's objects)."""
    if not (condition is True or condition is np.True_):
        fail(what, hint=hint, got=got)


def check_instance(what: str, got: Any, cls: type | tuple[type, ...], hint: Hint = "") -> None:
    """Check that ``got`` is an instance of ``cls``."""
    if not isinstance(got, cls):
        names = cls.__name__ if isinstance(cls, type) else " or ".join(c.__name__ for c in cls)
        fail(what, expected=f"an instance of {names}", got=f"{type(got).__name__}", hint=hint)


def check_raises(what: str, exception: type[BaseException], func: Callable[..., Any],
                 *args: Any, hint: Hint = "", mentions: tuple[str, ...] = (),
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
         got=f"no exception; returned {show(result)}", hint=hint)


def _same_data(old: Any, new: Any) -> bool:
    """Whether ``new`` holds the same data as ``old``, its copy from before a call."""
    if isinstance(old, np.ndarray):
        return (isinstance(new, np.ndarray) and old.shape == new.shape
                and bool(np.array_equal(old, new, equal_nan=True)))
    if isinstance(old, dict):
        return (isinstance(new, dict) and old.keys() == new.keys()
                and all(_same_data(old[k], new[k]) for k in old))
    if isinstance(old, list):
        return (isinstance(new, list) and len(old) == len(new)
                and all(_same_data(a, b) for a, b in zip(old, new, strict=True)))
    return True  # numbers, strings, functions: nothing a call can change in place


def check_inputs_unchanged(what: str, func: Callable[..., Any], *args: Any,
                           hint: Hint = "", **kwargs: Any) -> Any:
    """Call ``func`` and check that none of its arguments was modified in place.

    Arrays are compared entry by entry (NaN equal to NaN); lists and dicts (of arrays, say,
    like a network's parameters) entry by entry too. Returns whatever ``func`` returned, so
    the call can be checked further.
    """
    named = [(f"argument {i + 1}", a) for i, a in enumerate(args)] + list(kwargs.items())
    before = [copy.deepcopy(value) for _, value in named]
    result = func(*args, **kwargs)
    for (name, new), old in zip(named, before, strict=True):
        if not _same_data(old, new):
            fail(what, detail=f"{name} was modified in place", expected=old, got=new,
                 hint=hint or "work on a copy (e.g. np.array(x, dtype=float)) instead.")
    return result


def result_of(what: str, func: Callable[..., Any], *args: Any, hint: Hint = "",
              **kwargs: Any) -> Any:
    """``func(*args, **kwargs)``, for a test that checks the result in several steps.

    It adds nothing to the call itself: it names it. If the student's function raises, the
    grader (``dlmath.judge.failures``) reports ``what`` and ``hint`` with the error, as for a check.
    """
    return func(*args, **kwargs)


def check_no_error(what: str, func: Callable[..., Any], *args: Any, hint: Hint = "",
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


def as_plain(what: str, value: Any, hint: Hint = "") -> Any:
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
         got=f"{type(value).__name__}: {show(value)}", hint=hint)


def check_equal(what: str, got: Any, expected: Any, hint: Hint = "") -> None:
    """Check that ``got`` equals ``expected`` exactly, after both are converted to plain data.

    For exact, structured answers (labels, orderings, keys): tuples and lists compare equal,
    ``1 == 1.0``, and NumPy values count as their built-in equivalents.
    """
    plain = as_plain(what, got, hint)
    if plain != as_plain(what, expected):
        fail(what, expected=show(as_plain(what, expected)), got=show(plain), hint=hint)
