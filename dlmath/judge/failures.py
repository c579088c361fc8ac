"""A test cell's error that is not a failed check, explained as the check it interrupted.

A check such as ``check_close(what, max_stable_lr(H), 0.1, hint=...)`` evaluates its arguments
first, so when the student's ``max_stable_lr`` raises, no check has run: the student would see
their traceback and nothing of what was being checked. :func:`explain` finds the check call
the test cell was evaluating (at the position its traceback records), evaluates that call's
``what``, expected value and ``hint`` (the instructor's expressions, never one that uses a
student function), and describes the student's call that raised: its arguments when the test
is visible, only their kind when it is hidden. The judge (``judge.py``) calls it for every error
of a test cell that is not a failed check, and shows the result above the student's traceback.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

import numpy as np

from dlmath.checks.values import CheckFailed, message, show

_HIDDEN = re.compile(r"^\s*### (BEGIN|END) HIDDEN TESTS\s*$")
# Parameters of the check helpers that hold the expected result, in order of preference.
_EXPECTED = ("expected", "expected_xy", "radius", "exception")


def hidden_lines(source: str) -> set[int]:
    """The 1-based line numbers of ``source`` inside ``### BEGIN/END HIDDEN TESTS`` regions."""
    hidden, inside = set(), False
    for number, line in enumerate(source.splitlines(), start=1):
        marker = _HIDDEN.match(line)
        if marker:
            inside = marker.group(1) == "BEGIN"
        elif inside:
            hidden.add(number)
    return hidden


def kind_of(value: Any) -> str:
    """What kind of value ``value`` is, without its contents (for a hidden input)."""
    if isinstance(value, np.ndarray):
        return f"a {value.dtype} array of shape {value.shape}"
    if isinstance(value, bool | np.bool_):
        return "a bool"
    if isinstance(value, int | np.integer):
        return "an int"
    if isinstance(value, float | np.floating):
        return "a float"
    if isinstance(value, list | tuple):
        kinds = sorted({type(v).__name__ for v in value})
        return f"a {type(value).__name__} of {len(value)} {'/'.join(kinds) or 'items'}"
    if isinstance(value, dict):
        return f"a dict with keys {sorted(map(str, value))}"
    if callable(value):
        return "a function"
    return f"a {type(value).__name__}"


_ADDRESS = re.compile(r" at 0x[0-9A-Fa-f]+")


def _show_argument(value: Any) -> str:
    if callable(value) and not isinstance(value, np.ndarray):
        name = getattr(value, "__name__", "")
        return "a lambda function" if name in ("", "<lambda>") else name
    # Without memory addresses ("Generator(PCG64) at 0x7F2D..."): they mean nothing to the
    # student, and the same notebook must get the same feedback on every run.
    return _ADDRESS.sub("", " ".join(show(value).split()))  # on one line


def describe_call(name: str, args: tuple, kwargs: dict[str, Any], *, hidden: bool) -> str:
    """``name(args...)`` as the student's function was called; only the arguments' kinds when
    the call came from a hidden test."""
    if hidden:
        kinds = [kind_of(a) for a in args] + [f"{k}={kind_of(v)}" for k, v in kwargs.items()]
        return f"{name}(...) on a hidden input: {', '.join(kinds) or 'no arguments'}"
    shown = [_show_argument(a) for a in args] + [f"{k}={_show_argument(v)}"
                                                 for k, v in kwargs.items()]
    text = f"{name}({', '.join(shown)})"
    return text if len(text) <= 600 else text[:600] + " ..."


_PATH = re.compile(r'File "([^"]*)"')
_NOTEBOOK_CELL = re.compile(r"/tmp/ipykernel_\d+/\d+\.py$")


def clean_traceback(text: str) -> str:
    """The student's traceback with file names reduced to what the student can place: their
    notebook's cells, and library modules by their package path (no folder of the grader's)."""
    def short(match: re.Match[str]) -> str:
        path = match.group(1)
        if _NOTEBOOK_CELL.search(path):
            return 'File "<your notebook cell>"'
        for marker in ("/site-packages/", "/dist-packages/", "/lib/python3."):
            if marker in path:
                rest = path.split(marker, 1)[1]
                return f'File "{rest.split("/", 1)[1] if marker == "/lib/python3." else rest}"'
        return f'File "{path.rsplit("/", 1)[-1]}"'
    return _PATH.sub(short, text)


