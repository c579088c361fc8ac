"""The instructor in JupyterLab: nbgrader's formgrader lists the assignments and a written
answer is scored by hand, end to end in a real browser.

A temporary copy of the course gets ex1 released, one submission (correct code and a written
answer) and nbgrader's autograde. The instructor's JupyterLab runs in that folder (README
step 6); in headless Chromium, Nbgrader > Formgrader shows Manage Assignments with every
assignment, then Manual Grading leads to the submission, where the written answer's score is
typed in. The gradebook must hold that score.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
import pytest
from lab_fixtures import (  # noqa: F401 - fixtures, used by name
    browser_context_fixture,
    page_fixture,
    screenshot_fixture,
    start_lab_fixture,
)
from lab_ui import menu, open_lab
from nbgrader.api import Gradebook

from dlmath.course import assignment_ids, copy_course, open_api
from grader_tests.students import Variant, build_submission

pytestmark = [
    pytest.mark.browser,
    # nbgrader 0.9.6's autograde trips SQLAlchemy 2's cascade warnings; harmless here.
    pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning"),
]

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENT = "ex1_ill_conditioned_gd"
STUDENT = "s2600001"
SCORE = 1.5


def written_answer_id(notebook: nbformat.NotebookNode) -> str:
    """The grade id of the notebook's manually graded written answer (a Markdown answer cell)."""
    ids = [c.metadata["nbgrader"]["grade_id"] for c in notebook.cells
           if c.cell_type == "markdown" and c.metadata.get("nbgrader", {}).get("grade")
           and c.metadata["nbgrader"].get("solution")]
    assert len(ids) == 1, f"expected one written answer cell in {ASSIGNMENT}, found {ids}"
    return ids[0]


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A course copy with ex1 released, one submission, autograded by nbgrader."""
    course = copy_course(REPO, tmp_path_factory.mktemp("instructor") / "course")
    # A course-local exchange, so the formgrader does not warn about a missing system one.
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as config:
        config.write(f"\nc.Exchange.root = {str(course / 'exchange')!r}\n")
    (course / "exchange").mkdir()
    api = open_api(course)
    outcome = api.generate_assignment(ASSIGNMENT, force=True, create=True)
    assert outcome["success"], outcome.get("log")
    source = nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    release = nbformat.read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                            as_version=4)
    submission = build_submission(source, release,
                                  Variant(ASSIGNMENT, "reference", "reference", ""))
    written = written_answer_id(source)
    for cell in submission.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == written:
            cell.source = "With lr = 0.1 the factor along y is -1, so y never converges."
    target = course / "submitted" / STUDENT / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    target.parent.mkdir(parents=True)
    nbformat.write(submission, target)
    outcome = api.autograde(ASSIGNMENT, STUDENT)
    assert outcome["success"], outcome.get("log") or outcome.get("error")
    return course


def test_formgrader_lists_assignments_and_scores_a_written_answer(graded_course: Path,
                                                                  start_lab, page,
                                                                  screenshot) -> None:
    course = graded_course
    written = written_answer_id(
        nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4))
    server = start_lab(lambda port: [sys.executable, "-m", "jupyterlab", "--no-browser",
                                     "--allow-root", "--ServerApp.ip=127.0.0.1",
                                     f"--ServerApp.port={port}",
                                     f"--ServerApp.root_dir={course}"], cwd=course)

    # Nbgrader > Formgrader opens Manage Assignments, which lists every assignment.
    open_lab(page, server.lab_url())
    menu(page, "Nbgrader", "Formgrader")
    formgrader = page.frame_locator("iframe").first
    rows = formgrader.locator("table tbody tr")
    for assignment in assignment_ids(course):
        rows.filter(has_text=assignment).first.wait_for()
    screenshot(page, "formgrader-1-manage-assignments")

    # Manual Grading > ex1 > its notebook > the submission.
    formgrader.get_by_role("link", name="Manual Grading").click()
    formgrader.get_by_role("link", name=ASSIGNMENT, exact=True).click()
    formgrader.locator("table").get_by_role("link", name=ASSIGNMENT, exact=True).click()
    formgrader.get_by_role("link", name="Submission #1").click()

    # The written answer's score box: type the score, leave the box (that saves it).
    score = formgrader.locator(f"input.score#{written}")
    score.scroll_into_view_if_needed()
    score.fill(str(SCORE))
    score.press("Tab")

    deadline = time.monotonic() + 30
    while True:
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
            grade = gradebook.find_grade(written, ASSIGNMENT, ASSIGNMENT, STUDENT)
            stored = grade.manual_score
        if stored == SCORE or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    screenshot(page, "formgrader-2-written-answer-scored")
    assert stored == SCORE, f"the gradebook holds {stored!r} for {written}, not {SCORE}"
