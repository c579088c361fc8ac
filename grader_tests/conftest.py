"""Shared fixtures of the grader's self-test harness.

One session-wide course folder is built once: the committed course copied to a temp
folder, every assignment released there with nbgrader, every variant of
``grader_tests/variants`` written as a submission (student id = variant name), and all of
them autograded through ``dlmath``'s runner. The tests then only read results.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dlmath.course import CourseError, assignment_ids, copy_course, open_api
from dlmath.grading.pipeline import SubmissionResult, grade
from grader_tests.students import Variant, load_variants, write_submission

REPO = Path(__file__).resolve().parents[1]
VARIANTS_ROOT = REPO / "grader_tests" / "variants"
ASSIGNMENTS = assignment_ids(REPO)


def all_variants() -> list[Variant]:
    """Every variant of every assignment (reference and blank included)."""
    return [v for a in ASSIGNMENTS for v in load_variants(VARIANTS_ROOT, a)]


@pytest.fixture(scope="session")
def released_course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A temp copy of the course with every assignment freshly released by nbgrader."""
    course = copy_course(REPO, tmp_path_factory.mktemp("course") / "course")
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
