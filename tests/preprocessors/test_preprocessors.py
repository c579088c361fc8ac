"""The course's preprocessors: broken notebooks are graded as far as they can be, and a
notebook that timed out is executed again before a timeout costs points.

One class of broken submissions of ex1 (each the reference solution with a written answer,
then broken one way) is graded in one ``dlmath grade`` run. Each must get the autograded
points its surviving code earns, its written answer graded by hand when the student's text
is there and restored empty (scoring 0) when it is not, and a finding naming what happened;
notebooks with nothing of the assignment are refused with a message saying what to do.
Never a KeyError.
"""

from __future__ import annotations

import copy
import json
import warnings
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from nbformat import NotebookNode
from nbgrader.api import Gradebook

from dlmath.cells import grade_id
from dlmath.course import copy_course, open_api, repository_root
from dlmath.grading.pipeline import SubmissionResult, grade
from dlmath.judge import integrity
from dlmath.preprocessors.execute import SafeExecute
from grader_tests.students import build_submission, load_variants

REPO = repository_root()
EX1, EX2 = "ex1_ill_conditioned_gd", "ex2_eigenvalue_spectra"
NOTEBOOK = f"{EX1}.ipynb"
WRITTEN = "written_learning_rates"
ANSWER = "Along y the factor 1 - lr * 20 is -1 for lr = 0.1, so y oscillates forever."


def cell(nb: NotebookNode, name: str) -> NotebookNode:
    return next(c for c in nb.cells if grade_id(c) == name)


def delete(*names: str) -> Callable[[NotebookNode], object]:
    def edit(nb: NotebookNode) -> None:
        nb.cells = [c for c in nb.cells if grade_id(c) not in names]
    return edit


def strip_metadata(*names: str) -> Callable[[NotebookNode], object]:
    """Remove the nbgrader metadata of the named cells (all cells when none are named)."""
    def edit(nb: NotebookNode) -> None:
        for c in nb.cells:
            if not names or grade_id(c) in names:
                c.metadata.pop("nbgrader", None)
    return edit


def no_cells(nb: NotebookNode) -> None:
    nb.cells = []


def another_assignment(nb: NotebookNode) -> NotebookNode:
    return nbformat.read(REPO / "release" / EX2 / f"{EX2}.ipynb", as_version=4)


# student -> (how the reference submission is broken, autograded points, the written answer
# as graded: "graded by hand" (the student's text is kept), "0" (restored empty), or None
# when the submission is refused, finding kinds, text of the finding or refusal)
CASES = {
    "deleted_written_answer": (delete(WRITTEN), 10, "0", {"submission"}, "restored empty"),
    "deleted_written_and_task": (delete(WRITTEN, "task_written"), 10, "0",
                                 {"submission", "tampering"}, "restored empty"),
    "deleted_first_and_last": (delete("intro", WRITTEN), 10, "0", {"submission", "tampering"},
                               "deleted a locked cell"),
    "deleted_answer_code": (delete("answer_steps_to_tolerance"), 8, "graded by hand",
                            {"submission"}, "deleted an answer cell, restored empty"),
    "deleted_test_cell": (delete("test_paths"), 10, "graded by hand", {"tampering"},
                          "deleted a test cell, restored"),
    "deleted_given_code": (delete("given_code"), 10, "graded by hand", {"tampering"},
                           "deleted a locked cell, restored"),
    "deleted_every_test": (delete(*[f"test_{n}" for n in (
        "gradient_descent_values", "gradient_descent_contract", "paths", "steps_to_tolerance",
        "max_stable_lr", "plot_paths")]), 10, "graded by hand", {"tampering"},
        "deleted a test cell"),
    "no_metadata_at_all": (strip_metadata(), 10, "graded by hand", {"submission"},
                           "recognised by content or place"),
    "written_answer_lost_metadata": (strip_metadata(WRITTEN), 10, "graded by hand",
                                     {"submission"}, WRITTEN),
    "test_cell_lost_metadata": (strip_metadata("test_max_stable_lr"), 10, "graded by hand",
                                {"submission"}, "test_max_stable_lr"),
    "no_cells": (no_cells, None, None, set(), "has no cells: an empty notebook"),
    "another_assignments_notebook": (another_assignment, None, None, set(),
                                     "holds none of ex1_ill_conditioned_gd's cells"),
}
FILES = {  # submissions that are not even notebooks, and the reason each is refused with
    "empty_json_object": (b"{}", "is not a valid notebook (Notebook could not be converted from "
                                 "version 1 to version 2 because it's missing a key: cells)"),
    "json_list": (b"[]", "is not a valid notebook (its JSON is not a notebook's"),
    "cell_without_metadata": (json.dumps({"cells": [{"cell_type": "code", "source": "x = 1"}],
                                          "metadata": {}, "nbformat": 4,
                                          "nbformat_minor": 5}).encode(),
                              "is not a valid notebook (The notebook is invalid and is missing "
                              "an expected key: metadata)"),
}


