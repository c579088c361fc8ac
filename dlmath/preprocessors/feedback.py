"""Feedback that never shows hidden test code: preprocessors for nbgrader's GenerateFeedback.

nbgrader 0.9.6 renders the autograded notebook as it is, and autograding restores every test
cell from the source, hidden tests included: the feedback shows them, and the traceback of a
failing check quotes the test cell's lines around it. ``nbgrader_config.py`` adds these
preprocessors to ``GenerateFeedback.preprocessors``, so ``dlmath feedback`` and plain
``nbgrader generate_feedback`` both write feedback that shows the student's own work, the
scores, and each failing check's message, but no line of hidden test code.
"""

from __future__ import annotations

import re

from nbconvert.exporters.exporter import ResourcesDict
from nbformat import NotebookNode
from nbformat.v4 import new_markdown_cell
from nbgrader.api import Gradebook
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor
from traitlets import List

from dlmath.cells import is_test_cell

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
HIDDEN_NOTE = "# (hidden tests ran here; they are not shown)"
# The first line of dlmath.judge.judge's error output for an error raised in the student's code
# (not imported: nbgrader_config.py imports this module for every nbgrader command).
JUDGE_STUDENT_TRACEBACK = "Your code raised this error while a test called it:"


class _FeedbackStep(NbGraderPreprocessor):
    """Accepts the ``display_data_priority`` setting nbgrader gives every feedback step
    (``GetGrades`` declares it; same default), so these steps log no "not recognized"."""

    display_data_priority = List(["text/html", "application/pdf", "text/latex", "image/svg+xml",
                                  "image/png", "image/jpeg", "text/plain"],
                                 help="Output types in order of preference.").tag(config=True)


class HideHiddenTests(_FeedbackStep, ClearHiddenTests):
    """Remove hidden test regions from test cells, and test code from their tracebacks.

    A test cell's error output keeps only the exception and its message (the failing check
    says what it checked, what it expected and what it got); the frames, which quote the test
    cell's source, are dropped. Cells the student wrote keep their full tracebacks, and so
    does the grading judge's report of an error raised inside the student's own code.
    """

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict,
                        cell_index: int) -> tuple[NotebookNode, ResourcesDict]:
        """Strip one test cell; leave every other cell alone."""
        if not is_test_cell(cell):
            return cell, resources
        if self._remove_hidden_test_region(cell):
            cell.source = cell.source.rstrip() + "\n\n" + HIDDEN_NOTE
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and not _students_own(output):
                message = ANSI_ESCAPE.sub("", f"{output.ename}: {output.evalue}").rstrip()
                output.traceback = [message]
        return cell, resources


def _students_own(output: NotebookNode) -> bool:
    """Whether an error output is the grading judge's report of the student's own traceback
    (``dlmath.judge.judge.error_output``): it runs tests outside the student's kernel, so that
    traceback holds only the student's frames, worth showing."""
    traceback = output.get("traceback") or []
    return bool(traceback) and traceback[0] == JUDGE_STUDENT_TRACEBACK


class ProvisionalNotice(_FeedbackStep, NbGraderPreprocessor):
    """Say at the top of the feedback when a written answer has not been graded yet.

    nbgrader shows an ungraded written answer as 0 points, and the total with it; this adds a
    note so the student does not read a provisional total as final.
    """

    def preprocess(self, nb: NotebookNode,
                   resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        """Insert the note when any graded cell of this submission still needs a grader."""
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gradebook:
            notebook = gradebook.find_submission_notebook(info["notebook"], info["assignment"],
                                                          info["student"])
            pending = sorted(g.name for g in notebook.grades if g.needs_manual_grade)
        if pending:
            note = new_markdown_cell(
                "**Provisional score.** Your written answer has not been graded yet "
                f"({', '.join(pending)}); it counts as 0 in the score above until it is.")
            nb.cells.insert(0, note)
        return nb, resources
