"""Summary tables line up and say which submissions could not be graded."""

from __future__ import annotations

from dlmath.grading.pipeline import CellScore, SubmissionResult
from dlmath.reports.tables import cell_table, format_table, student_table

RESULTS = [
    SubmissionResult("ex1", "s1", True, [CellScore("t_a", 2, 2, True), CellScore("t_b", 0, 3, True),
                                         CellScore("written", 0, 2, False)]),
    SubmissionResult("ex1", "s2", True, [CellScore("t_a", 2, 2, True),
                                         CellScore("t_b", 3, 3, True)]),
    SubmissionResult("ex1", "s3", False, error="kernel died"),
]


def test_format_table_right_aligns_numbers() -> None:
    assert format_table(["name", "n"], [["a", 1], ["bb", 10]]).splitlines() == [
        "name   n", "----  --", "a      1", "bb    10"]


def test_student_table_totals_and_errors() -> None:
    lines = student_table(RESULTS, {"s1": "Aoife O'Brien"}, ["ex1"]).splitlines()
    assert lines[2].split() == ["s1", "Aoife", "O'Brien", "2", "2"]
    assert lines[3].split() == ["s2", "5", "5"]
    assert lines[4].split() == ["s3", "ERROR", "0"]


def test_test_table_counts_passes_of_autograded_cells_only() -> None:
    rows = [line.split() for line in cell_table(RESULTS).splitlines()[2:]]
    assert rows == [["ex1", "t_a", "2", "2/2", "100%"], ["ex1", "t_b", "3", "1/2", "50%"]]
