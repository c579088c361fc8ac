"""The course's gradebook: ``dlmath copy-gradebook`` moves a graded SQLite gradebook, with a
TA's grades and comments, a due date and an extension, to PostgreSQL with nothing lost; the
readers that must not create a gradebook find it where ``db_url`` says; the gradebook the
pipeline reads on every submission shares one engine per process, yet reads a replaced file
and leaves a forked child its own."""

from __future__ import annotations

import datetime as dt
import os
import warnings
from pathlib import Path

import pytest
from nbgrader.api import Base, Gradebook
from postgres_cluster import use_database
from sqlalchemy import create_engine, select

from dlmath.cli.common import EXIT_OK, EXIT_USAGE
from dlmath.cli.main import main
from dlmath.course import copy_course, open_api, repository_root
from dlmath.gradebook import SharedEngineGradebook, existing_gradebook
from dlmath.grading.pipeline import grade
from dlmath.hub.launch import roster_students
from grader_tests.students import load_variants, write_submission

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

ASSIGNMENT = "ex1_ill_conditioned_gd"
STUDENTS = ("reference", "blank", "steps_off_by_one")


def every_row(url: str) -> dict[str, list[dict]]:
    """Every nbgrader table's rows, as plain dicts sorted by primary key in Python (the two
    databases sort strings differently)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return {table.name: sorted(
                        (dict(row) for row in connection.execute(select(table)).mappings()),
                        key=lambda row, keys=[c.name for c in table.primary_key]:
                            [row[k] for k in keys])
                    for table in Base.metadata.sorted_tables}
    finally:
        engine.dispose()


@pytest.fixture
def graded_course(tmp_path: Path) -> Path:
    """ex1 on SQLite, three students autograded, every written answer graded by a TA with a
    comment, a due date and one extension."""
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    course = copy_course(repository_root(), tmp_path / "course")
    api = open_api(course)
    assert api.generate_assignment(ASSIGNMENT)["success"]
    variants = {v.name: v for v in load_variants(
        repository_root() / "grader_tests" / "variants", ASSIGNMENT)}
    for student in STUDENTS:
        write_submission(course, student, variants[student])
    grade(api, course, [ASSIGNMENT], workers=2)
    with Gradebook(api.coursedir.db_url) as gradebook:
        gradebook.update_or_create_assignment(ASSIGNMENT, duedate=dt.datetime(2026, 11, 1, 12))
        gradebook.update_or_create_student("blank", first_name="Zoë", last_name="Ñúñez",
                                           email="zn@example.org")
        for score, student in enumerate(STUDENTS):
            notebook = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
            for row in notebook.grades:
                if row.cell.cell_type == "markdown":
                    row.manual_score, row.needs_manual_grade = score * 0.75, False
            for comment in notebook.comments:
                comment.manual_comment = f"Feedback for {student}: «see eq. (2)»"
        gradebook.find_submission(ASSIGNMENT, "reference").extension = dt.timedelta(days=2)
        gradebook.db.commit()
    return course


def test_a_graded_gradebook_moves_to_postgresql_with_nothing_lost(
        graded_course: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    sqlite_url = f"sqlite:///{graded_course / 'gradebook.db'}"
    before = every_row(sqlite_url)
    assert sum(r["manual_score"] is not None for r in before["grade"]) == len(STUDENTS)

    assert main(["--course", str(graded_course), "copy-gradebook", postgres_url]) == EXIT_OK
    out = capsys.readouterr().out
    assert "the copy matches it row by row" in out
    assert f"c.CourseDirectory.db_url = {postgres_url!r}" in out
    assert every_row(postgres_url) == before
    assert every_row(sqlite_url) == before  # the original is untouched

    # The course then runs on the copy: the same grades export, the TA's grades final.
    csv_rows = {}
    for url in (sqlite_url, postgres_url):
        if url == postgres_url:
            use_database(graded_course, postgres_url)
        to = graded_course / f"grades-{url.split(':')[0]}.csv"
        assert main(["--course", str(graded_course), "export", "--to", str(to)]) == EXIT_OK
        csv_rows[url] = to.read_text(encoding="utf-8")
    assert csv_rows[postgres_url] == csv_rows[sqlite_url]

    # A second copy into the same database is refused: it would mix two gradebooks.
    assert main(["--course", str(graded_course), "copy-gradebook", postgres_url]) == EXIT_USAGE
    assert "already holds a gradebook with data" in capsys.readouterr().err
    assert every_row(postgres_url) == before


def test_the_hubs_roster_reads_the_students_of_a_postgresql_gradebook(
        tmp_path: Path, postgres_url: str) -> None:
    course = copy_course(repository_root(), tmp_path / "course")
    assert existing_gradebook(course) is None  # SQLite, not made yet: nothing is created
    assert roster_students(course) == [] and not (course / "gradebook.db").exists()
    use_database(course, postgres_url)
    with Gradebook(postgres_url) as gradebook:
        gradebook.add_student("s2", first_name="Ada", last_name="Lovelace")
        gradebook.add_student("s1")
    assert existing_gradebook(course) == postgres_url
    assert roster_students(course) == ["s1", "s2"]


def _gradebook_of(path: Path, student: str) -> str:
    url = f"sqlite:///{path}"
    with Gradebook(url) as gradebook:
        gradebook.add_student(student)
    return url


def test_the_shared_engine_gradebook_reuses_its_engine_but_reads_a_replaced_file(
        tmp_path: Path) -> None:
    url = _gradebook_of(tmp_path / "gradebook.db", "before")
    with SharedEngineGradebook(url) as first, SharedEngineGradebook(url) as second:
        assert first.engine is second.engine, "one engine per database and process"
        assert [s.id for s in first.students] == ["before"]
    # A backup restored over the file: the next reader must see it, not the unlinked file
    # a kept connection would still be reading.
    _gradebook_of(tmp_path / "restored.db", "restored")
    os.replace(tmp_path / "restored.db", tmp_path / "gradebook.db")
    with SharedEngineGradebook(url) as gradebook:
        got = [s.id for s in gradebook.students]
    assert got == ["restored"], f"read {got} from the replaced gradebook, expected ['restored']"


def test_a_forked_child_makes_its_own_engine(tmp_path: Path) -> None:
    url = _gradebook_of(tmp_path / "gradebook.db", "someone")
    with SharedEngineGradebook(url) as gradebook:
        parent = gradebook.engine
    child = os.fork()
    if child == 0:  # the parent's pooled connections are not the child's to use or close
        status = 2  # whatever happens in the child, it must not go on running the tests
        try:
            with SharedEngineGradebook(url) as gradebook:
                status = 0 if gradebook.engine is not parent else 1
        finally:
            os._exit(status)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the child used the parent's engine"
