"""A dependency-free progress bar for long runs, shown only on an interactive terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Redraws one status line on stderr: bar, count, rate, ETA and the current item."""

    def __init__(self, total: int = 0, *, enabled: bool | None = None,
                 stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.total = total
        self.done = 0
        self.started = time.monotonic()

    def start(self, total: int) -> None:
        """Reset the bar for ``total`` items."""
        self.total, self.done, self.started = total, 0, time.monotonic()

    def step(self, label: str) -> None:
        """Announce that work on ``label`` begins."""
        if self.enabled:
            elapsed = time.monotonic() - self.started
            rate = self.done / elapsed if elapsed > 0 and self.done else 0.0
            eta = f"{(self.total - self.done) / rate:4.0f}s left" if rate else "  ..."
            width = 24
            filled = int(width * self.done / max(self.total, 1))
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(f"\r[{bar}] {self.done}/{self.total} {eta}  {label[:40]:<40}")
            self.stream.flush()
        self.done += 1

    def finish(self) -> None:
        """Clear the status line."""
        if self.enabled:
            self.stream.write("\r" + " " * 100 + "\r")
            self.stream.flush()
