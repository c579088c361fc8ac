"""Executing sanitized notebooks on workers, with a warm sandboxed kernel waiting for the next.

This is the part of autograding that costs time (kernel start, imports, the student's code,
the tests) and touches no gradebook, so it can run anywhere: in a local process pool or on
Dask workers. A job carries everything needed (the sanitized notebook, the files beside it,
the course's execution settings), so workers need no shared filesystem. The gradebook is
written afterwards, by one process, through nbgrader's own autograde (``CachedExecute``).

Each worker process keeps one spare kernel: it is launched, and imports the assignment's
modules, while the previous notebook runs; where it can, a zygote forks it with every import
already done. Every notebook still gets a fresh kernel of its own.
"""

from __future__ import annotations

import ast
import atexit
import functools
import hashlib
import json
import logging
import os
import socket
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import nbformat
from jupyter_client.utils import run_sync
from nbformat import NotebookNode
from traitlets.config import Config

from dlmath.cells import grade_id, is_given_cell
from dlmath.judge import integrity
from dlmath.sandbox.bubblewrap import SINGLE_THREADED
from dlmath.sandbox.kernels import SandboxedKernelManager, ZygoteKernelManager
from dlmath.sandbox.zygote import Zygote, ZygoteError, start_zygote


@dataclass(frozen=True)
class ExecutionJob:
    """One sanitized notebook to execute, and everything its execution depends on."""

    key: str
    notebook: str
    files: dict[str, bytes] = field(default_factory=dict)
    execute_config: dict[str, Any] = field(default_factory=dict)
    kernel_config: dict[str, Any] = field(default_factory=dict)
    variant: str | None = None  # the student's variant key (dlmath.variants), if it has one


@dataclass(frozen=True)
class ExecutionResult:
    """The executed notebook of a job, how long its cells ran, and which worker ran it."""

    key: str
    notebook: str
    seconds: float
    executed_by: str = ""


def execution_key(nb: NotebookNode, files: dict[str, bytes],
                  execute_config: dict[str, Any], variant: str | None = None) -> str:
    """A digest of everything that decides what executing ``nb`` produces.

    The code cells in order (test cells with their hidden parts), the kernel, the other files
    of the folder it runs in, the execution settings (but the modules preloaded to save
    time) and the student's variant key (the same notebook is right for one student's numbers
    and wrong for another's): two notebooks with the same key execute identically.
    """
    digest = {
        "kernel": nb.metadata.get("kernelspec", {}).get("name", ""),
        "cells": [[c.source, grade_id(c)]
                  for c in nb.cells if c.cell_type == "code"],
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
        "execute": {k: v for k, v in execute_config.items()
                    if k not in ("preload", "zygote_preload")},
        "variant": variant,
    }
    return hashlib.sha256(json.dumps(digest, sort_keys=True, default=str).encode()).hexdigest()


def copy_outputs(executed: NotebookNode, nb: NotebookNode) -> None:
    """Put the outputs and execution findings of ``executed`` into ``nb``, which has the same
    code cells."""
    ran = [c for c in executed.cells if c.cell_type == "code"]
    target = [c for c in nb.cells if c.cell_type == "code"]
    if [c.source for c in ran] != [c.source for c in target]:
        raise ValueError("the executed notebook does not match: its code cells differ")
    for source, cell in zip(ran, target, strict=True):
        cell.outputs = source.outputs
        cell.execution_count = source.execution_count
        if "execution" in source.metadata:
            cell.metadata["execution"] = source.metadata["execution"]
    for name in ("language_info", "widgets"):
        if name in executed.metadata:
            nb.metadata[name] = executed.metadata[name]
    # The findings of execution belong to the code; those of the sanitize step to ``nb``.
    found = executed.metadata.get("dlmath", {}).get(integrity.EXECUTION, [])
    nb.metadata.setdefault("dlmath", {})[integrity.EXECUTION] = found


def cell_seconds(nb: NotebookNode) -> float:
    """The notebook's own execution time: the sum of its cells' run times, as nbclient
    recorded them (kernel start and messaging between cells are not included)."""
    total = 0.0
    for cell in nb.cells:
        timing = cell.metadata.get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            started = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
            ended = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
            total += (ended - started).total_seconds()
    return total


def imported_modules(nb: NotebookNode) -> tuple[str, ...]:
    """Top-level modules imported by the notebook's locked (given) code cells."""
    modules: set[str] = set()
    for cell in nb.cells:
        if not is_given_cell(cell):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.Import):
                modules.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module)
    return tuple(sorted(modules))


