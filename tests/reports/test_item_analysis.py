"""Item analysis: pass rates and points per test cell, score distributions, common failures."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import nbformat
import numpy as np
import pytest
from lms_course import EX1, EX2, db_url, graded_course
from nbformat.v4 import new_code_cell, new_notebook, new_output
from nbgrader.api import Gradebook

from dlmath.cli.main import EXIT_OK, main
from dlmath.reports.item_analysis import (
    CellStats,
    ExerciseStats,
    GroupsOf,
    ItemAnalysis,
    analyse,
    by_cell,
    harder_variants,
    render_html,
    terminal_summary,
)
from dlmath.variants.derive import student_key
from dlmath.variants.ex1 import GradientDescentProblem, ex1_parameters


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


def _class_of_ex1(fails: Callable[[GradientDescentProblem, np.random.Generator], bool],
                  size: int = 300) -> tuple[dict[str, ExerciseStats], GroupsOf]:
    """A simulated class's test_steps_to_tolerance results, each student failing it when
    ``fails(their numbers, rng)``, and the groups of their variants."""
    rng = np.random.default_rng(7)
    students = [f"s{n:04d}" for n in range(size)]
    problems = {s: ex1_parameters(student_key(b"item analysis secret", s)) for s in students}
    cell = CellStats(EX1, "test_steps_to_tolerance", 2.0)
    for student in students:
        cell.students.append(student)
        cell.scores.append(0.0 if fails(problems[student], rng) else 2.0)
        cell.rest.append(8.0)
    exercise = ExerciseStats(EX1, 10.0, cells={cell.cell: cell},
                             totals=[score + 8.0 for score in cell.scores])
    return {EX1: exercise}, lambda assignment, student: problems[student].groups()


def test_a_deliberately_harder_parameter_range_is_flagged() -> None:
    """Students with kappa = 12.5 fail 60% of the time, the others 15%: only that range is
    flagged; a class whose failures do not depend on the numbers raises nothing."""
    harder, groups = _class_of_ex1(lambda p, rng: rng.random() < (0.6 if p.kappa == 12.5
                                                                  else 0.15))
    flags = harder_variants(harder, groups)
    assert [(f.cell, f.parameter, f.value) for f in flags] == [
        ("test_steps_to_tolerance", "kappa", "12.5")]
    assert flags[0].passed / flags[0].n < 0.5 < flags[0].others_passed / flags[0].others_n
    chance, groups = _class_of_ex1(lambda p, rng: rng.random() < 0.3)
    assert harder_variants(chance, groups) == []
    summary = terminal_summary(ItemAnalysis(harder, Counter(), flags))
    assert "harder variants" in summary and "kappa = 12.5" in summary
    page = render_html(ItemAnalysis(harder, Counter(), flags))
    assert "Variants that look harder" in page and "kappa = 12.5" in page
