"""Item analysis: pass rates and points per test cell, score distributions, common failures."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from lms_course import EX1, EX2, db_url, graded_course
from nbformat.v4 import new_code_cell, new_notebook, new_output
from nbgrader.api import Gradebook

from dlmath.cli.main import EXIT_OK, main
from dlmath.reports.item_analysis import analyse, by_cell, render_html, terminal_summary


def failing_notebook(course: Path, student: str, assignment: str, message: str) -> None:
    cell = new_code_cell("check(...)", metadata={"nbgrader": {
        "grade": True, "solution": False, "grade_id": "test_b", "points": 4}})
    cell.outputs = [new_output("error", ename="CheckFailed", evalue=message + "\n  hint: x",
                               traceback=[])]
    folder = course / "autograded" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=[cell]), folder / f"{assignment}.ipynb")


@pytest.fixture
def course(tmp_path: Path) -> Path:
    course = graded_course(tmp_path)
    failing_notebook(course, "jdoe", EX1, "Check failed: f(0)")
    failing_notebook(course, "clefevre", EX1, "Check failed: f(0)")
    return course


def test_statistics_count_graded_submissions_only(course: Path) -> None:
    with Gradebook(db_url(course)) as gb:
        analysis = analyse(gb, course)
    cells = by_cell(analysis)
    # ex1: Jane (6, 2), Aoife (6, 4; written pending), Chloé (0, 0). José failed: left out.
    assert cells[(EX1, "test_a")].scores == [6.0, 0.0, 6.0]
    assert (cells[(EX1, "test_b")].passed, cells[(EX1, "test_b")].n) == (1, 3)
    assert cells[(EX1, "test_a")].pass_rate == pytest.approx(2 / 3)
    ex1 = analysis.exercises[EX1]
    assert sorted(ex1.totals) == [0.0, 9.0, 10.0]
    assert ex1.left_out == {"no submission": 2, "autograding failed": 1}
    assert analysis.exercises[EX2].left_out["not graded yet"] == 1
    assert analysis.failures[(EX1, "test_b", "Check failed: f(0)")] == 2


def test_report_page_and_summary(course: Path) -> None:
    with Gradebook(db_url(course)) as gb:
        analysis = analyse(gb, course)
    page = render_html(analysis)
    assert page.count("data:image/png;base64,") == 2
    assert "Most common failing checks" in page and "Check failed: f(0)" in page
    summary = terminal_summary(analysis)
    assert "test_b" in summary.split("hardest test cells")[1].splitlines()[2]
    assert "Check failed: f(0)" in summary


def test_report_command(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    dest = course.parent / "report" / "items.html"
    assert main(["--course", str(course), "report", "--to", str(dest)]) == EXIT_OK
    assert dest.is_file() and f"Report: {dest}" in capsys.readouterr().out


def test_failure_messages_holding_student_markup_are_escaped(tmp_path: Path) -> None:
    # A check's message quotes what the student's function returned: here, markup.
    course = graded_course(tmp_path)
    failing_notebook(course, "jdoe", EX1, 'Check failed: f("<img src=x onerror=alert(1)>")')
    with Gradebook(db_url(course)) as gradebook:
        page = render_html(analyse(gradebook, course))
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
