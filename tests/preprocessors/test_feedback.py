"""Feedback shows the student's work, scores and check messages, never hidden test code."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import nbformat
from lms_course import EX1, new_course
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbformat.v4 import new_output
from nbgrader.api import Gradebook
from nbgrader.preprocessors import GetGrades
from sqlalchemy.exc import SAWarning
from traitlets.config import Config

from dlmath.course import open_api, repository_root
from dlmath.preprocessors.feedback import HIDDEN_NOTE

SOURCE = repository_root() / "source" / EX1 / f"{EX1}.ipynb"
MESSAGE = ("Check failed: gradient_descent on a 3-D quadratic, x0=[2, -1, 3], lr=0.3, n_steps=7"
           "\n  expected: [[2., -1., 3.]]\n  got:      [[2., -1.]]")


def hidden_comments(nb: nbformat.NotebookNode) -> list[str]:
    """The comment lines inside hidden test regions (one highlighted span each in HTML)."""
    found = []
    for cell in nb.cells:
        inside = False
        for line in cell.source.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
            elif "END HIDDEN TESTS" in line:
                inside = False
            elif inside and line.strip().startswith("#"):
                found.append(line.strip())
    return found


def autograded_like(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The source notebook as autograding leaves it: a failing test cell whose traceback
    quotes its own hidden lines, as IPython's does."""
    test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id")
                == "test_gradient_descent_values")
    hidden = test.source.splitlines()[10:14]
    test.outputs = [new_output("error", ename="CheckFailed", evalue=MESSAGE, traceback=[
        "\x1b[31m---------------------------------------------------------------------\x1b[39m",
        "Cell In[3], line 15\n" + "\n".join(f"     {line}" for line in hidden),
        f"\x1b[31mCheckFailed\x1b[39m: {MESSAGE}"])]
    return nb


def feedback_text(tmp_path: Path, extra: Config | None = None) -> str:
    """The text of Aoife's ex1 feedback, written by nbgrader under the course config."""
    course = new_course(tmp_path)
    api = open_api(course, extra)
    assert api.generate_assignment(EX1)["success"]
    with Gradebook(api.coursedir.db_url) as gb, warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        gb.add_student("aobrien", first_name="Aoife", last_name="O'Brien")
        submission = gb.add_submission(EX1, "aobrien")
        for grade_row in submission.notebooks[0].grades:
            grade_row.auto_score = 0 if grade_row.cell.cell_type == "code" else None
            grade_row.needs_manual_grade = grade_row.cell.cell_type != "code"
        gb.db.commit()
    folder = course / "autograded" / "aobrien" / EX1
    folder.mkdir(parents=True)
    nbformat.write(autograded_like(nbformat.read(SOURCE, as_version=4)), folder / f"{EX1}.ipynb")
    assert api.generate_feedback(EX1)["success"]
    page = (course / "feedback" / "aobrien" / EX1 / f"{EX1}.html").read_text(encoding="utf-8")
    return re.sub(r"<[^>]+>", "", page).replace("&quot;", '"').replace("&#39;", "'")


def test_feedback_hides_hidden_tests_and_keeps_messages(tmp_path: Path) -> None:
    secrets = hidden_comments(nbformat.read(SOURCE, as_version=4))
    assert len(secrets) >= 3
    text = feedback_text(tmp_path)
    assert "BEGIN HIDDEN TESTS" not in text
    for secret in secrets:
        assert secret not in text, secret
    assert HIDDEN_NOTE in text
    # The check's message is the student's: it stays, without the frames quoting the cell.
    assert "Check failed: gradient_descent on a 3-D quadratic" in text
    assert "Cell In[3]" not in text
    assert "Provisional score" in text and "written_learning_rates" in text


def test_nbgraders_default_feedback_shows_them(tmp_path: Path) -> None:
    """What the course config fixes, measured with nbgrader 0.9.6's default preprocessors."""
    default = Config({"GenerateFeedback": {"preprocessors": [GetGrades,
                                                             CSSHTMLHeaderPreprocessor]}})
    text = feedback_text(tmp_path, default)
    assert "BEGIN HIDDEN TESTS" in text
    assert "Provisional score" not in text


def test_the_judges_report_of_the_students_own_traceback_is_kept() -> None:
    from dlmath.judge.judge import error_output
    from dlmath.preprocessors.feedback import JUDGE_STUDENT_TRACEBACK, HideHiddenTests

    error = ValueError("lr must be positive")
    error.student_traceback = "Cell In[2], line 4, in gradient_descent\nValueError: lr"
    cell = nbformat.v4.new_code_cell("check(...)\n### BEGIN HIDDEN TESTS\nsecret()\n"
                                     "### END HIDDEN TESTS", metadata={"nbgrader": {
                                         "grade": True, "solution": False, "grade_id": "t",
                                         "points": 1}})
    cell.outputs = [error_output(error)]
    assert cell.outputs[0].traceback[0] == JUDGE_STUDENT_TRACEBACK
    HideHiddenTests().preprocess_cell(cell, {}, 0)
    assert "secret" not in cell.source
    assert cell.outputs[0].traceback[1] == "Cell In[2], line 4, in gradient_descent"
