"""The whole course on a PostgreSQL gradebook, set by the one setting
``c.CourseDirectory.db_url``: release, ``dlmath grade`` on local workers and on Dask, the
formgrader, feedback, export and the report, on a small class of three."""

from __future__ import annotations

import csv
import os
import shutil
import socket
import warnings
from pathlib import Path

import pytest
from formgrader_api import formgrader, written_answers
from nbgrader.api import Gradebook
from postgres_cluster import use_database

from dlmath.cli.common import EXIT_OK
from dlmath.cli.main import main
from dlmath.course import copy_course, open_api, repository_root
from dlmath.grading.pipeline import grade, read_scores
from grader_tests.students import load_variants, write_submission
from grader_tests.test_parallel import dask_cluster  # noqa: F401 - a fixture, used by name

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

ASSIGNMENT = "ex1_ill_conditioned_gd"
# Autograded points of each student's variant (the harness's expectations).
AUTO = {"reference": 10, "blank": 0, "steps_off_by_one": 8}
# What a TA gives each written answer in the formgrader (out of 2).
MANUAL = {"reference": 2.0, "blank": 0.0, "steps_off_by_one": 1.5}


def total_scores(url: str) -> dict[str, float]:
    with Gradebook(url) as gradebook:
        return {s: sum(c.score for c in read_scores(gradebook, ASSIGNMENT, s)) for s in AUTO}


def test_the_course_runs_on_a_postgresql_gradebook(postgres_url: str, dask_cluster: str,  # noqa: F811
                                                   tmp_path: Path) -> None:
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    course = copy_course(repository_root(), tmp_path / "course")
    use_database(course, postgres_url)
    assert open_api(course).coursedir.db_url == postgres_url
    run = ["--course", str(course)]

    assert main([*run, "release", ASSIGNMENT]) == EXIT_OK
    assert not (course / "gradebook.db").exists(), "a SQLite gradebook was made anyway"
    with Gradebook(postgres_url) as gradebook:
        assert [a.name for a in gradebook.assignments] == [ASSIGNMENT]

    variants = {v.name: v for v in load_variants(
        repository_root() / "grader_tests" / "variants", ASSIGNMENT)}
    for name in AUTO:
        write_submission(course, name, variants[name])
    main([*run, "grade", ASSIGNMENT, "--workers", "2"])  # exit 1: the blank one is flagged
    assert total_scores(postgres_url) == AUTO

    # A TA grades the written answers in the formgrader, with a comment each.
    ids = written_answers(postgres_url, ASSIGNMENT, list(AUTO))
    with formgrader(course, tmp_path / "jupyter", tmp_path / "formgrader.log") as api:
        listed = {a["name"]: a["num_submissions"] for a in api.request("GET", "assignments")}
        assert listed[ASSIGNMENT] == len(AUTO)
        for student, (grade_id, comment_id) in ids.items():
            assert api.set_score(grade_id, MANUAL[student])["manual_score"] == MANUAL[student]
            api.set_comment(comment_id, f"Comment for {student}")

    # Regraded on a Dask cluster, every notebook executed there again (the executed ones
    # are forgotten), and written by two writer processes at once: the same scores, the TA's
    # grades and comments kept.
    shutil.rmtree(course / ".dlmath" / "executed")
    results = grade(open_api(course), course, [ASSIGNMENT], force=True, scheduler=dask_cluster,
                    writers=2)
    assert all(r.ok and r.executed_by for r in results), [r.error for r in results]
    here = f"{socket.gethostname()}:{os.getpid()}"
    assert all(r.written_by and r.written_by != here for r in results), \
        [r.written_by for r in results]
    expected = {s: AUTO[s] + MANUAL[s] for s in AUTO}
    assert total_scores(postgres_url) == expected
    with Gradebook(postgres_url) as gradebook:
        for student, (grade_id, comment_id) in ids.items():
            row = gradebook.find_grade_by_id(grade_id)
            assert (row.manual_score, row.needs_manual_grade) == (MANUAL[student], False)
            assert gradebook.find_comment_by_id(comment_id).comment == f"Comment for {student}"

    assert main([*run, "feedback", ASSIGNMENT]) == EXIT_OK
    for student in AUTO:
        page = course / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html"
        assert f"Comment for {student}" in page.read_text(encoding="utf-8")

    grades_csv = tmp_path / "grades.csv"
    assert main([*run, "export", "--to", str(grades_csv)]) == EXIT_OK  # every grade final
    with open(grades_csv, newline="", encoding="utf-8") as exported:
        assert {row["student_id"]: float(row["score"]) for row in csv.DictReader(exported)} \
            == expected

    report = tmp_path / "item_analysis.html"
    assert main([*run, "report", "--to", str(report)]) == EXIT_OK
    assert "test_gradient_descent_values" in report.read_text(encoding="utf-8")
