"""The static reading of student code: it flags tampering, and no honest solution."""

from __future__ import annotations

import re

import nbformat
import pytest
from nbformat.v4 import new_notebook

from dlmath.course import assignment_ids, repository_root
from dlmath.judge.integrity import (
    Finding,
    findings,
    imported_names,
    limit_hit,
    record,
    suspicious_code,
    top_level_names,
    variant_names,
)
from dlmath.variants.exercises import numbers_attributes
from grader_tests.students import load_variants

SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.DOTALL)


@pytest.mark.parametrize("code, says", [
    ("np.allclose = lambda *a, **k: True", "changes the module np"),
    ("setattr(np, 'isclose', None)", "changes the module np with setattr"),
    ("get_ipython().ast_transformers.append(x)", "AST transformer"),
    ("import sys\nsys.excepthook = print", "replaces the exception hook"),
    ("import ctypes", "uses ctypes"),
    ("class A:\n    def __eq__(self, other):\n        return True", "defines __eq__"),
    ("import dlmath.checks", "imports the grader's package"),
    ("import os\nos._exit(0)", "exits the process"),
    ("exec(compile('1', 'x', 'exec'))", "executes generated code"),
])
def test_tampering_is_flagged(code: str, says: str) -> None:
    found = suspicious_code(code, modules={"np"})
    assert any(says in sentence for sentence in found), found


def test_honest_code_of_every_exercise_is_not_flagged() -> None:
    root = repository_root()
    for assignment in assignment_ids(root):
        source = nbformat.read(root / "source" / assignment / f"{assignment}.ipynb", 4)
        locked = [c.source for c in source.cells if c.cell_type == "code"
                  and c.metadata.get("nbgrader", {}).get("locked")]
        given = {name for code in locked for name in imported_names(code)}
        variants = {name for code in locked for name in variant_names(code)}
        assert variants == {"PROBLEM"}, assignment
        for cell in source.cells:
            for solution in SOLUTION.findall(cell.source):
                assert suspicious_code(solution, given, variants, numbers_attributes()) == [], (
                    assignment, solution[:80])
        for variant in load_variants(root / "grader_tests" / "variants", assignment)[2:]:
            if variant.kind == "alternative":
                assert suspicious_code(variant.code, given, variants,
                                       numbers_attributes()) == [], variant.path


@pytest.mark.parametrize("code", [
    "paths = {lr: PROBLEM.path(lr) for lr in LEARNING_RATES}",
    "def convergence_table():\n    return PROBLEM.table()",
    "answer = getattr(PROBLEM, 'table')()",
    "P = PROBLEM\nrows = P.table()",
])
def test_answers_taken_from_the_students_parameters_are_flagged(code: str) -> None:
    """The parameters' expected results are the grader's: an answer that reaches them beyond
    the numbers (directly, by getattr, through an alias) is flagged."""
    found = suspicious_code(code, {"np"}, {"PROBLEM"}, numbers_attributes())
    assert any("beyond the numbers of PROBLEM" in sentence for sentence in found), found


def test_reading_the_students_numbers_is_not_flagged() -> None:
    code = "start = np.array(PROBLEM.x0)\nrates = [2 / c for c in PROBLEM.curvatures]"
    assert suspicious_code(code, {"np"}, {"PROBLEM"}, numbers_attributes()) == []


def test_names_a_cell_binds_at_top_level() -> None:
    code = "import numpy as np\nfrom math import log\nX0, lr = 1, 2\ndef f(x):\n    y = 3\n"
    assert top_level_names(code) == {"np", "log", "X0", "lr", "f"}
    assert imported_names(code) == {"np"}


def test_findings_are_kept_once_in_the_notebook_metadata() -> None:
    nb = new_notebook()
    finding = Finding("crash", "cell 3", "the kernel died")
    record(nb, finding)
    record(nb, finding)
    record(nb, Finding("output", "cell 4", "printed too much"), during="execution_findings")
    assert findings(nb) == [finding, Finding("output", "cell 4", "printed too much")]


@pytest.mark.parametrize("ename, evalue, limit", [
    ("MemoryError", "", "memory limit reached"),
    ("OSError", "[Errno 27] File too large", "file size limit reached"),
    ("OSError", "[Errno 28] No space left on device", "disk limit reached"),
    ("BlockingIOError", "[Errno 11] Resource temporarily unavailable", "process limit reached"),
    ("ValueError", "lr must be positive", None),
])
def test_limits_are_recognised_from_error_outputs(ename: str, evalue: str, limit: str) -> None:
    assert limit_hit(ename, evalue) == limit
