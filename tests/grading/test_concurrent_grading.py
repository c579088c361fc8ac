"""Two TAs grade written answers, each in their own formgrader, while ``dlmath grade --force``
regrades the class, all on one gradebook.

The TAs stop halfway through the regrade, so autograde saves some submissions while they
write and the others after their last writes. Every request a TA's grading page would send
must succeed the first time, every last score and comment a TA wrote must be in the gradebook
at the end, still marked graded, and every submission must carry the regrade's autograded
scores: no lost update, no "database is
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
from formgrader_api import Formgrader, formgrader, written_answers
from nbgrader.api import Gradebook
from postgres_cluster import use_database

from dlmath.course import copy_course, open_api, repository_root
from dlmath.grading.pipeline import grade, read_scores
from grader_tests.students import load_variants, write_submission

pytestmark = pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")

ASSIGNMENT = "ex1_ill_conditioned_gd"
# Six students: three variants twice (a copy's notebook is executed once).
VARIANTS = ["reference", "blank", "steps_off_by_one"]
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
    written_at: list[float] = field(default_factory=list)  # when each write was answered

    def grade_until(self, done: threading.Event) -> None:
        rounds = 0
        while not done.is_set() or rounds == 0:
            rounds += 1
            for student, (grade_id, comment_id) in self.answers.items():
                score, comment = rounds % 5 * 0.5, f"{self.name}, round {rounds}: {student}"
                try:
                    self.api.set_score(grade_id, score)
                    self.scores[grade_id] = score
                    self.written_at.append(time.time())
                    self.api.set_comment(comment_id, comment)
                    self.comments[comment_id] = comment
                    self.written_at.append(time.time())
                except (urllib.error.URLError, OSError) as error:
                    body = error.read().decode(errors="replace")[-300:] \
                        if isinstance(error, urllib.error.HTTPError) else ""
                    self.errors.append(f"{student}: {error} {body}")


@dataclass
class Run:
    """What happened: the regrade's process, the TAs, and the autograded scores before."""

    regrade: subprocess.CompletedProcess
    tas: list[TeachingAssistant]
    started: float  # when the regrade started (seconds since the epoch)
    first_regraded: float  # when its first autograded notebook appeared
    stopped: float  # when the TAs were told to stop
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
    ids = written_answers(api.coursedir.db_url, ASSIGNMENT, STUDENTS)
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
            # The TAs stop once half the class is being regraded: autograde's writes for the
            # first half race theirs, and the second half's come after their last ones.
            deadline = time.monotonic() + GRADE_SECONDS
            first_regraded = None
            while regrade.poll() is None and time.monotonic() < deadline:
                regraded = regraded_since(course, started)
                first_regraded = first_regraded or (time.time() if regraded else None)
                if len(regraded) >= len(STUDENTS) // 2:
                    break
                time.sleep(0.05)
            done.set()
            stopped = time.time()
            out, err = regrade.communicate(timeout=GRADE_SECONDS)
        finally:
            done.set()
            if regrade.poll() is None:
                regrade.kill()
            for thread in threads:
                thread.join()
    return Run(subprocess.CompletedProcess(regrade.args, regrade.returncode, out, err), tas,
               started, first_regraded or stopped, stopped, first_scores)


def regraded_since(course: Path, since: float) -> list[str]:
    """The students whose autograded notebook was written after ``since`` (epoch seconds)."""
    autograded = course / "autograded"
    return [s for s in STUDENTS
            if (notebook := autograded / s / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
            and notebook.stat().st_mtime > since]


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


@pytest.fixture(params=["postgresql", "sqlite"])
def course(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A copy of the course on a PostgreSQL gradebook, or on the default SQLite one."""
    course = copy_course(repository_root(), tmp_path / "course")
    if request.param == "postgresql":
        use_database(course, request.getfixturevalue("postgres_url"))
    return course


def test_tas_grade_while_the_class_is_regraded(course: Path, tmp_path: Path) -> None:
    run = run_class(course, tmp_path)
    regrade, tas, url = run.regrade, run.tas, open_api(course).coursedir.db_url

    assert "database is locked" not in regrade.stderr
    assert regrade.returncode in (0, 1), regrade.stderr  # 1: the blank submissions are flagged
    assert "could not be graded" not in regrade.stdout + regrade.stderr, regrade.stderr
    for ta in tas:
        assert ta.errors == [], f"{ta.name}'s requests failed: {ta.errors[:3]}"
    assert lost_updates(url, tas) == []
    assert autograded_scores(url) == run.first_scores
    # Every submission was regraded; the TAs wrote while autograde wrote, and some
    # submissions were regraded after their last writes (which autograde had to keep).
    assert set(regraded_since(course, run.started)) == set(STUDENTS)
    assert regraded_since(course, run.stopped), "the TAs did not stop before the regrade ended"
    for ta in tas:
        racing = [t for t in ta.written_at if run.first_regraded <= t <= run.stopped]
        assert len(racing) >= 4, f"{ta.name} wrote {len(racing)} times while autograde ran"
