"""Autograding submissions through nbgrader's Python API, and reading the scores back."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI
from sqlalchemy.exc import SAWarning

from dlmath.progress import Progress


@dataclass(frozen=True)
class CellScore:
    """The score of one graded cell of one submission."""

    name: str
    score: float
    max_score: float
    autograded: bool


@dataclass
class SubmissionResult:
    """The outcome of autograding one student's submission of one assignment."""

    assignment: str
    student: str
    ok: bool
    cells: list[CellScore] = field(default_factory=list)
    error: str = ""

    @property
    def auto_score(self) -> float:
        """Points from the autograded (code) test cells."""
        return sum(c.score for c in self.cells if c.autograded)

    @property
    def auto_max(self) -> float:
        """Points available from the autograded test cells."""
        return sum(c.max_score for c in self.cells if c.autograded)

    def score_of(self, cell: str) -> float:
        """The score of the named cell."""
        return next(c.score for c in self.cells if c.name == cell)


def submitted_students(course_root: Path, assignment: str) -> list[str]:
    """Students with a submission of ``assignment`` in ``submitted/``, sorted."""
    submitted = course_root / "submitted"
    if not submitted.is_dir():
        return []
    return sorted(p.name for p in submitted.iterdir() if (p / assignment).is_dir())


def read_scores(gradebook: Gradebook, assignment: str, student: str) -> list[CellScore]:
    """Per-cell scores of one submission, in notebook order, from the gradebook."""
    notebook = gradebook.find_submission_notebook(assignment, assignment, student)
    grades = sorted(notebook.grades, key=lambda g: g.cell.name)
    return [CellScore(name=g.name, score=float(g.score), max_score=float(g.max_score),
                      autograded=g.cell.cell_type == "code") for g in grades]


def grade(api: NbGraderAPI, course_root: Path, assignments: Iterable[str], *,
          students: Iterable[str] | None = None, force: bool = True,
          progress: Progress | None = None) -> list[SubmissionResult]:
    """Autograde every submission (or ``students``') of ``assignments``; one result each.

    A submission that nbgrader cannot grade is reported with ``ok=False`` and the
    error, and grading goes on with the next one.
    """
    wanted = set(students) if students is not None else None
    jobs = [(a, s) for a in assignments for s in submitted_students(course_root, a)
            if wanted is None or s in wanted]
    progress = progress or Progress(total=len(jobs), enabled=False)
    progress.start(len(jobs))
    results = []
    for assignment, student in jobs:
        progress.step(f"{assignment} {student}")
        with warnings.catch_warnings():
            # nbgrader 0.9.6 triggers SQLAlchemy 2 "not in session" warnings on every new
            # submission; they are harmless (the rows are added explicitly) and only noise.
            warnings.filterwarnings("ignore", message="Object of type <Submitted",
                                    category=SAWarning)
            outcome = api.autograde(assignment, student, force=force, create=True)
        result = SubmissionResult(assignment, student, ok=bool(outcome["success"]),
                                  error=outcome.get("error") or "")
        if result.ok:
            with Gradebook(api.coursedir.db_url) as gradebook:
                try:
                    result.cells = read_scores(gradebook, assignment, student)
                except MissingEntry as missing:
                    result.ok, result.error = False, f"no grades recorded: {missing}"
        results.append(result)
    progress.finish()
    return results
