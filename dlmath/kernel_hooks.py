"""IPython hooks for the kernel that nbgrader's *Validate* runs in a student working copy.

Validate shows each failing test cell's source and then its error output. A failed course
check would appear as a 30-line traceback through ``dlmath/checks.py`` with the message
("Check failed: ... expected: ... got: ... hint: ...") at the very bottom, below the fold of
the dialog. :func:`show_check_failures_plainly` makes that output the message alone.

Only the display changes: the cell still ends in an error, so it scores and validates exactly
as before. Other exceptions (a bug in the student's own code) keep their full traceback,
which is what the student needs to find it. ``dlmath lab`` loads this through the student's
``nbgrader_config.py`` (``Execute.extra_arguments``); this module imports nothing heavy
because it runs at every kernel start.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any


def _plain_message(shell: Any, etype: type[BaseException], value: BaseException,
                   tb: TracebackType | None, tb_offset: int | None = None) -> list[str]:
    """IPython custom exception handler: show the exception's message, without a traceback."""
    lines = str(value).splitlines() or [etype.__name__]
    # _showtraceback is the kernel's hook that sends the error output (ename, evalue and the
    # lines shown); ipykernel implements it, so the output is a normal error output.
    shell._showtraceback(etype, value, lines)
    return lines


def show_check_failures_plainly() -> bool:
    """In a running IPython kernel, display failed checks (CheckFailed) as plain messages.

    Returns False (and does nothing) outside IPython.
    """
    from IPython import get_ipython

    from dlmath.checks import CheckFailed

    shell = get_ipython()
    if shell is None:
        return False
    shell.set_custom_exc((CheckFailed,), _plain_message)
    return True
