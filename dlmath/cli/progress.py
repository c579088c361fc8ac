"""The progress bar of long runs (tqdm), shown only on an interactive terminal."""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm


class Progress:
    """One status line on stderr: bar, count, rate, time left and the current item.

    It is what ``dlmath.grading.pipeline.grade`` reports to (``ProgressReporter``): ``start``,
    then ``step`` as work on each item begins, then ``finish``.
    """

    def __init__(self, *, enabled: bool | None = None, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._bar: tqdm | None = None
        self._begun = False

    def start(self, total: int) -> None:
        """Reset the bar for ``total`` items."""
        self.finish()
        self._bar = tqdm(total=total, file=self.stream, disable=not self.enabled, leave=False,
                         dynamic_ncols=True)
        self._begun = False

    def step(self, label: str) -> None:
        """Announce that work on ``label`` begins (so the one before it is done)."""
        if self._bar is None:
            return
        if self._begun:
            self._bar.update(1)
        self._begun = True
        self._bar.set_postfix_str(label[:40])

    def finish(self) -> None:
        """Clear the status line."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
