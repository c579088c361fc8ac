"""Whether each grade is final: the difference between a 0 and "we do not know yet".

nbgrader's gradebook alone cannot tell a genuine 0 from a submission whose autograding failed,
a written answer nobody has graded yet, work the LMS archive held but collecting could not
place, or a late penalty computed for a due date that has moved since. This module combines it
with ``submitted/`` (and its ``timestamp.txt`` files), with how the last ``dlmath grade`` run
of each submission ended (``grading_outcomes``) and with what collecting left out
(``collect.CollectRecord``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from traitlets.config import Config

from dlmath.grading.pipeline import (
    PENALTY_OUT_OF_DATE,
    Outcome,
    grading_outcomes,
    submission_digest,
    submission_folder,
    unreadable_time_note,
)
from dlmath.plugins.late_submission import UnreadableTime, penalty_basis, read_submission_time
from dlmath.plugins.zip_collect import CollectRecord

GRADED = "graded"
NO_SUBMISSION = "no submission"
NOT_GRADED = "not graded yet"
FAILED = "autograding failed"
CHANGED = "resubmitted since grading"
MANUAL_PENDING = "written answer not graded yet"
NOT_COLLECTED = "not collected"
PENALTY_STALE = "late penalty out of date"
TIME_UNREADABLE = "submission time unreadable"
ASSUMED_ON_TIME = "graded as on time (submission time unreadable)"
EXTENDED = "extension not over yet"

# A grade with one of these statuses is what the student gets; any other is not known yet.
FINAL = (GRADED, NO_SUBMISSION, ASSUMED_ON_TIME)


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
    detail: str = ""  # why it is not final, and notes (an extension, say) on any grade

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
                  students: Iterable[str] | None = None,
                  config: Config | None = None) -> list[GradeEntry]:
    """Every (assignment, student) of the gradebook and of ``submitted/``, with its status.

    Assignments come from the gradebook (those released); students from the gradebook and from
    ``submitted/``. ``assignments`` and ``students`` restrict the result when given. ``config``
    (the course's nbgrader configuration) gives the late policy and what an unreadable
    submission time means; without it, nbgrader's defaults.
    """
    config = config if config is not None else Config()
    wanted_a = set(assignments) if assignments else None
    wanted_s = set(students) if students else None
    submitted = _submitted(course_root)
    outcomes = grading_outcomes(course_root)
    student_ids = sorted({s.id for s in gradebook.students} | {s for _, s in submitted})
    entries = []
    for assignment in sorted(gradebook.assignments, key=lambda a: a.name):
        if wanted_a is not None and assignment.name not in wanted_a:
            continue
        left_out = _left_out(course_root, assignment.name)
        for student in student_ids:
            if wanted_s is not None and student not in wanted_s:
                continue
            entries.append(_entry(gradebook, course_root, assignment.name,
                                  float(assignment.max_score), student,
                                  (assignment.name, student) in submitted,
                                  outcomes.get((assignment.name, student)), left_out,
                                  config))
    return entries


@dataclass(frozen=True)
class _LeftOut:
    """What collecting ``assignment`` left out and nobody has resolved yet."""

    students: dict[str, str]  # student -> why their file was not collected
    unplaced: list[str]       # files of the archive no student was found for


def _left_out(course_root: Path, assignment: str) -> _LeftOut:
    record = CollectRecord.load(course_root, assignment)
    return _LeftOut(record.open_students(course_root, assignment),
                    record.open_unplaced(course_root, assignment))


def _entry(gradebook: Gradebook, course_root: Path, assignment: str, max_score: float,
           student: str, has_folder: bool, outcome: Outcome | None,
           left_out: _LeftOut, config: Config) -> GradeEntry:
    base = {"assignment": assignment, "student": student, "max_score": max_score}
    try:
        row = gradebook.find_submission(assignment, student)
    except MissingEntry:
        row = None
    notes = []
    if row is not None and row.extension is not None:
        notes.append(f"extension until {row.duedate:%Y-%m-%d %H:%M} UTC")
    if outcome is not None and not outcome.ok:
        error = (outcome.error.strip().splitlines() or ["unknown error"])[-1]
        return GradeEntry(status=FAILED, detail=error, **base)
    # A gradebook row that was never graded: `dlmath extend` made it for the extension.
    graded = row is not None and (outcome is not None or (
        course_root / "autograded" / student / assignment).is_dir())
    scored = {} if not graded else {
        "raw_score": float(row.score),
        "late_penalty": float(row.late_submission_penalty or 0.0),
        "timestamp": str(row.timestamp or "")}
    if student in left_out.students:
        # The LMS has work of this student that is not in submitted/ (any score is older).
        return GradeEntry(status=NOT_COLLECTED, detail=left_out.students[student], **base,
                          **scored)
    if not graded:
        if has_folder:
            return GradeEntry(status=NOT_GRADED, detail="in submitted/, not autograded yet",
                              **base)
        if left_out.unplaced:
            return GradeEntry(status=NOT_COLLECTED, detail=(
                f"nothing collected, and {len(left_out.unplaced)} file(s) of the LMS archive "
                "could not be placed, one may be this student's: "
                + ", ".join(left_out.unplaced)), **base)
        running = row is not None and row.extension is not None and \
            row.duedate > datetime.now(UTC).replace(tzinfo=None)
        return GradeEntry(status=EXTENDED if running else NO_SUBMISSION,
                          detail="; ".join(notes), **base)
    if (has_folder and outcome is not None
            and outcome.digest != submission_digest(course_root, assignment, student)):
        return GradeEntry(status=CHANGED, detail="submitted/ changed after the last grading",
                          **base, **scored)
    if outcome is not None and outcome.penalty_basis \
            and outcome.penalty_basis != penalty_basis(row, config):
        notes.insert(0, f"{PENALTY_OUT_OF_DATE}: run dlmath grade to recompute its late "
                        "penalty")
        return GradeEntry(status=PENALTY_STALE, detail="; ".join(notes), **base, **scored)
    folder = submission_folder(course_root, assignment, student)
    time = read_submission_time(folder) if has_folder else None
    if time is not None and time.problem:
        treat_as = UnreadableTime(config=config).treat_as
        notes.append(unreadable_time_note(time, folder.relative_to(course_root), treat_as))
        status = ASSUMED_ON_TIME if treat_as == "on time" else TIME_UNREADABLE
        if not row.needs_manual_grade or status == TIME_UNREADABLE:
            return GradeEntry(status=status, detail="; ".join(notes), **base, **scored)
    if row.needs_manual_grade:
        pending = sorted({g.name for nb in row.notebooks for g in nb.grades
                          if g.needs_manual_grade})
        notes.insert(0, "to grade by hand: " + ", ".join(pending))
        return GradeEntry(status=MANUAL_PENDING, detail="; ".join(notes), **base, **scored)
    return GradeEntry(status=GRADED, detail="; ".join(notes), **base, **scored)
