"""What every ``dlmath`` command shares: exit codes, messages, choosing assignments.

Exit codes: 0 success; 1 the work ran but something needs attention (a submission could not be
graded or was flagged for review, a score differs from expectations); 2 bad usage or a broken
course setup.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dlmath.course import assignment_ids, check_assignment

EXIT_OK, EXIT_ATTENTION, EXIT_USAGE = 0, 1, 2


def err(message: str) -> None:
    """Say ``message`` on stderr, where everything that needs attention goes."""
    print(message, file=sys.stderr)


def selected_assignments(course: Path, requested: list[str]) -> list[str]:
    """The assignments a command works on: ``requested`` (each checked to exist in ``course``,
    else CourseError), or all of the course's when none is requested."""
    for assignment in requested:
        check_assignment(course, assignment)
    return requested or assignment_ids(course)


@contextmanager
def quiet_logger(name: str, level: int = logging.ERROR) -> Iterator[None]:
    """Within the block, logger ``name`` shows only ``level`` and above; its level after."""
    logger = logging.getLogger(name)
    before = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(before)
