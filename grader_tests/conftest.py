"""Shared fixtures of the grader's self-test harness.

One session-wide course folder is built once: the committed course copied to a temp
folder, every assignment released there with nbgrader, every variant of
``grader_tests/variants`` written as a submission (student id = variant name), and all of
them autograded through ``dlmath``'s runner. The tests then only read results.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dlmath.course import CourseError, copy_course, open_api, tools_on_path
from dlmath.grading.pipeline import SubmissionResult, grade
from grader_tests.students import (
    ASSIGNMENTS,
    REPO,
    all_variants,
    use_harness_secret,
    write_submission,
)

# nbgrader runs `alembic` by name when it creates a gradebook, as under the dlmath command.
tools_on_path(os.environ)


@pytest.fixture(scope="session")
def released_course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temp copy of the course with every assignment freshly released by nbgrader."""
    course = copy_course(REPO, tmp_path_factory.mktemp("course") / "course")
    use_harness_secret(course)
    api = open_api(course)
    for assignment in ASSIGNMENTS:
        outcome = api.generate_assignment(assignment, force=True, create=True)
        if not outcome["success"]:
            raise CourseError(f"release of {assignment} failed:\n{outcome['log']}")
    return course


@pytest.fixture(scope="session")
def graded(released_course: Path) -> dict[tuple[str, str], SubmissionResult]:
    """Every variant autograded: (assignment, variant name) -> result."""
    for variant in all_variants():
        write_submission(released_course, variant.name, variant)
    results = grade(open_api(released_course), released_course, ASSIGNMENTS)
    return {(r.assignment, r.student): r for r in results}
