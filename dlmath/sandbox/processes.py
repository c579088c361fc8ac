"""The process tree below a kernel: its children and descendants, read from ``/proc``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def child_pids(pid: int) -> list[int]:
    """The pids of ``pid``'s children (none if it has ended).

    Read from the process's own ``/proc`` entries, which costs a few file reads; psutil's
    ``children()`` reads every process of the machine, a millisecond or more per call, and
    the grader asks after every cell. psutil serves kernels built without those entries.
    """
    if not _PROC_CHILDREN:
        import psutil

        try:
            return [child.pid for child in psutil.Process(pid).children()]
        except psutil.Error:
            return []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    children = []
    for thread in threads:
        try:
            children += map(int, Path(f"/proc/{pid}/task/{thread}/children").read_text().split())
        except OSError:  # the thread or the process has just ended
            continue
    return children


def descendant_pids(pid: int) -> list[int]:
    """The pids of every process below ``pid`` in the process tree."""
    found, todo = [], [pid]
    while todo:
        children = child_pids(todo.pop())
        found += children
        todo += children
    return found


_PROC_CHILDREN = os.path.exists(f"/proc/self/task/{os.getpid()}/children")


def process_handle(pid: int) -> Any:
    """psutil's handle on process ``pid``, or None if it has ended."""
    import psutil

    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


def start_time(pid: int) -> float:
    """When process ``pid`` started (infinitely late if it has ended)."""
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return float("inf")


def is_running(process: Any) -> bool:
    """Whether ``process`` still runs (a zombie only waits for its parent to collect it)."""
    import psutil

    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
