"""Whose numbers a notebook uses: the identity of the student, never read from the notebook.

The released notebook's locked given cell calls ``student_parameters(assignment)``. The key it
uses comes, in this order, from:

1. the grader (``grading_as``, around the judge's run of the given cells in the grading
   process; ``assume``, sent by ``SafeExecute`` to the student's kernel before any of the
   student's cells run), for the submission being graded;
2. the ``DLMATH_VARIANT_KEY`` environment variable, which ``dlmath lab`` and the course's
   JupyterHub set for the student's kernels from their nbgrader student id.

Nothing the student writes decides it at grading time: the judge's expectations come from the
grading process, whatever the student's kernel was told.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Iterator
from contextlib import contextmanager

from dlmath.variants.derive import VariantError, check_key
from dlmath.variants.exercises import parameters

ENVIRONMENT = "DLMATH_VARIANT_KEY"

# The judge's: per thread and task, so one grading process can grade several students.
_grading: contextvars.ContextVar[str | None] = contextvars.ContextVar("dlmath_variant",
                                                                      default=None)
# The student's kernel's: a plain global, because IPython may run each cell in a copied
# context, where a context variable set by an earlier request would not be seen.
_assumed: str | None = None


@contextmanager
def grading_as(key: str) -> Iterator[None]:
    """Within the block, ``student_parameters`` gives ``key``'s numbers (the judge's side)."""
    token = _grading.set(check_key(key))
    try:
        yield
    finally:
        _grading.reset(token)


def assume(key: str) -> None:
    """Make this process (a student's kernel being graded) use ``key``'s numbers."""
    global _assumed
    _assumed = check_key(key)


def current_key() -> str:
    """The key in force here (see the module's docstring); VariantError if there is none."""
    key = _grading.get() or _assumed or os.environ.get(ENVIRONMENT)
    if not key:
        raise VariantError(
            "this notebook uses your own numbers, which come from your student id, and this "
            "Python kernel does not know who you are: open the notebook in the course's "
            "JupyterHub or with `dlmath lab --student YOUR_ID`, not in another Jupyter")
    return check_key(key)


def student_parameters(assignment: str) -> object:
    """This student's parameters of ``assignment`` (see ``exercises.py`` for what they hold)."""
    return parameters(assignment, current_key())
