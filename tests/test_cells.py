"""Cell roles: the one definition every part of the grader uses."""

from __future__ import annotations

import nbformat
import pytest

from dlmath.cells import (
    ANSWER,
    GIVEN,
    TEST,
    WRITTEN_ANSWER,
    cell_role,
    grade_id,
    is_answer_cell,
    is_given_cell,
    is_student_answer,
    is_test_cell,
)


def code(**flags: object) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["nbgrader"] = flags
    return cell


def markdown(**flags: object) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_markdown_cell("Because ...")
    cell.metadata["nbgrader"] = flags
    return cell


@pytest.mark.parametrize(("cell", "role"), [
    (code(grade=True, solution=False, locked=True, grade_id="test_a", points=2), TEST),
    (code(grade=False, solution=True, locked=False, grade_id="answer_a"), ANSWER),
    # An answer cell that is also graded (nbgrader's "autograded answer") is still written
    # by the student.
    (code(grade=True, solution=True, locked=False, grade_id="answer_b"), ANSWER),
    (markdown(grade=True, solution=True, locked=False, grade_id="written", points=2),
     WRITTEN_ANSWER),
    (code(grade=False, solution=False, locked=True, grade_id="given"), GIVEN),
    (markdown(grade=False, solution=False, locked=True, grade_id="text"), None),
    (code(grade=True, solution=False, locked=True), None),  # a test cell needs an id
    (code(grade=False, solution=False, locked=False, grade_id="loose"), None),
    (nbformat.v4.new_code_cell("scratch = 1"), None),  # a cell the student added
])
def test_each_cell_has_one_role(cell: nbformat.NotebookNode, role: str | None) -> None:
    assert cell_role(cell) == role
    assert is_test_cell(cell) == (role == TEST)
    assert is_answer_cell(cell) == (role == ANSWER)
    assert is_given_cell(cell) == (role == GIVEN)
    assert is_student_answer(cell) == (role in (ANSWER, WRITTEN_ANSWER))


def test_malformed_metadata_has_no_role_and_no_id() -> None:
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["nbgrader"] = "grade_id=test_a"  # a student edited the metadata by hand
    assert cell_role(cell) is None
    assert grade_id(cell) is None
    assert grade_id(code(grade_id="test_a")) == "test_a"