def reference() -> NotebookNode:
    """ex1's reference solution with a written answer."""
    variant = load_variants(REPO / "grader_tests" / "variants", EX1)[0]
    nb = build_submission(nbformat.read(REPO / "source" / EX1 / NOTEBOOK, as_version=4),
                          nbformat.read(REPO / "release" / EX1 / NOTEBOOK, as_version=4), variant)
    cell(nb, WRITTEN).source = ANSWER
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, SubmissionResult]]:
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    course = copy_course(REPO, tmp_path_factory.mktemp("repair") / "course")
    api = open_api(course)
    assert api.generate_assignment(EX1)["success"]
    for student, (edit, *_) in CASES.items():
        nb = copy.deepcopy(reference())
        nb = edit(nb) or nb
        folder = course / "submitted" / student / EX1
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / NOTEBOOK)
    for student, (data, _) in FILES.items():
        folder = course / "submitted" / student / EX1
        folder.mkdir(parents=True)
        (folder / NOTEBOOK).write_bytes(data)
    return course, {r.student: r for r in grade(api, course, [EX1], workers=2)}


@pytest.mark.parametrize("student", CASES)
def test_a_notebook_that_lost_cells_is_graded_as_far_as_it_can_be(
        student: str, graded: tuple[Path, dict[str, SubmissionResult]]) -> None:
    course, results = graded
    _, points, written, kinds, text = CASES[student]
    result = results[student]
    if points is None:
        assert not result.ok and text in result.error, result.error
        assert "ask the student" in result.error
        return
    assert result.ok, result.error
    assert result.auto_score == points
    assert {f.kind for f in result.findings} == kinds, [str(f) for f in result.findings]
    assert any(text in str(f) for f in result.findings), [str(f) for f in result.findings]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        row = gradebook.find_grade(WRITTEN, EX1, EX1, student)
        as_graded = "graded by hand" if row.needs_manual_grade else f"{row.auto_score:g}"
    assert as_graded == written
    autograded = nbformat.read(course / "autograded" / student / EX1 / NOTEBOOK, as_version=4)
    names = [grade_id(c) for c in autograded.cells if grade_id(c)]
    source = nbformat.read(course / "source" / EX1 / NOTEBOOK, as_version=4)
    assert names == [grade_id(c) for c in source.cells if grade_id(c)], "cells out of order"
    assert (cell(autograded, WRITTEN).source == ANSWER) == (written == "graded by hand")


@pytest.mark.parametrize("student", FILES)
def test_a_file_that_is_no_notebook_is_refused_with_the_fix(
        student: str, graded: tuple[Path, dict[str, SubmissionResult]]) -> None:
    result = graded[1][student]
    assert not result.ok
    assert FILES[student][1] in result.error and "resubmit" in result.error, result.error
    assert "KeyError" not in result.error and "AttributeError" not in result.error


def test_plain_nbgrader_autograde_restores_a_deleted_written_answer(
        graded: tuple[Path, dict[str, SubmissionResult]]) -> None:
    """nbgrader's own add_missing_cells fails on this notebook with KeyError: 'task_written'."""
    course = graded[0]
    outcome = open_api(course).autograde(EX1, "deleted_written_answer", force=True)
    assert outcome["success"], outcome["log"]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submission = gradebook.find_submission(EX1, "deleted_written_answer")
        assert (submission.score, submission.needs_manual_grade) == (10, False)


