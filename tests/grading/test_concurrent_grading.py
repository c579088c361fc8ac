"""Two TAs grade written answers, each in their own formgrader, while ``dlmath grade --force``
regrades the class, all on one gradebook.

Every request a TA's grading page would send must succeed the first time, every last score
and comment a TA wrote must be in the gradebook at the end, still marked graded, and every
submission must carry the regrade's autograded scores: no lost update, no "database is
locked", nothing to retry by hand. PostgreSQL gives exactly that. SQLite is run too, as the
reason to switch (README, "Several graders at once: PostgreSQL"): see ``SQLITE``.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import urllib.error
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from formgrader_api import Formgrader, formgrader
from nbgrader.api import Gradebook
from postgres_cluster import use_database

from dlmath.course import copy_course, open_api, repository_root
from dlmath.grading.pipeline import grade, read_scores
from grader_tests.students import load_variants, write_submission

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

ASSIGNMENT = "ex1_ill_conditioned_gd"
# Eight students: four variants twice (a copy's notebook is executed once).
VARIANTS = ["reference", "blank", "steps_off_by_one", "max_lr_one_over"]
STUDENTS = [f"{name}_{copy}" for name in VARIANTS for copy in (1, 2)]
GRADE_SECONDS = 600


@dataclass
class TeachingAssistant:
    """One TA grading a share of the class, round after round, until told to stop."""

    name: str
    api: Formgrader
    answers: dict[str, tuple[str, str]]  # student: (grade id, comment id) of the written answer
    scores: dict[str, float] = field(default_factory=dict)  # grade id: last score written
    comments: dict[str, str] = field(default_factory=dict)  # comment id: last comment written
    errors: list[str] = field(default_factory=list)
    writes: int = 0

    def grade_until(self, done: threading.Event) -> None:
        rounds = 0
        while not done.is_set() or rounds == 0:
            rounds += 1
            for student, (grade_id, comment_id) in self.answers.items():
                score, comment = rounds % 5 * 0.5, f"{self.name}, round {rounds}: {student}"
                try:
                    self.api.set_score(grade_id, score)
                    self.scores[grade_id] = score
                    self.api.set_comment(comment_id, comment)
                    self.comments[comment_id] = comment
                    self.writes += 2
                except (urllib.error.URLError, OSError) as error:
                    body = error.read().decode(errors="replace")[-300:] \
                        if isinstance(error, urllib.error.HTTPError) else ""
                    self.errors.append(f"{student}: {error} {body}")


def written_answers(url: str) -> dict[str, tuple[str, str]]:
    """Per student: the database ids of the written answer's grade and comment."""
    with Gradebook(url) as gradebook:
        ids = {}
        for student in STUDENTS:
            notebook = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
            grade_row, = [g for g in notebook.grades if g.cell.cell_type == "markdown"]
            comment, = [c for c in notebook.comments if c.cell.name == grade_row.cell.name]
            ids[student] = (grade_row.id, comment.id)
        return ids


@dataclass
class Run:
    """What happened: the regrade's process, the TAs, and the autograded scores before."""

    regrade: subprocess.CompletedProcess
    tas: list[TeachingAssistant]
    started: float  # when the regrade started (seconds since the epoch)
    first_scores: dict[str, float]


