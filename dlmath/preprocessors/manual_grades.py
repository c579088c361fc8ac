"""``KeepManualGrades`` (replaces nbgrader's ``SaveAutoGrades``): hand grades survive regrading.

It saves the autograded scores, and leaves an answer a grader scored by hand graded while the
answer is unchanged.
"""

import hashlib
import json
from pathlib import Path

from nbconvert.exporters.exporter import ResourcesDict
from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.preprocessors import SaveAutoGrades

from dlmath.cells import is_student_answer
from dlmath.judge import integrity
from dlmath.judge.integrity import Finding


def answers_record(course_root: str | Path, assignment: str, student: str) -> Path:
    """Where ``KeepManualGrades`` keeps a digest of each answer as it was last autograded."""
    return Path(course_root) / ".dlmath" / "answers" / assignment / f"{student}.json"


def answer_digest(cell: NotebookNode) -> str:
    """A digest of an answer cell's text, to tell whether it changed."""
    return hashlib.sha256(cell.source.encode()).hexdigest()


class KeepManualGrades(SaveAutoGrades):
    """nbgrader's ``SaveAutoGrades``, but an answer scored by hand stays graded while unchanged.

    On every autograde nbgrader marks each cell that has a manual score as needing grading
    again, so regrading (``dlmath grade --force``, ``nbgrader autograde --force``) turns a
    written answer a TA graded back into "not graded yet", and exports then leave its grade
    blank. This keeps the manual score, comment and graded status of an answer whose text is
    what it was at the last autograde (which is what the grader saw). An answer that changed
    needs grading again, and a finding names it. The digests live in
    ``.dlmath/answers/<assignment>/<student>.json`` of the course folder.
    """

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict
                   ) -> tuple[NotebookNode, ResourcesDict]:
        """Save the grades of ``nb`` and record the digest of each answer."""
        from nbgrader.coursedir import CourseDirectory

        from dlmath.course import write_atomically

        info = resources["nbgrader"]
        record = answers_record(CourseDirectory(config=self.config).root, info["assignment"],
                                info["student"])
        self._before: dict[str, str] | None = (json.loads(record.read_text())
                                               if record.is_file() else None)
        self._answers: dict[str, str] = {}
        self._nb = nb
        nb, resources = super().preprocess(nb, resources)
        record.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(record, json.dumps(self._answers, indent=1, sort_keys=True))
        return nb, resources

    def _add_score(self, cell: NotebookNode, resources: ResourcesDict) -> None:
        # nbgrader's SaveAutoGrades._add_score, in one transaction that holds the grade's row
        # from the read to the commit (SELECT ... FOR UPDATE on PostgreSQL): a grader who
        # saves this cell's score in the formgrader meanwhile waits for the commit, then
        # their score and "graded" mark apply; read unlocked and written later, they were
        # overwritten with what was read (a lost update). SQLite has no row locks: there the
        # window from read to commit (a fraction of a millisecond) stays open.
        name = cell.metadata.nbgrader["grade_id"]
        grade = self.gradebook.find_grade(name, self.notebook_id, self.assignment_id,
                                          self.student_id)
        self.gradebook.db.refresh(grade, with_for_update=True)
        grade.auto_score, _ = utils.determine_grade(cell, self.log)
        # nbgrader's rule: a grader's score, or no automatic one, needs review again ...
        needs_review = grade.manual_score is not None or grade.auto_score is None
        if is_student_answer(cell):  # (a test cell's override is reviewed again, as nbgrader)
            self._answers[name] = answer_digest(cell)
            if grade.manual_score is not None:
                if self._before is not None and self._before.get(name) == self._answers[name]:
                    needs_review = grade.needs_manual_grade  # ... but an unchanged answer not
                else:
                    why = ("changed since a grader scored it" if self._before is not None else
                           "may have changed since a grader scored it (no record of the "
                           "graded text)")
                    integrity.record(self._nb, Finding(
                        "manual grade", name, f"the answer {why}: the score "
                        f"{grade.manual_score:g} is kept until it is graded again in the "
                        "formgrader"))
        grade.needs_manual_grade = needs_review
        self.gradebook.db.commit()
