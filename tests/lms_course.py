"""A small graded course for the LMS tests, built in seconds through nbgrader's gradebook API.

Two assignments of 12 points (test_a 6, test_b 4, a written answer 2). The students come from
a roster file in tests/data/lms (in the file's order: Jane Doe, Aoife O'Brien, Chloé Lefèvre,
Liam van der Berg, José "Pepe" Núñez, Zeynep Yılmaz), and their grades cover every status:

| student | ex1                                     | ex2                                  |
|---------|-----------------------------------------|--------------------------------------|
| Jane    | graded 9 (8 auto + 1 written)           | no submission (0)                    |
| Aoife   | 10 auto, written answer not graded yet  | graded 10, late penalty 2 (8)        |
| Chloé   | graded 0                                | graded 7, then resubmitted           |
| Liam    | no submission                           | no submission                        |
| José    | autograding failed                      | in submitted/, never graded          |
| Zeynep  | no submission                           | no submission                        |
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from dlmath.course import copy_course, open_api, repository_root
from dlmath.grading.pipeline import GradingState, SubmissionResult, submission_digest
from dlmath.lms.roster import import_roster, read_roster

DATA = Path(__file__).parent / "data" / "lms"
# Files shaped like what Canvas and Moodle really write, each with a README naming its source.
FIELD = Path(__file__).parent / "data" / "field"
LMS_FIELD = FIELD / "lms"
EX1, EX2 = "ex1_ill_conditioned_gd", "ex2_eigenvalue_spectra"
DUE = dt.datetime(2026, 3, 20, 23, 59)


def new_course(tmp_path: Path) -> Path:
    """A course folder (config, source, release of ex1) with an empty gradebook."""
    course = copy_course(repository_root(), tmp_path / "course")
    (course / "release").mkdir()
    for assignment in (EX1, EX2):
        target = course / "release" / assignment
        target.mkdir()
        name = f"{assignment}.ipynb"
        (target / name).write_bytes((repository_root() / "release" / assignment / name)
                                    .read_bytes())
    open_api(course)  # puts alembic on PATH, which a new gradebook needs
    return course


def db_url(course: Path) -> str:
    """The course's gradebook."""
    return f"sqlite:///{course / 'gradebook.db'}"


def add_assignments(course: Path) -> None:
    """Both assignments, with their cells, in the gradebook."""
    with Gradebook(db_url(course)) as gb:
        for assignment in (EX1, EX2):
            gb.add_assignment(assignment, duedate=DUE)
            gb.add_notebook(assignment, assignment)
            gb.add_grade_cell("test_a", assignment, assignment, max_score=6, cell_type="code")
            gb.add_grade_cell("test_b", assignment, assignment, max_score=4, cell_type="code")
            gb.add_grade_cell("written", assignment, assignment, max_score=2,
                              cell_type="markdown")
            gb.add_solution_cell("written", assignment, assignment)


def import_sample_roster(course: Path, name: str | Path) -> list[str]:
    """Import tests/data/lms/<name> (or the file ``name``); the student ids in file order."""
    roster = read_roster(DATA / name)
    import_roster(course, db_url(course), roster, [EX1, EX2])
    return [s.student_id for s in roster.students]


def field_course(tmp_path: Path, roster: str | Path) -> Path:
    """A course with both assignments (due ``DUE``) and the students of a field roster file
    (a path, or a name under tests/data/field/lms/)."""
    course = new_course(tmp_path)
    add_assignments(course)
    import_sample_roster(course, LMS_FIELD / roster)
    return course


def hand_in(course: Path, assignment: str, student: str, text: str = "answer") -> None:
    """Put a (fake) notebook into submitted/<student>/<assignment>/."""
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{assignment}.ipynb").write_text(f'{{"cells": [], "note": "{text}"}}')


def grade(course: Path, assignment: str, student: str, scores: dict[str, float | None],
          penalty: float = 0.0, ok: bool = True, error: str = "") -> None:
    """Record a grading of a handed-in submission: gradebook scores and dlmath's outcome.

    A cell scored None still needs a grader (``needs_manual_grade``).
    """
    with Gradebook(db_url(course)) as gb, warnings.catch_warnings():
        # nbgrader 0.9.6 under SQLAlchemy 2 warns on every new submission (see grading.py).
        warnings.simplefilter("ignore", SAWarning)
        submission = gb.add_submission(assignment, student)
        for grade_row in submission.notebooks[0].grades:
            score = scores.get(grade_row.name)
            grade_row.auto_score = score if grade_row.cell.cell_type == "code" else None
            grade_row.manual_score = score if grade_row.cell.cell_type == "markdown" else None
            grade_row.needs_manual_grade = score is None
        submission.notebooks[0].late_submission_penalty = penalty or None
        gb.db.commit()
    GradingState(course).record(SubmissionResult(assignment, student, ok=ok, error=error),
                                submission_digest(course, assignment, student))


def graded_course(tmp_path: Path, roster: str = "canvas_gradebook_export.csv") -> Path:
    """The course of the module docstring."""
    course = new_course(tmp_path)
    add_assignments(course)
    jane, aoife, chloe, _liam, jose, _zeynep = import_sample_roster(course, roster)
    for student, assignment in [(jane, EX1), (aoife, EX1), (aoife, EX2), (chloe, EX1),
                                (chloe, EX2), (jose, EX1), (jose, EX2)]:
        hand_in(course, assignment, student)
    grade(course, EX1, jane, {"test_a": 6, "test_b": 2, "written": 1})
    grade(course, EX1, aoife, {"test_a": 6, "test_b": 4, "written": None})
    grade(course, EX2, aoife, {"test_a": 6, "test_b": 4, "written": 0}, penalty=2)
    grade(course, EX1, chloe, {"test_a": 0, "test_b": 0, "written": 0})
    grade(course, EX2, chloe, {"test_a": 6, "test_b": 0, "written": 1})
    hand_in(course, EX2, chloe, "a second, later version")
    # Autograde creates the submission before executing; then the kernel died.
    grade(course, EX1, jose, {"written": None}, ok=False,
          error="Traceback ...\nnbclient.exceptions.DeadKernelError: Kernel died")
    return course
