"""Waiting with a time limit: one definition of "poll until done or out of time"."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class Deadline:
    """A moment ``seconds`` from now on the monotonic clock (``None``: no limit)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._at = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left (0 once passed; infinite without a limit)."""
        return float("inf") if self._at is None else max(0.0, self._at - time.monotonic())

    def passed(self) -> bool:
        """Whether the moment has come."""
        return self._at is not None and time.monotonic() >= self._at


def poll(check: Callable[[], T | None], seconds: float | None, interval: float) -> T | None:
    """Call ``check`` every ``interval`` seconds until it returns something other than None
    (returned) or ``seconds`` have passed (None). ``check`` may raise to stop early."""
    deadline = Deadline(seconds)
    while True:
        found = check()
        if found is not None:
            return found
        if deadline.passed():
            return None
        time.sleep(min(interval, deadline.remaining()))
