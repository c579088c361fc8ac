"""Waiting with a time limit (dlmath.deadlines)."""

from __future__ import annotations

import itertools
import math
import time

import pytest

from dlmath.deadlines import Deadline, poll


def test_poll_returns_the_first_answer() -> None:
    calls = itertools.count()
    assert poll(lambda: "ready" if next(calls) == 3 else None, 10, interval=0.001) == "ready"
    assert next(calls) == 4  # asked four times, then no more


def test_poll_gives_up_after_its_time() -> None:
    started = time.monotonic()
    assert poll(lambda: None, 0.2, interval=0.01) is None
    elapsed = time.monotonic() - started
    assert 0.2 <= elapsed < 5  # generous: a busy machine may sleep longer


def test_poll_lets_the_check_stop_early() -> None:
    def check() -> None:
        raise RuntimeError("the process exited")

    with pytest.raises(RuntimeError, match="exited"):
        poll(check, 10, interval=0.01)


def test_a_falsy_answer_is_an_answer() -> None:
    assert poll(lambda: 0, 1, interval=0.01) == 0  # e.g. an exit status of 0


def test_deadlines() -> None:
    never = Deadline(None)
    assert not never.passed() and math.isinf(never.remaining())
    now = Deadline(0)
    assert now.passed() and now.remaining() == 0
    later = Deadline(60)
    assert not later.passed() and 50 < later.remaining() <= 60
