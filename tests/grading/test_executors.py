"""Local workers: a pool broken by a worker's death is replaced and its jobs run again, a
bounded number of times; a job that fails by itself is not retried; nothing hangs."""

from __future__ import annotations

import concurrent.futures as cf
import os
import signal
import time
from functools import partial
from pathlib import Path

import pytest

from dlmath.grading.executors import MAX_RESTARTS, LocalWorkers

WAIT = 120  # seconds: generous on a busy machine; only a hang would reach it


def _dies_once(marker: str, value: int) -> int:
    """Kills its worker process the first time (``marker`` does not exist yet)."""
    if not os.path.exists(marker):
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return 2 * value


def _always_dies(value: int) -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return value


def _sleeps(seconds: int) -> int:
    time.sleep(seconds)
    return seconds


def _fails(value: int) -> int:
    raise ValueError(f"job {value} fails by itself")


def _error_of(future: cf.Future) -> BaseException:
    with pytest.raises(Exception) as raised:  # noqa: PT011 - the error is what is checked
        future.result(timeout=WAIT)
    return raised.value


def test_a_pool_whose_worker_died_is_replaced_and_the_job_runs_again(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    workers = LocalWorkers(1, run=partial(_dies_once, str(tmp_path / "died")))
    try:
        first = workers.submit(21)
        error = _error_of(first)
        assert isinstance(error, cf.process.BrokenProcessPool), f"got {error!r}"
        again = workers.retry(first, error)
        assert again is not None, "a job whose worker died must be run again"
        assert again.result(timeout=WAIT) == 42
        assert workers.restarts == 1
        assert "a worker process died (exit codes {SIGKILL(-9)}" in caplog.text, \
            f"the warning should say how the worker ended; got {caplog.text!r}"
    finally:
        workers.shutdown()


def test_restarts_stop_after_the_limit(tmp_path: Path) -> None:
    workers = LocalWorkers(1, run=_always_dies)
    try:
        future: cf.Future | None = workers.submit(1)
        tries = 0
        while future is not None:
            tries += 1
            assert tries <= MAX_RESTARTS + 1, "restarted beyond MAX_RESTARTS"
            future = workers.retry(future, _error_of(future))
        assert (tries, workers.restarts) == (MAX_RESTARTS + 1, MAX_RESTARTS)
    finally:
        workers.shutdown()


def test_a_job_that_fails_by_itself_is_not_retried() -> None:
    workers = LocalWorkers(1, run=_fails)
    try:
        future = workers.submit(3)
        error = _error_of(future)
        assert isinstance(error, ValueError) and workers.retry(future, error) is None
        assert workers.restarts == 0
    finally:
        workers.shutdown()


def test_a_job_of_a_broken_pool_given_to_a_replacement_that_broke_too_is_not_lost() -> None:
    """Two jobs fail with the first pool; the first is retried and its new pool breaks too;
    the second, retried after that, must get a future (not an exception out of ``retry``)
    and, once the restarts are used up, come back as None (autograde executes it)."""
    workers = LocalWorkers(1, run=_always_dies)
    try:
        first, second = workers.submit(1), workers.submit(2)
        again = workers.retry(first, _error_of(first))
        assert again is not None
        _error_of(again)  # the replacement pool broke as well
        future: cf.Future | None = workers.retry(second, _error_of(second))
        tries = 0
        while future is not None:
            tries += 1
            assert tries <= MAX_RESTARTS + 1, "retried beyond the restarts"
            future = workers.retry(future, _error_of(future))
        assert workers.restarts == MAX_RESTARTS
    finally:
        workers.shutdown()


def test_stopping_now_does_not_wait_for_running_jobs() -> None:
    workers = LocalWorkers(1, run=_sleeps)
    running = workers.submit(600)
    queued = workers.submit(600)
    workers.shutdown(stop_now=True)  # after Ctrl-C: without stop_now this waits 20 minutes
    for future in (running, queued):
        assert future.done(), "shutdown(stop_now=True) left a job running"
        assert future.cancelled() or future.exception() is not None, \
            f"a job stopped at shutdown must not look finished: {future.result()}"
