"""``KeepManualGrades`` against a grader saving in the formgrader at the same moment, on
PostgreSQL: the grader's score and "graded" mark are never overwritten by autograde."""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

import nbformat
import nbgrader.utils
import pytest
from nbgrader.api import Gradebook
from postgres_cluster import use_database

from dlmath.cells import WRITTEN_ANSWER, cell_role
from dlmath.course import copy_course, open_api, repository_root
from grader_tests.students import load_variants, write_submission

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

ASSIGNMENT = "ex1_ill_conditioned_gd"
STUDENT = "reference"


def save_as_the_formgrader_does(url: str, grade_id: str, score: float) -> None:
    """What the formgrader's PUT /formgrader/api/grade/<id> does, in its own connection."""
    with Gradebook(url) as gradebook:
        grade = gradebook.find_grade_by_id(grade_id)
        grade.manual_score, grade.needs_manual_grade = score, False
        gradebook.db.commit()


def test_a_score_saved_while_autograde_saves_the_same_cell_is_kept(
        postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    course = copy_course(repository_root(), tmp_path / "course")
    use_database(course, postgres_url)
    api = open_api(course)
    assert api.generate_assignment(ASSIGNMENT)["success"]
    reference, = [v for v in load_variants(repository_root() / "grader_tests" / "variants",
                                           ASSIGNMENT) if v.name == STUDENT]
    write_submission(course, STUDENT, reference)
    submitted = course / "submitted" / STUDENT / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    notebook = nbformat.read(submitted, as_version=4)
    for cell in notebook.cells:
        if cell_role(cell) == WRITTEN_ANSWER:
            cell.source = "With lr = 0.1 the factor along y is -1, so y never converges."
    nbformat.write(notebook, submitted)
    assert api.autograde(ASSIGNMENT, STUDENT, create=True)["success"]
    with Gradebook(postgres_url) as gradebook:
        notebook = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, STUDENT)
        written, = [g for g in notebook.grades if g.cell.cell_type == "markdown"]
        grade_id, cell_name = written.id, written.cell.name
        assert written.needs_manual_grade and written.manual_score is None

    # The grader saves exactly while autograde holds the written answer's grade: between
    # reading it and saving its automatic score (nbgrader's determine_grade runs there).
    grader = threading.Thread(target=save_as_the_formgrader_does,
                              args=(postgres_url, grade_id, 1.5))
    determine_grade = nbgrader.utils.determine_grade

    def determine_grade_while_a_grader_saves(cell, log=None):  # noqa: ANN001, ANN202
        if cell_role(cell) == WRITTEN_ANSWER and cell.metadata.nbgrader["grade_id"] == cell_name:
            grader.start()
            grader.join(timeout=3)  # it waits for autograde's commit, if the row is held
        return determine_grade(cell, log)

    monkeypatch.setattr(nbgrader.utils, "determine_grade", determine_grade_while_a_grader_saves)
    assert api.autograde(ASSIGNMENT, STUDENT, force=True)["success"]
    grader.join(timeout=30)
    assert not grader.is_alive()
    with Gradebook(postgres_url) as gradebook:
        grade = gradebook.find_grade_by_id(grade_id)
        assert (grade.manual_score, grade.needs_manual_grade) == (1.5, False), \
            "autograde overwrote the grader's score or graded mark"