def _test_frames(error: BaseException, filename: str) -> list[TracebackType]:
    """The traceback entries of the frames running the test cell, outermost first."""
    entries, tb = [], error.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            entries.append(tb)
        tb = tb.tb_next
    return entries


def _position(frame: FrameType, lasti: int) -> tuple[int, int, int, int] | None:
    positions = list(frame.f_code.co_positions())
    index = lasti // 2
    if 0 <= index < len(positions) and None not in positions[index]:
        return positions[index]  # type: ignore[return-value]
    return None


def _lookup(name: str, frame: FrameType) -> Any:
    return frame.f_locals.get(name, frame.f_globals.get(name))


def _check_call(tree: ast.AST, position: tuple[int, int, int, int],
                frame: FrameType) -> tuple[ast.Call, Callable[..., Any]] | None:
    """The innermost call of a check helper (a function with a ``what`` parameter) that
    contains ``position``."""
    line, end_line, column, end_column = position
    found = None
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        starts_before = (node.lineno, node.col_offset) <= (line, column)
        ends_after = (node.end_lineno, node.end_col_offset) >= (end_line, end_column)
        if not (starts_before and ends_after):
            continue
        helper = _lookup(node.func.id, frame)
        try:
            parameters = inspect.signature(helper).parameters
        except (TypeError, ValueError):
            continue
        if "what" in parameters and (found is None or (node.lineno, node.col_offset) >= (
                found[0].lineno, found[0].col_offset)):
            found = (node, helper)
    return found


def _evaluate(node: ast.expr | None, frame: FrameType, filename: str,
              is_student: Callable[[Any], bool]) -> Any:
    """The value of the instructor's expression ``node`` in ``frame``; None when it cannot be
    had without calling the student's code again (or fails)."""
    if node is None:
        return None
    names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    if any(is_student(_lookup(name, frame)) for name in names):
        return None
    try:
        return eval(compile(ast.Expression(node), filename, "eval"),  # noqa: S307
                    frame.f_globals, frame.f_locals)
    except Exception:  # noqa: BLE001 - an expression that fails is left out of the message
        return None


def explain(error: BaseException, source: str, filename: str,
            is_student: Callable[[Any], bool]) -> CheckFailed | None:
    """A check failure that says what the test cell ``source`` (compiled as ``filename``) was
    checking when ``error`` interrupted it; None if the error is not inside a check's call.

    ``error`` is either raised by the student's code (the judge sets its ``student_call`` to
    ``(name, args, kwargs)`` and its ``student_traceback``) or by the test itself on what
    that code returned. The result keeps the student's traceback.
    """
    try:
        return _explain(error, source, filename, is_student)
    except Exception:  # noqa: BLE001 - the verdict stands either way; the original error shows
        return None


def _explain(error: BaseException, source: str, filename: str,
             is_student: Callable[[Any], bool]) -> CheckFailed | None:
    entries = _test_frames(error, filename)
    if not entries:
        return None
    tree = ast.parse(source)
    hidden = hidden_lines(source)
    in_hidden = any(entry.tb_lineno in hidden for entry in entries)
    for entry in reversed(entries):
        frame = entry.tb_frame
        position = _position(frame, entry.tb_lasti)
        found = _check_call(tree, position, frame) if position else None
        if found:
            break
    else:
        return None
    call, helper = found
    try:
        bound = inspect.signature(helper).bind_partial(
            *call.args, **{k.arg: k.value for k in call.keywords if k.arg}).arguments
    except TypeError:
        bound = {"what": call.args[0]} if call.args else {}
    values = {name: _evaluate(bound.get(name), frame, filename, is_student)
              for name in ("what", "hint", *_EXPECTED)}
    expected = next((values[n] for n in _EXPECTED if values[n] is not None), None)
    student_call = getattr(error, "student_call", None)
    text = f"{type(error).__name__}: {error}"
    if student_call:
        name, args, kwargs = student_call
        detail = f"your function {name} raised {text}"
        called = describe_call(name, args, kwargs, hidden=in_hidden)
    else:
        detail = f"the test could not use what your code returned ({text})"
        called = ""
    what = values["what"] if isinstance(values["what"], str) else "a check of this test cell"
    hint = values["hint"] if isinstance(values["hint"], str) else ""
    if isinstance(expected, type) and issubclass(expected, BaseException):
        expected = f"{expected.__name__} to be raised"
    explained = CheckFailed(message(what, detail=detail, input=called, expected=expected,
                                    hint=hint))
    explained.student_traceback = getattr(error, "student_traceback", "")  # type: ignore[attr-defined]
    return explained