def run_class(course: Path, tmp_path: Path) -> Run:
    """Release, grade once, then regrade the class with two TAs at work."""
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    api = open_api(course)
    assert api.generate_assignment(ASSIGNMENT)["success"]
    variants = {v.name: v for v in load_variants(
        repository_root() / "grader_tests" / "variants", ASSIGNMENT)}
    for student in STUDENTS:
        write_submission(course, student, variants[student.rsplit("_", 1)[0]])
    grade(api, course, [ASSIGNMENT], workers=2)
    first_scores = autograded_scores(api.coursedir.db_url)
    ids = written_answers(api.coursedir.db_url)
    students = STUDENTS
    with formgrader(course, tmp_path / "ta1", tmp_path / "ta1.log") as first, \
            formgrader(course, tmp_path / "ta2", tmp_path / "ta2.log") as second:
        tas = [TeachingAssistant("TA 1", first, {s: ids[s] for s in students[0::2]}),
               TeachingAssistant("TA 2", second, {s: ids[s] for s in students[1::2]})]
        done = threading.Event()
        threads = [threading.Thread(target=ta.grade_until, args=(done,)) for ta in tas]
        started = time.time()
        regrade = subprocess.Popen(
            [sys.executable, "-m", "dlmath.cli.main", "--course", str(course), "grade",
             ASSIGNMENT, "--force", "--workers", "2"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for thread in threads:
            thread.start()
        try:
            out, err = regrade.communicate(timeout=GRADE_SECONDS)
        finally:
            done.set()
            for thread in threads:
                thread.join()
    return Run(subprocess.CompletedProcess(regrade.args, regrade.returncode, out, err), tas,
               started, first_scores)


def lost_updates(url: str, tas: list[TeachingAssistant]) -> list[str]:
    """Every TA write that is not in the gradebook (or no longer marked graded), by name."""
    lost = []
    with Gradebook(url) as gradebook:
        for ta in tas:
            for grade_id, score in ta.scores.items():
                row = gradebook.find_grade_by_id(grade_id)
                if (row.manual_score, row.needs_manual_grade) != (score, False):
                    lost.append(f"{ta.name}'s score {score} of {row.student.id}: the gradebook "
                                f"has {row.manual_score}, needs grading: {row.needs_manual_grade}")
            for comment_id, text in ta.comments.items():
                stored = gradebook.find_comment_by_id(comment_id).manual_comment
                if stored != text:
                    lost.append(f"{ta.name}'s comment {text!r}: the gradebook has {stored!r}")
    return lost


def autograded_scores(url: str) -> dict[str, float]:
    with Gradebook(url) as gradebook:
        return {s: sum(c.score for c in read_scores(gradebook, ASSIGNMENT, s) if c.autograded)
                for s in STUDENTS}


def test_tas_grade_while_the_class_is_regraded_on_postgresql(postgres_url: str,
                                                             tmp_path: Path) -> None:
    course = copy_course(repository_root(), tmp_path / "course")
    use_database(course, postgres_url)
    run = run_class(course, tmp_path)
    regrade, tas = run.regrade, run.tas

    assert "database is locked" not in regrade.stderr
    assert regrade.returncode in (0, 1), regrade.stderr  # 1: the blank submissions are flagged
    assert "could not be graded" not in regrade.stdout + regrade.stderr, regrade.stderr
    for ta in tas:
        assert ta.errors == [], f"{ta.name}'s requests failed: {ta.errors[:3]}"
        assert ta.writes >= 4 * len(ta.answers), f"{ta.name} wrote too little to race"
    assert lost_updates(postgres_url, tas) == []
    assert autograded_scores(postgres_url) == run.first_scores
    for student in STUDENTS:
        autograded = course / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        assert autograded.stat().st_mtime > run.started, f"{student} was not regraded"


def test_tmp_sqlite(tmp_path: Path) -> None:
    course = copy_course(repository_root(), tmp_path / "course")
    t0 = time.time()
    run = run_class(course, tmp_path)
    url = f"sqlite:///{course / 'gradebook.db'}"
    print("TIME", time.time() - t0, "regrade started at", run.started - t0)
    print("RC", run.regrade.returncode)
    print("STDERR", run.regrade.stderr[-3000:])
    print("STDOUT", run.regrade.stdout[-3000:])
    for ta in run.tas:
        print(ta.name, ta.writes, len(ta.errors), ta.errors[:5])
    print("LOST", lost_updates(url, run.tas))
    print("SCORES", autograded_scores(url), run.first_scores)