def timed_out_once_then(second_times_out: bool) -> tuple[list, Callable]:
    """A stand-in for one execution of a notebook: the first times out, the second as told."""
    runs: list[tuple[object, list]] = []

    def execute(self: SafeExecute, nb: NotebookNode, resources: object,
                km: object) -> tuple[NotebookNode, object]:
        self.nb = nb  # what nbclient's setup does; findings are recorded into it
        runs.append((km, [c.get("outputs") for c in nb.cells]))
        nb.cells[0].outputs = [nbformat.v4.new_output("stream", text=f"run {len(runs)}")]
        if len(runs) == 1 or second_times_out:
            self._found("timeout", "cell 1", "did not finish within 60 s")
        return nb, resources

    return runs, execute


@pytest.mark.parametrize("second_times_out", [False, True])
def test_a_notebook_that_timed_out_is_executed_again_in_a_fresh_kernel(
        second_times_out: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    runs, execute = timed_out_once_then(second_times_out)
    monkeypatch.setattr(SafeExecute, "_execute", execute)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("slow()")])
    pool_kernel = object()
    result, _ = SafeExecute().preprocess(nb, {}, km=pool_kernel)
    assert result is nb, "callers keep their reference to the notebook"
    assert [km for km, _ in runs] == [pool_kernel, None], "the retry needs a kernel of its own"
    assert runs[1][1] == [[]], "the retry starts from the notebook as it was handed in"
    assert nb.cells[0].outputs[0].text == "run 2"
    found = [(f.kind, f.where) for f in integrity.findings(nb)]
    assert found == ([("timeout", "cell 1"), ("timeout", "notebook")] if second_times_out
                     else [])


