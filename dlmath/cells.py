"""What each cell of a course notebook is, from its nbgrader metadata: the one definition.

nbgrader marks cells with flags (``metadata.nbgrader``: ``solution``, ``grade``, ``locked``,
``grade_id``); the course gives the combinations four roles:

* a **test** cell: a graded code cell the student does not write (it holds the checks);
* an **answer** cell: a code cell the student writes (``solution``);
* a **written answer**: a markdown cell the student writes, graded by hand;
* **given** code: a locked code cell with an id that is neither (imports, helpers, data).

Any other cell (one a student added, teaching text) has no role. Malformed metadata (not a
dict) counts as none.
"""

from __future__ import annotations

from typing import Any

from nbformat import NotebookNode

TEST, ANSWER, WRITTEN_ANSWER, GIVEN = "test", "answer", "written answer", "given"


def _flags(cell: NotebookNode) -> dict[str, Any]:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def cell_role(cell: NotebookNode) -> str | None:
    """The cell's role: TEST, ANSWER, WRITTEN_ANSWER or GIVEN, or None (see the module doc)."""
    meta = _flags(cell)
    if meta.get("solution"):
        return ANSWER if cell.cell_type == "code" else \
            WRITTEN_ANSWER if cell.cell_type == "markdown" else None
    if cell.cell_type != "code" or not meta.get("grade_id"):
        return None
    if meta.get("grade"):
        return TEST
    return GIVEN if meta.get("locked") else None


def is_test_cell(cell: NotebookNode) -> bool:
    """An autograder test cell: a graded code cell with an id that is not an answer."""
    return cell_role(cell) == TEST


def is_given_cell(cell: NotebookNode) -> bool:
    """Given code: a locked code cell with an id that is neither test nor answer."""
    return cell_role(cell) == GIVEN


def is_answer_cell(cell: NotebookNode) -> bool:
    """A code cell the student writes."""
    return cell_role(cell) == ANSWER


def is_student_answer(cell: NotebookNode) -> bool:
    """A cell the student writes: code (an answer cell) or markdown (a written answer)."""
    return cell_role(cell) in (ANSWER, WRITTEN_ANSWER)


def grade_id(cell: NotebookNode) -> str | None:
    """The cell's nbgrader id, or None (no or malformed nbgrader metadata)."""
    return _flags(cell).get("grade_id")
