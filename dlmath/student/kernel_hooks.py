"""IPython hooks for the kernels that run students' notebooks: grading's and Validate's.

:func:`plots_inline` makes every figure an inline image, whichever interactive matplotlib
backend the student picked: grading (``SafeExecute``) and Validate both load it.

Validate shows each failing test cell's source and then its error output. A failed course
check would appear as a 30-line traceback through ``dlmath/checks.py`` with the message
("Check failed: ... expected: ... got: ... hint: ...") at the very bottom, below the fold of
the dialog. :func:`show_check_failures_plainly` makes that output the message alone.

Only the display changes: the cell still ends in an error, so it scores and validates exactly
as before. Other exceptions (a bug in the student's own code) keep their full traceback,
which is what the student needs to find it. ``dlmath lab`` loads these through the student's
``nbgrader_config.py`` (``Execute.extra_arguments``). This module is imported at every kernel
start, so it imports nothing heavy itself (``plots_inline`` imports pyplot, which the
notebooks import anyway).
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

    from dlmath.checks.values import CheckFailed

    shell = get_ipython()
    if shell is None:
        return False
    shell.set_custom_exc((CheckFailed,), _plain_message)
    return True


INLINE = "module://matplotlib_inline.backend_inline"
# The kernel argument that runs plots_inline at kernel start.
PLOTS_INLINE = ("--IPKernelApp.exec_lines=from dlmath.student.kernel_hooks import plots_inline; "
                "plots_inline()")


def plots_inline() -> bool:
    """In a running IPython kernel, draw every figure inline, whichever backend is asked for.

    Grading and Validate run notebooks with no screen and no browser: an interactive backend
    there shows nothing (``%matplotlib notebook`` sends JavaScript that a saved page cannot
    run, so feedback has no figure) or fails (``widget``/``ipympl``, ``qt``, ``tk`` are not
    installed, and the rest of the student's cell is lost). ``%matplotlib X``, ``%pylab X``,
    ``matplotlib.use(X)`` and ``plt.switch_backend(X)`` get the inline backend instead, for
    any interactive X; non-interactive ones (``agg``, ``pdf``...) are left alone.

    Returns False (and does nothing) outside IPython.
    """
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return False
    import matplotlib.pyplot as plt
    from matplotlib.backends import BackendFilter, backend_registry

    keep = {*backend_registry.list_builtin(BackendFilter.NON_INTERACTIVE), INLINE}
    enable_matplotlib = shell.enable_matplotlib
    switch_backend = plt.switch_backend

    def enable_inline(gui: str | None = None) -> Any:
        return enable_matplotlib("inline")

    def switch_to_inline(newbackend: str) -> None:
        switch_backend(newbackend if newbackend.lower() in keep else INLINE)

    enable_inline.__doc__ = enable_matplotlib.__doc__
    switch_to_inline.__doc__ = switch_backend.__doc__
    shell.enable_matplotlib = enable_inline
    plt.switch_backend = switch_to_inline
    return True