class _KernelPool:
    """At most one spare kernel per (kernel, settings), for the next job of this process.

    Kernels are forked by a zygote (``zygote.py``) where that works (root with bubblewrap):
    the zygote imports ``preload`` once. Elsewhere each kernel is a bubblewrap sandbox of its
    own, started from scratch.
    """

    def __init__(self) -> None:
        self.spares: dict[str, SandboxedKernelManager] = {}
        self.zygote: Zygote | None = None
        self.zygote_fails = False
        # Every kernel and zygote is started on this one thread, which lives as long as the
        # pool: bubblewrap's --die-with-parent kills a sandbox when the *thread* that started
        # it ends, so a short-lived thread would leave a dead spare.
        self.starter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dlmath-kernels")
        self.launching: Future | None = None
        atexit.register(self.close)

    def take(self, kernel_name: str, config: Config, arguments: list[str],
             preload: list[str]) -> SandboxedKernelManager:
        """A started kernel for this job; a new spare is launched for the next one, in the
        background, while this job runs."""
        wanted = json.dumps([kernel_name, arguments, config], sort_keys=True, default=str)
        self._settle()
        kernel = self.spares.pop(wanted, None)
        if kernel is not None and not run_sync(kernel.is_alive)():
            self.discard(kernel)  # died while it waited (its zygote was killed, say)
            kernel = None
        if kernel is None:
            kernel = self.starter.submit(self._start, kernel_name, config, arguments,
                                         preload).result()
        for spare in self.spares.values():  # a spare for other settings is of no use now
            self.discard(spare)
        self.spares = {}
        self.launching = self.starter.submit(self._launch, wanted, kernel_name, config,
                                             arguments, preload)
        return kernel

    def _launch(self, wanted: str, kernel_name: str, config: Config, arguments: list[str],
                preload: list[str]) -> None:
        """Start the spare for the next job (on the ``starter`` thread)."""
        try:
            self.spares[wanted] = self._start(kernel_name, config, arguments, preload)
        except Exception as error:  # noqa: BLE001 - the next job starts a kernel of its own
            logging.getLogger("dlmath").warning(
                "could not start a spare kernel (%s: %s); the next notebook starts its own",
                type(error).__name__, error)

    def _settle(self) -> None:
        """Wait for the spare being launched, if any."""
        if self.launching is not None:
            self.launching.result()
            self.launching = None

    def _zygote(self, preload: list[str]) -> Zygote | None:
        """The zygote, (re)started when it lacks a module the job preloads."""
        if self.zygote_fails:
            return None
        if self.zygote is not None and (not self.zygote.alive()
                                        or not set(preload) <= set(self.zygote.preload)):
            self.zygote.close()
            self.zygote = None
        if self.zygote is None:
            try:
                self.zygote = start_zygote(preload)
            except ZygoteError:
                self.zygote_fails = True
        return self.zygote

    def _start(self, kernel_name: str, config: Config, arguments: list[str],
               preload: list[str]) -> SandboxedKernelManager:
        # A zygote is a bubblewrap sandbox: not for an instructor who opted out of bubblewrap.
        wanted = config.get("SandboxedKernelManager", {}).get("bubblewrap", True)
        zygote = self._zygote(preload) if wanted else None
        if zygote is not None:
            manager = ZygoteKernelManager(zygote, kernel_name=kernel_name, config=config)
            try:
                run_sync(manager.start_kernel)(extra_arguments=arguments)
                return manager
            except ZygoteError:  # from now on, plain sandboxes (slower, just as safe)
                self.zygote_fails = True
                run_sync(manager.cleanup_resources)()
        manager = SandboxedKernelManager(kernel_name=kernel_name, config=config)
        run_sync(manager.start_kernel)(extra_arguments=arguments)
        return manager

    @staticmethod
    def discard(manager: SandboxedKernelManager) -> None:
        """Stop a kernel (without waiting for it to go) and remove its files."""
        try:
            if manager.has_kernel:
                run_sync(manager.provisioner.kill)()
        finally:
            run_sync(manager.cleanup_resources)()

    def close(self) -> None:
        """Stop every spare kernel, and the zygote."""
        self._settle()
        for spare in self.spares.values():
            self.discard(spare)
        self.spares.clear()
        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None
        self.starter.shutdown()


@functools.cache
def _kernel_pool() -> _KernelPool:
    """This process's pool, made by its first job: importing this module starts nothing."""
    return _KernelPool()


def execute_job(job: ExecutionJob) -> ExecutionResult:
    """Execute the job's notebook in a fresh sandboxed kernel, as ``SafeExecute`` would."""
    from dlmath.preprocessors.execute import SafeExecute

    os.environ.update(SINGLE_THREADED)  # the judge's numpy in this process, too
    nb = nbformat.reads(job.notebook, as_version=4)
    config = Config({"SafeExecute": job.execute_config,
                     "SandboxedKernelManager": job.kernel_config})
    execute = SafeExecute(config=config)
    kernel_name = nb.metadata.get("kernelspec", {}).get("name", "python3")
    preload = list(dict.fromkeys([*execute.preload, *execute.zygote_preload]))
    pool = _kernel_pool()
    manager = pool.take(kernel_name, config, execute.kernel_arguments(), preload)
    try:
        execute.preprocess(nb, {"metadata": {"path": "."},
                                "dlmath": {"files": job.files, "variant": job.variant}},
                           km=manager)
    finally:
        pool.discard(manager)
    return ExecutionResult(job.key, nbformat.writes(nb), cell_seconds(nb),
                           executed_by=f"{socket.gethostname()}:{os.getpid()}")
