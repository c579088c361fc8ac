"""Execution jobs: what the execution key covers, copying outputs back, preloaded modules,
and the spare kernel each worker starts for its next job."""

from __future__ import annotations

import shutil
import threading
import time

import pytest
from jupyter_client.utils import run_sync
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from traitlets.config import Config

from dlmath.grading.workers import _KernelPool, copy_outputs, execution_key, imported_modules


def notebook(*sources: str) -> object:
    nb = new_notebook(cells=[new_markdown_cell("intro"), *map(new_code_cell, sources)])
    nb.metadata["kernelspec"] = {"name": "python3"}
    return nb


def test_key_covers_code_files_and_settings_but_not_prose_or_outputs() -> None:
    base = execution_key(notebook("x = 1", "x + 1"), {"data.csv": b"1,2"}, {"timeout": 60})
    assert execution_key(notebook("x = 1", "x + 1"), {"data.csv": b"1,2"}, {"timeout": 60}) == base
    assert execution_key(notebook("x = 2", "x + 1"), {"data.csv": b"1,2"}, {"timeout": 60}) != base
    assert execution_key(notebook("x + 1", "x = 1"), {"data.csv": b"1,2"}, {"timeout": 60}) != base
    assert execution_key(notebook("x = 1", "x + 1"), {"data.csv": b"9,9"}, {"timeout": 60}) != base
    assert execution_key(notebook("x = 1", "x + 1"), {"data.csv": b"1,2"}, {"timeout": 5}) != base
    # Preloading modules saves time but changes no result.
    assert execution_key(notebook("x = 1", "x + 1"), {"data.csv": b"1,2"},
                         {"timeout": 60, "preload": ["numpy"]}) == base
    prose = notebook("x = 1", "x + 1")
    prose.cells[0].source = "other words"
    prose.cells[1].outputs = [new_output("stream", name="stdout", text="old output")]
    assert execution_key(prose, {"data.csv": b"1,2"}, {"timeout": 60}) == base


def test_copy_outputs_fills_code_cells_in_order() -> None:
    executed, target = notebook("print(1)", "2"), notebook("print(1)", "2")
    executed.cells[1].outputs = [new_output("stream", name="stdout", text="1\n")]
    executed.cells[1].execution_count = 1
    executed.metadata["language_info"] = {"name": "python"}
    copy_outputs(executed, target)
    assert target.cells[1].outputs == executed.cells[1].outputs
    assert target.cells[1].execution_count == 1
    assert target.metadata["language_info"] == {"name": "python"}


def test_copy_outputs_refuses_a_different_notebook() -> None:
    with pytest.raises(ValueError, match="code cells differ"):
        copy_outputs(notebook("print(1)"), notebook("print(2)"))


def test_preloaded_modules_come_from_locked_given_cells_only() -> None:
    nb = notebook("import numpy as np\nfrom scipy import linalg\nfrom . import local",
                  "import torch", "import os")
    # nbgrader gives every cell it manages an id (dlmath.cells: a given cell is one of them).
    nb.cells[1].metadata["nbgrader"] = {"locked": True, "grade": False, "grade_id": "given"}
    nb.cells[2].metadata["nbgrader"] = {"locked": False, "solution": True,  # student code
                                        "grade_id": "answer"}
    nb.cells[3].metadata["nbgrader"] = {"locked": True, "grade": True,  # a test cell
                                        "grade_id": "test"}
    assert imported_modules(nb) == ("numpy", "scipy")


class _Kernel:
    """Stands for a started kernel manager."""

    def __init__(self, alive: bool = True) -> None:
        self.alive = alive

    async def is_alive(self) -> bool:
        return self.alive


def test_the_next_kernel_starts_in_the_background_while_a_job_runs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    pool = _KernelPool()
    started: list[str] = []  # the thread that started each kernel
    let_the_spare_start = threading.Event()

    def start(*settings: object) -> _Kernel:
        if started:  # every kernel after the first is a spare: it waits for the test
            assert let_the_spare_start.wait(30), "nobody let the spare start"
        started.append(threading.current_thread().name)
        return _Kernel()

    monkeypatch.setattr(pool, "_start", start)
    monkeypatch.setattr(pool, "discard", lambda kernel: None)
    try:
        first = pool.take("python3", Config(), [], ["numpy"])
        assert len(started) == 1, \
            "take() waited for the next job's spare kernel instead of returning the job's own"
        let_the_spare_start.set()
        second = pool.take("python3", Config(), [], ["numpy"])  # gets that spare
        assert second is not first
        # bubblewrap's --die-with-parent kills a sandbox when the thread that started it
        # ends: every start must be on the pool's one long-lived thread.
        assert len(set(started)) == 1 and started[0] != threading.current_thread().name, \
            f"kernels started by the threads {started}"
    finally:
        let_the_spare_start.set()
        pool.close()


def test_a_spare_that_died_while_it_waited_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    pool = _KernelPool()
    kernels = iter([_Kernel(), _Kernel(alive=False), _Kernel(), _Kernel()])
    discarded: list[_Kernel] = []
    monkeypatch.setattr(pool, "_start", lambda *settings: next(kernels))
    monkeypatch.setattr(pool, "discard", discarded.append)
    try:
        pool.take("python3", Config(), [], [])
        second = pool.take("python3", Config(), [], [])
        assert second.alive and [k.alive for k in discarded] == [False]
    finally:
        pool.close()


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap (bin/setup)")
def test_a_spare_sandbox_started_without_a_zygote_stays_alive() -> None:
    """Without a zygote (non-root graders) each kernel is a bubblewrap sandbox of its own,
    which --die-with-parent ties to the thread that started it."""
    from dlmath.preprocessors.execute import SafeExecute

    config = Config({"SafeExecute": {}, "SandboxedKernelManager": {}})
    pool = _KernelPool()
    pool.zygote_fails = True
    try:
        kernel = pool.take("python3", config, SafeExecute(config=config).kernel_arguments(), [])
        pool._settle()
        (spare,) = pool.spares.values()
        time.sleep(1)  # the launching thread has long been done
        assert run_sync(kernel.is_alive)() and run_sync(spare.is_alive)()
        pool.discard(kernel)
    finally:
        pool.close()