def test_no_retry_when_nothing_timed_out_or_when_turned_off(
        monkeypatch: pytest.MonkeyPatch) -> None:
    runs, execute = timed_out_once_then(second_times_out=False)
    monkeypatch.setattr(SafeExecute, "_execute", execute)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("slow()")])
    SafeExecute(retry_timeouts=False).preprocess(nb, {})
    assert len(runs) == 1 and [f.kind for f in integrity.findings(nb)] == ["timeout"]
    runs.append(None)  # the stand-in's second run finishes in time
    SafeExecute().preprocess(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x")]), {})
    assert len(runs) == 3, "a notebook that did not time out ran more than once"


def test_a_notebook_that_times_out_twice_is_flagged_with_both_runs(tmp_path: Path) -> None:
    """The real thing: a cell, and a test of a function, that never finish time out in both
    runs, each in a kernel of its own; the cells after them still run, and the findings name
    both and say it timed out twice."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in (
        "x = 20", "while True:\n    pass", "x + 1", "def forever():\n    while True:\n"
        "        pass", "forever()")])
    nb.cells[-1].metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                         "grade_id": "test_forever", "points": 1}
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    execute = SafeExecute(timeout=3)
    execute.preprocess(nb, {"metadata": {"path": str(tmp_path)}, "dlmath": {"files": {}}})
    found = [(f.kind, f.where) for f in integrity.findings(nb)]
    assert found == [("timeout", "cell 2"), ("timeout", "test_forever"), ("timeout", "notebook")
                     ], found
    assert nb.cells[1].outputs[-1].ename == "CellTimeoutError"
    assert nb.cells[2].outputs[0].data["text/plain"] == "21"
    assert nb.cells[4].outputs[-1].ename == "CellTimeoutError"  # the test cell: 0 points


def _reference_ex1() -> NotebookNode:
    source = nbformat.read(REPO / "source" / EX1 / NOTEBOOK, as_version=4)
    release = nbformat.read(REPO / "release" / EX1 / NOTEBOOK, as_version=4)
    return build_submission(source, release, load_variants(REPO / "grader_tests" / "variants",
                                                           EX1)[0])


def test_an_unknown_student_at_grading_time_is_a_clear_error(tmp_path: Path) -> None:
    """Per-student numbers need the id of the submission (from nbgrader's resources)."""
    from dlmath.variants import VariantError

    for resources, why in (({}, "no student id"),
                           ({"nbgrader": {"student": "../x"}}, "the student id '../x', which "
                                                              "is not valid")):
        with pytest.raises(VariantError, match=f"cannot tell whose numbers to grade this "
                                               f"notebook against: nbgrader gave {why}"):
            SafeExecute().preprocess(_reference_ex1(), resources)


def test_the_kernel_and_the_judge_compute_with_the_injected_students_numbers(
        tmp_path: Path) -> None:
    """The key comes with the job (as from dlmath grade's pipeline): the given cell shows
    that student's numbers in the kernel and the reference passes the judge's tests, which
    compute their expectations from the same numbers."""
    from dlmath.variants.derive import student_key
    from dlmath.variants.ex1 import ex1_parameters

    key = student_key(b"a course secret!", "alice")
    nb = _reference_ex1()
    SafeExecute().preprocess(nb, {"metadata": {"path": str(tmp_path)},
                                  "dlmath": {"files": {}, "variant": key}})
    shown = cell(nb, "given_code").outputs[0].data["text/markdown"]
    assert shown == ex1_parameters(key)._repr_markdown_()
    assert shown != ex1_parameters("shared")._repr_markdown_()
    tests = [c for c in nb.cells if (grade_id(c) or "").startswith("test_")]
    assert len(tests) == 6
    assert [grade_id(c) for c in tests if any(o.output_type == "error" for o in c.outputs)] == []


def test_cells_keep_the_instructors_order_whatever_order_the_gradebook_returns(
        tmp_path: Path) -> None:
    """The gradebook records no order of cells, and a database returns rows as it likes
    (PostgreSQL alphabetically, by an index, after dlmath copy-gradebook): a submission in the
    instructor's order must come out of the sanitize step unchanged, not "put back" in the
    database's order. Here the SQLite gradebook returns its cells in reverse."""
    import sqlite3

    from dlmath.grading.pipeline import prepare_job

    course = copy_course(REPO, tmp_path / "course")
    api = open_api(course)
    assert api.generate_assignment(EX1, force=True, create=True)["success"]
    with sqlite3.connect(course / "gradebook.db") as database:
        rows = database.execute("SELECT * FROM source_cell ORDER BY rowid").fetchall()
        database.execute("DELETE FROM source_cell")
        marks = ", ".join("?" * len(rows[0]))
        database.executemany(f"INSERT INTO source_cell VALUES ({marks})", rows[::-1])
    with Gradebook(api.coursedir.db_url) as gradebook:
        returned = [c.name for c in gradebook.find_notebook(EX1, EX1).source_cells]
    # The instructor then reorders source/ for next term, without releasing it again: the
    # students' order is release/'s.
    source = nbformat.read(course / "source" / EX1 / NOTEBOOK, as_version=4)
    source.cells.reverse()
    nbformat.write(source, course / "source" / EX1 / NOTEBOOK)
    submitted = _reference_ex1()
    order = [grade_id(c) for c in submitted.cells if grade_id(c)]
    assert returned == order[::-1], "the gradebook should return the cells in reverse here"

    folder = course / "submitted" / "alice" / EX1
    folder.mkdir(parents=True)
    nbformat.write(submitted, folder / NOTEBOOK)
    sanitized = nbformat.reads(prepare_job(api, course, EX1, "alice", folder / NOTEBOOK).notebook,
                               as_version=4)
    assert [grade_id(c) for c in sanitized.cells if grade_id(c)] == order
    assert not sanitized.metadata.get("dlmath", {}).get("findings"), \
        sanitized.metadata["dlmath"]["findings"]


def test_autograde_reads_the_order_of_cells_in_the_course_it_was_given(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The formgrader roots nbgrader's autograde at the course it shows, without putting the
    root in the configuration, and its server may run anywhere."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from dlmath.course import load_config

    course = copy_course(REPO, tmp_path / "course")
    assert open_api(course).generate_assignment(EX1, force=True, create=True)["success"]
    folder = course / "submitted" / "alice" / EX1
    folder.mkdir(parents=True)
    nbformat.write(_reference_ex1(), folder / NOTEBOOK)
    config = load_config(course)
    del config.CourseDirectory["root"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    api = NbGraderAPI(coursedir=CourseDirectory(config=config, root=str(course)), config=config)
    outcome = api.autograde(EX1, "alice", force=True, create=True)
    assert outcome["success"], outcome.get("log")
    with Gradebook(api.coursedir.db_url) as gradebook:
        assert gradebook.find_submission(EX1, "alice").score >= 10
