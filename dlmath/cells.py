"""What each cell of a course notebook is, from its nbgrader metadata."""

from __future__ import annotations

from nbformat import NotebookNode


def is_test_cell(cell: NotebookNode) -> bool:
    """An autograder test cell: a locked, graded code cell that is not an answer."""
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution") \
        and bool(meta.get("grade_id"))


def is_given_cell(cell: NotebookNode) -> bool:
    """Given code: a locked code cell with an nbgrader id that is neither test nor answer."""
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("locked")) and bool(meta.get("grade_id")) \
        and not meta.get("grade") and not meta.get("solution")


def grade_id(cell: NotebookNode) -> str | None:
    """The cell's nbgrader id, or None (no or malformed nbgrader metadata)."""
    meta = cell.metadata.get("nbgrader")
    return meta.get("grade_id") if isinstance(meta, dict) else None
