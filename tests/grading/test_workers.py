"""Execution jobs: what the execution key covers, copying outputs back, preloaded modules,
and the spare kernel each worker starts for its next job."""

from __future__ import annotations

import threading

import pytest
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


def test_the_next_kernel_starts_in_the_background_while_a_job_runs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    pool = _KernelPool()
    started: list[str] = []  # the thread that started each kernel
    let_the_spare_start = threading.Event()

    def start(*settings: object) -> object:
        if started:  # every kernel after the first is a spare: it waits for the test
            assert let_the_spare_start.wait(30), "nobody let the spare start"
        started.append(threading.current_thread().name)
        return object()  # stands for a started kernel manager

    monkeypatch.setattr(pool, "_start", start)
    monkeypatch.setattr(pool, "discard", lambda kernel: None)
    try:
        first = pool.take("python3", Config(), [], ["numpy"])
        assert started == [threading.current_thread().name], \
            "take() waited for the next job's spare kernel instead of returning the job's own"
        let_the_spare_start.set()
        second = pool.take("python3", Config(), [], ["numpy"])  # gets that spare
        assert second is not first
        assert started[1] != threading.current_thread().name, \
            f"the spare was not started in the background: kernels started by {started}"
    finally:
        let_the_spare_start.set()
        pool.close()
