"""Executing sanitized notebooks on workers, with a warm kernel waiting for the next one.

This is the part of autograding that costs time (kernel start, imports, the student's code)
and touches no gradebook, so it can run anywhere: in a local process pool or on Dask
workers. A job carries everything needed (the sanitized notebook, the files beside it, the
course's ``Execute`` settings), so workers need no shared filesystem. The gradebook is written
afterwards, by one process, through nbgrader's own autograde (see ``preprocessors.py``).

Each worker process keeps one spare kernel: it is launched, and imports the assignment's
modules, while the previous notebook runs. Every notebook still gets a fresh kernel of its own.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets.config import Config

# Parallelism comes from grading several notebooks at once; a kernel's BLAS or torch
# threads would only fight the other kernels for the same cores.
SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass(frozen=True)
class ExecutionJob:
    """One sanitized notebook to execute, and everything its execution depends on."""

    key: str
    notebook: str
    files: dict[str, bytes] = field(default_factory=dict)
    execute_config: dict[str, Any] = field(default_factory=dict)
    preload: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExecutionResult:
    """The executed notebook of a job, how long its cells ran, and which worker ran it."""

    key: str
    notebook: str
    seconds: float
    executed_by: str = ""


def execution_key(nb: NotebookNode, files: dict[str, bytes],
                  execute_config: dict[str, Any]) -> str:
    """A digest of everything that decides what executing ``nb`` produces.

    The code cells in order, the kernel, the other files of the folder it runs in, and the
    ``Execute`` settings: two notebooks with the same key execute identically.
    """
    digest = {
        "kernel": nb.metadata.get("kernelspec", {}).get("name", ""),
        "cells": [c.source for c in nb.cells if c.cell_type == "code"],
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
        "execute": execute_config,
    }
    return hashlib.sha256(json.dumps(digest, sort_keys=True, default=str).encode()).hexdigest()


def folder_files(folder: Path) -> dict[str, bytes]:
    """The files of ``folder`` (recursively) other than notebooks, by relative path."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.suffix != ".ipynb"}


def copy_outputs(executed: NotebookNode, nb: NotebookNode) -> None:
    """Put the outputs of ``executed`` into ``nb``, which has the same code cells."""
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
    import ast

    modules: set[str] = set()
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("locked") or meta.get("grade"):
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


class _SpareKernel:
    """A kernel launched ahead of time in its own empty working folder."""

    def __init__(self, kernel_name: str, arguments: list[str]) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="dlmath-kernel-"))
        self.manager = AsyncKernelManager(kernel_name=kernel_name)
        env = {**os.environ, **SINGLE_THREADED}
        run_sync(self.manager.start_kernel)(extra_arguments=arguments, cwd=str(self.folder),
                                            env=env)

    def discard(self) -> None:
        """Stop the kernel and remove its folder."""
        try:
            if self.manager.has_kernel:
                run_sync(self.manager.shutdown_kernel)(now=True)
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


class _KernelPool:
    """At most one spare kernel per (kernel, arguments), for the next job of this process."""

    def __init__(self) -> None:
        self.spares: dict[tuple[str, tuple[str, ...]], _SpareKernel] = {}
        atexit.register(self.close)

    def take(self, kernel_name: str, arguments: list[str]) -> _SpareKernel:
        """A started kernel for this job; a new spare is launched for the next one."""
        wanted = (kernel_name, tuple(arguments))
        kernel = self.spares.pop(wanted, None) or _SpareKernel(kernel_name, arguments)
        for spare in self.spares.values():  # a different assignment now: free its kernel
            spare.discard()
        self.spares = {wanted: _SpareKernel(kernel_name, arguments)}
        return kernel

    def close(self) -> None:
        """Stop every spare kernel."""
        for spare in self.spares.values():
            spare.discard()
        self.spares.clear()


_POOL = _KernelPool()


def kernel_arguments(execute: Execute, preload: tuple[str, ...]) -> list[str]:
    """The arguments nbclient would start the kernel with, plus the preloaded imports.

    Importing into ``sys.modules`` under a throw-away name leaves the user namespace as a
    fresh kernel's: the notebook's own ``import numpy as np`` still binds the names.
    """
    arguments = list(execute.extra_arguments)
    if not any(a.startswith("--HistoryManager.hist_file") for a in arguments):
        arguments.append(f"--HistoryManager.hist_file={execute.ipython_hist_file}")
    arguments += [f"--IPKernelApp.exec_lines=import {module} as _dlmath_preload; "
                  f"del _dlmath_preload" for module in preload]
    return arguments


def execute_job(job: ExecutionJob) -> ExecutionResult:
    """Execute the job's notebook in a fresh kernel, exactly as nbgrader's ``Execute`` would."""
    nb = nbformat.reads(job.notebook, as_version=4)
    execute = Execute(config=Config({"Execute": job.execute_config}))
    kernel_name = nb.metadata.get("kernelspec", {}).get("name", "python3")
    kernel = _POOL.take(kernel_name, kernel_arguments(execute, job.preload))
    try:
        for name, data in job.files.items():
            target = kernel.folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        execute.preprocess(nb, {"metadata": {"path": str(kernel.folder)}}, km=kernel.manager)
    finally:
        if execute.kc is not None:
            execute.kc.stop_channels()
        kernel.discard()
    return ExecutionResult(job.key, nbformat.writes(nb), cell_seconds(nb),
                           executed_by=f"{socket.gethostname()}:{os.getpid()}")
