"""Where the grading pipeline's notebooks execute: local worker processes, or a Dask cluster.

Both take an ``ExecutionJob`` and give a future of its ``ExecutionResult``. A local worker
that dies (killed, out of memory) breaks its pool: every job the pool still held fails with
loky's ``TerminatedWorkerError``. ``LocalWorkers.retry`` then starts new workers, at most
``MAX_RESTARTS`` times in a run, and runs those jobs again there. A Dask cluster needs no
such help: its scheduler already runs the tasks of a worker that died on another one.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

import loky
from loky.process_executor import TerminatedWorkerError

from dlmath.grading.workers import ExecutionJob, ExecutionResult, execute_job

MAX_RESTARTS = 3

Run = Callable[[ExecutionJob], ExecutionResult]


class Workers(Protocol):
    """Executes jobs; ``retry`` gives a failed job another chance where one is due."""

    def submit(self, job: ExecutionJob) -> cf.Future:
        """Start ``job``: a future of its ``ExecutionResult``."""

    def retry(self, future: cf.Future, error: BaseException) -> cf.Future | None:
        """A new future for the job of ``future``, which failed with ``error``, or None."""


class LocalWorkers:
    """``workers`` processes on this machine (loky's pool; see ``open_executor``); a pool
    broken by a worker's death is replaced up to ``MAX_RESTARTS`` times."""

    def __init__(self, workers: int, run: Run = execute_job) -> None:
        self.workers, self.run = workers, run
        self.pool = loky.ProcessPoolExecutor(max_workers=workers)
        self.restarts = 0
        # Each unfinished job and the pool generation (restarts so far) it was given to; a
        # job that succeeded is dropped, with the notebook and files it carries.
        self._jobs: dict[cf.Future, tuple[ExecutionJob, int]] = {}

    def submit(self, job: ExecutionJob) -> cf.Future:
        """Start ``job`` on the current pool. Never raises: when that pool is broken already
        (a worker died since the last job), the future fails with the pool's error, and
        ``retry`` replaces the pool."""
        try:
            future = self.pool.submit(self.run, job)
        except cf.process.BrokenProcessPool as broken:
            future = cf.Future()
            future.set_exception(broken)
        self._jobs[future] = (job, self.restarts)
        future.add_done_callback(self._forget_if_done)
        return future

    def _forget_if_done(self, future: cf.Future) -> None:
        if not future.cancelled() and future.exception() is None:
            self._jobs.pop(future, None)

    def retry(self, future: cf.Future, error: BaseException) -> cf.Future | None:
        """Run the job again on new workers when ``error`` is a worker's death (the first
        such failure of a pool replaces it); None for any other failure (the job's own, or
        one that would fail again: loky's BrokenProcessPool for a job it cannot unpickle),
        or once the restarts are used up."""
        job, generation = self._jobs.pop(future)
        if not isinstance(error, TerminatedWorkerError):
            return None
        if generation == self.restarts:  # the current pool broke: replace it
            if self.restarts == MAX_RESTARTS:
                return None
            self.pool.shutdown(wait=False, kill_workers=True)
            self.restarts += 1
            self.pool = loky.ProcessPoolExecutor(max_workers=self.workers)
            logging.getLogger("dlmath").warning(
                "a worker process died (%s: killed, out of memory or crashed); started %d new "
                "ones for the notebooks not executed yet (restart %d of at most %d)",
                _how_it_ended(error), self.workers, self.restarts, MAX_RESTARTS)
        return self.submit(job)

    def shutdown(self, *, stop_now: bool = False) -> None:
        """Stop the workers once their jobs are done, or ``stop_now``: queued jobs are
        dropped and running ones killed (after an error or Ctrl-C, not to wait for them)."""
        self.pool.shutdown(wait=True, kill_workers=stop_now)


def _how_it_ended(error: BaseException) -> str:
    """The exit codes loky reports for a broken pool ("exit codes {SIGKILL(-9)}"), or its
    first line."""
    said = [line for line in str(error).splitlines() if "exit codes of the workers are" in line]
    return "exit codes " + said[0].split(" are ", 1)[1] if said else first_line(error)


def first_line(error: BaseException) -> str:
    """The first line of ``error``'s message, or its type's name when it has none
    (``MemoryError()``)."""
    return (str(error).splitlines() or [type(error).__name__])[0]


class DaskWorkers:
    """The workers of the Dask cluster an ``executor`` of its client submits to."""

    def __init__(self, executor: cf.Executor) -> None:
        self.executor = executor

    def submit(self, job: ExecutionJob) -> cf.Future:
        """Start ``job`` on the cluster."""
        return self.executor.submit(execute_job, job)

    def retry(self, future: cf.Future, error: BaseException) -> None:
        """None: the scheduler has already rescheduled what a dead worker held."""
        return None


@contextmanager
def open_executor(workers: int, scheduler: str | None) -> Iterator[Workers]:
    """``workers`` local processes, or the workers of the Dask cluster at ``scheduler``."""
    if scheduler:
        from distributed import Client

        with Client(scheduler, timeout="10s") as client:
            yield DaskWorkers(client.get_executor(pure=False))
        return
    # loky, not concurrent.futures: when a worker dies, Python 3.11's pool hangs for ever in
    # its shutdown. loky's workers start fresh too (not forked: a worker must not inherit this
    # process's open gradebook or event loop).
    local = LocalWorkers(workers)
    try:
        yield local
    except BaseException:
        local.shutdown(stop_now=True)
        raise
    local.shutdown()


def default_workers() -> int:
    """One worker per core available to this process."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
