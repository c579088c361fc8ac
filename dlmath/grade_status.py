"""Whether each grade is final: the difference between a 0 and "we do not know yet".

nbgrader's gradebook alone cannot tell a genuine 0 from a submission whose autograding failed
or a written answer nobody has graded yet. This module combines it with ``submitted/`` and
with how the last ``dlmath grade`` run of each submission ended (``grading_outcomes``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from dlmath.grading import Outcome, grading_outcomes, submission_digest

GRADED = "graded"
NO_SUBMISSION = "no submission"
NOT_GRADED = "not graded yet"
FAILED = "autograding failed"
CHANGED = "resubmitted since grading"
MANUAL_PENDING = "written answer not graded yet"

# A grade with one of these statuses is what the student gets; any other is not known yet.
FINAL = (GRADED, NO_SUBMISSION)


@dataclass(frozen=True)
class GradeEntry:
    """One student's grade for one assignment, and whether it is final."""

    assignment: str
    student: str
    status: str
    max_score: float
    raw_score: float | None = None
    late_penalty: float = 0.0
    timestamp: str = ""
    detail: str = ""

    @property
    def final(self) -> bool:
        """Whether this grade is what the student gets (a missing submission counts 0)."""
        return self.status in FINAL

    @property
    def score(self) -> float | None:
        """The score after the late penalty: 0 without a submission, None if not known."""
        if self.status == NO_SUBMISSION:
            return 0.0
        if self.raw_score is None:
            return None
        return max(0.0, self.raw_score - self.late_penalty)


def _submitted(course_root: Path) -> set[tuple[str, str]]:
    folder = course_root / "submitted"
    if not folder.is_dir():
        return set()
    return {(a.name, s.name) for s in folder.iterdir() if s.is_dir()
            for a in s.iterdir() if a.is_dir()}


def grade_entries(gradebook: Gradebook, course_root: Path,
                  assignments: Iterable[str] | None = None,
                  students: Iterable[str] | None = None) -> list[GradeEntry]:
    """Every (assignment, student) of the gradebook and of ``submitted/``, with its status.

    Assignments come from the gradebook (those released); students from the gradebook and from
    ``submitted/``. ``assignments`` and ``students`` restrict the result when given.
    """
    wanted_a = set(assignments) if assignments else None
    wanted_s = set(students) if students else None
    submitted = _submitted(course_root)
    outcomes = grading_outcomes(course_root)
    student_ids = sorted({s.id for s in gradebook.students} | {s for _, s in submitted})
    entries = []
    for assignment in sorted(gradebook.assignments, key=lambda a: a.name):
        if wanted_a is not None and assignment.name not in wanted_a:
            continue
        for student in student_ids:
            if wanted_s is not None and student not in wanted_s:
                continue
            entries.append(_entry(gradebook, course_root, assignment.name,
                                  float(assignment.max_score), student,
                                  (assignment.name, student) in submitted,
                                  outcomes.get((assignment.name, student))))
    return entries


def _entry(gradebook: Gradebook, course_root: Path, assignment: str, max_score: float,
           student: str, has_folder: bool, outcome: Outcome | None) -> GradeEntry:
    base = {"assignment": assignment, "student": student, "max_score": max_score}
    try:
        submission = gradebook.find_submission(assignment, student)
    except MissingEntry:
        submission = None
    if outcome is not None and not outcome.ok:
        error = (outcome.error.strip().splitlines() or ["unknown error"])[-1]
        return GradeEntry(status=FAILED, detail=error, **base)
    if submission is None:
        if has_folder:
            return GradeEntry(status=NOT_GRADED, detail="in submitted/, not autograded yet",
                              **base)
        return GradeEntry(status=NO_SUBMISSION, **base)
    scored = {"raw_score": float(submission.score),
              "late_penalty": float(submission.late_submission_penalty or 0.0),
              "timestamp": str(submission.timestamp or "")}
    if (has_folder and outcome is not None
            and outcome.digest != submission_digest(course_root, assignment, student)):
        return GradeEntry(status=CHANGED, detail="submitted/ changed after the last grading",
                          **base, **scored)
    if submission.needs_manual_grade:
        pending = sorted({g.name for nb in submission.notebooks for g in nb.grades
                          if g.needs_manual_grade})
        return GradeEntry(status=MANUAL_PENDING, detail="to grade by hand: " + ", ".join(pending),
                          **base, **scored)
    return GradeEntry(status=GRADED, **base, **scored)
