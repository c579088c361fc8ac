"""The field cases of tests/data/field/cases/, each run as its README says, with its siblings.

Each case is a situation instructors reported for nbgrader, reproduced against this course
(its README: situation, how to run, expected, what happened before). Every test runs the
README's commands on a fresh course (``dlmath`` in-process, nbgrader and the case's own
scripts as the commands they are) and checks what the README expects, then the neighbours
of the case: the same kind of input in other shapes.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from nbgrader.utils import parse_utc

from dlmath.cells import grade_id, is_student_answer
from dlmath.cli.main import EXIT_ATTENTION, EXIT_OK, main
from dlmath.course import copy_course, open_api, repository_root
from dlmath.student.lab import VISIBLE_CHECKS_PASSED, lab_command, prepare_student_copy

REPO = repository_root()
CASES = Path(__file__).parent / "data" / "field" / "cases"
EX1 = "ex1_ill_conditioned_gd"
NOTEBOOK = f"{EX1}.ipynb"
NBGRADER = str(Path(sys.executable).parent / "nbgrader")
SUCCESS = "Success! Your notebook passes all the tests."


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands run in the test's folder (exports write into the current folder)."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A course with ex1 released (and in its gradebook), copied by each test."""
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    course = copy_course(REPO, tmp_path_factory.mktemp("field") / "course")
    assert open_api(course).generate_assignment(EX1)["success"]
    return course


CourseWith = Callable[[str, dict[str, str | None]], Path]


@pytest.fixture
def course_with(released: Path, tmp_path: Path) -> CourseWith:
    """``course_with(case, students)``: a fresh copy of the released course in which each
    student handed in ``case``'s notebook, with the given timestamp.txt text (None: the
    case's own file, if it has one)."""
    return partial(_course_with, released, tmp_path / "course")


def _course_with(released: Path, course: Path, case: str,
                 students: dict[str, str | None]) -> Path:
    shutil.copytree(released, course)
    handed_in = on_current_release(nbformat.read(CASES / case / NOTEBOOK, as_version=4),
                                   released / "release" / EX1 / NOTEBOOK)
    for student, timestamp in students.items():
        folder = course / "submitted" / student / EX1
        folder.mkdir(parents=True)
        nbformat.write(handed_in, folder / NOTEBOOK)
        if timestamp is not None:
            (folder / "timestamp.txt").write_text(timestamp)
        elif (CASES / case / "timestamp.txt").is_file():
            shutil.copyfile(CASES / case / "timestamp.txt", folder / "timestamp.txt")
    return course


def on_current_release(case: nbformat.NotebookNode, release: Path) -> nbformat.NotebookNode:
    """The case's notebook with its locked cells as the current release has them.

    The cases were handed in on an earlier release of ex1, whose task text and test cells have
    changed since; what each case is about (answers, deleted or added cells, the order) is kept.
    The grader would rightly flag those old locked cells as edited (validation of the raw
    notebook, in test_validate_success_hidden_fail, still runs the old test cells).
    """
    current = {grade_id(cell): cell for cell in nbformat.read(release, as_version=4).cells
               if grade_id(cell) is not None}
    case.cells = [cell if grade_id(cell) not in current or is_student_answer(cell)
                  else current[grade_id(cell)] for cell in case.cells]
    return case


def dlmath(course: Path, *args: str) -> int:
    """The dlmath command on ``course``; exports go to the course folder."""
    if args[0] == "export" and "--to" not in args:
        args = (*args, "--to", str(course / "grades.csv"))
    return main(["--course", str(course), *args])


def set_due_date(course: Path, due: str) -> None:
    """What the READMEs' `nbgrader db assignment add ex1 --duedate=...` does, in-process."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        gradebook.update_or_create_assignment(EX1, duedate=parse_utc(due))


def grades_csv(course: Path) -> dict[str, dict[str, str]]:
    """`dlmath export --format csv`'s rows by student (the export must have run)."""
    with (course / "grades.csv").open(encoding="utf-8") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def canvas_cells(course: Path) -> dict[str, str]:
    """What `dlmath export --format canvas` writes for ex1, by student (no roster: the
    student column holds the id)."""
    dlmath(course, "export", "--format", "canvas", "--to", str(course / "canvas.csv"))
    with (course / "canvas.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[2:]  # after the header and "Points Possible"
    return {row[0]: row[5] for row in rows}


def status_csv(course: Path) -> dict[str, dict[str, str]]:
    path = course / "grades-status.csv"
    if not path.is_file():
        return {}
    with path.open(encoding="utf-8") as handle:
        return {row["student_id"]: row for row in csv.DictReader(handle)}


def written_grade(course: Path, student: str) -> tuple[float | None, bool, str | None]:
    """The written answer's (manual score, needs manual grade, manual comment)."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        grade = gradebook.find_grade("written_learning_rates", EX1, EX1, student)
        comment = gradebook.find_comment("written_learning_rates", EX1, EX1, student)
        return grade.manual_score, grade.needs_manual_grade, comment.manual_comment


def test_deleted_written_answer(course_with: CourseWith,
                                capsys: pytest.CaptureFixture[str]) -> None:
    """README: the 10 autograded points, the written answer restored empty (0), flagged.
    Siblings (other cells deleted, metadata lost, empty notebooks): test_preprocessors.py."""
    course = course_with("deleted_written_answer", {"s0000001": None})
    assert dlmath(course, "grade", EX1) == EXIT_ATTENTION  # flagged for review
    out = capsys.readouterr().out
    assert "KeyError" not in out
    flagged = next(line for line in out.splitlines() if line.startswith("s0000001")
                   and "written_learning_rates" in line)
    assert "restored empty" in flagged
    assert dlmath(course, "export", "--format", "csv") == EXIT_OK
    row = grades_csv(course)["s0000001"]
    assert (row["raw_score"], row["score"], row["status"]) == ("10.0", "10.0", "graded")
    assert written_grade(course, "s0000001")[1] is False  # 0 points, nothing left to grade


def test_manual_grade_after_regrade(course_with: CourseWith,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    """README: an unchanged, already graded written answer stays graded after a regrade."""
    course = course_with("manual_grade_after_regrade",
                         {"s0000001": None, "s0000002": None})
    assert dlmath(course, "grade", EX1) == EXIT_OK
    subprocess.run([sys.executable, CASES / "manual_grade_after_regrade" / "set_manual_grade.py"],
                   cwd=course, check=True, capture_output=True)
    # (Every export exits 1: the second student's written answer is still to be graded.)
    assert dlmath(course, "export", "--format", "csv") == EXIT_ATTENTION
    assert grades_csv(course)["s0000001"]["score"] == "11.5"

    assert dlmath(course, "grade", EX1, "--force") == EXIT_OK
    assert dlmath(course, "export", "--format", "csv") == EXIT_ATTENTION
    row = grades_csv(course)["s0000001"]
    assert (row["score"], row["status"]) == ("11.5", "graded")
    assert written_grade(course, "s0000001") == (
        1.5, False, "Good factors; the reason 0.05 wins is missing.")

    # Plain nbgrader's regrade keeps it too (the course config's KeepManualGrades).
    subprocess.run([NBGRADER, "autograde", EX1, "--force"], cwd=course, check=True,
                   capture_output=True)
    assert written_grade(course, "s0000001")[:2] == (1.5, False)

    # The student hands in a changed written answer: graded again by hand, and said by name.
    path = course / "submitted" / "s0000001" / EX1 / NOTEBOOK
    nb = nbformat.read(path, as_version=4)
    next(c for c in nb.cells if grade_id(c) == "written_learning_rates").source += " Also..."
    nbformat.write(nb, path)
    capsys.readouterr()
    assert dlmath(course, "grade", EX1) == EXIT_ATTENTION
    report = [line for line in capsys.readouterr().out.splitlines() if "manual grade" in line]
    assert len(report) == 1 and report[0].startswith("s0000001")
    assert "written_learning_rates" in report[0] and "changed since a grader scored it" in \
        report[0]
    assert written_grade(course, "s0000001")[:2] == (1.5, True)
    assert dlmath(course, "export", "--format", "csv") == EXIT_ATTENTION
    assert grades_csv(course)["s0000001"]["status"] == "written answer not graded yet"
    # The other student was never graded by hand: untouched, still waiting for a grader.
    assert written_grade(course, "s0000002")[:2] == (None, True)


def test_extension_after_grading(course_with: CourseWith,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    """README: no penalty once the due date is after the submission; here also a per-student
    extension (`dlmath extend`) and a changed late policy."""
    late = "2026-03-22 10:30:00.000000 UTC"
    course = course_with("extension_after_grading",
                         {"s0000001": None, "s0000002": late, "s0000003": late})
    set_due_date(course, "2026-03-20 23:59 UTC")
    assert dlmath(course, "grade", EX1) == EXIT_OK
    assert dlmath(course, "export", "--format", "csv") == EXIT_OK
    assert {s: r["score"] for s, r in grades_csv(course).items()} == {
        "s0000001": "8.0", "s0000002": "8.0", "s0000003": "8.0"}  # 2 days late: 20% off

    # The README's step: the due date moves; before `dlmath grade` the export says the
    # penalty is out of date instead of writing it.
    set_due_date(course, "2026-03-23 23:59 UTC")
    assert dlmath(course, "export", "--format", "csv") == EXIT_ATTENTION
    assert grades_csv(course)["s0000001"]["status"] == "late penalty out of date"
    assert canvas_cells(course)["s0000001"] == ""  # not the stale 8
    capsys.readouterr()
    assert dlmath(course, "grade", EX1) == EXIT_OK
    out = capsys.readouterr().out
    assert out.count("recomputed its late penalty") == 3
    assert dlmath(course, "export", "--format", "csv") == EXIT_OK
    assert {r["score"] for r in grades_csv(course).values()} == {"10.0"}

    # Back to the old due date, and one student gets an extension with `dlmath extend`.
    set_due_date(course, "2026-03-20 23:59 UTC")
    assert dlmath(course, "extend", "s0000002", EX1, "--until", "2026-03-22 12:00 UTC") == \
        EXIT_OK
    assert "may hand in until 2026-03-22 12:00 UTC" in capsys.readouterr().out
    assert dlmath(course, "grade", EX1) == EXIT_OK
    assert dlmath(course, "export", "--format", "csv") == EXIT_OK
    assert {s: r["score"] for s, r in grades_csv(course).items()} == {
        "s0000001": "8.0", "s0000002": "10.0", "s0000003": "8.0"}
    assert status_csv(course)["s0000002"]["detail"] == "extension until 2026-03-22 12:00 UTC"

    # A harsher late policy in the course config: the next grade recomputes it.
    with (course / "nbgrader_config.py").open("a") as config:
        config.write("\nc.LatePenaltyPolicy.per_day = 0.25\n")
    assert dlmath(course, "export", "--format", "csv") == EXIT_ATTENTION
    assert dlmath(course, "grade", EX1) == EXIT_OK
    assert dlmath(course, "export", "--format", "csv") == EXIT_OK
    assert {s: r["score"] for s, r in grades_csv(course).items()} == {
        "s0000001": "5.0", "s0000002": "10.0", "s0000003": "5.0"}

    # Taking the extension back, and extensions that cannot be.
    assert dlmath(course, "extend", "s0000002", EX1, "--remove") == EXIT_OK
    assert dlmath(course, "grade", EX1) == EXIT_OK
    assert dlmath(course, "export", "--format", "csv") == EXIT_OK
    assert grades_csv(course)["s0000002"]["score"] == "5.0"
    capsys.readouterr()
    assert dlmath(course, "extend", "s0000002", EX1, "--until", "2026-03-19") == 2
    assert "not after the due date" in capsys.readouterr().err
    assert dlmath(course, "extend", "s0000002", EX1, "--until", "soon") == 2
    assert "'soon' is no date and time" in capsys.readouterr().err
    assert dlmath(course, "extend", "nobody", EX1, "--until", "2026-03-25") == 2
    assert "unknown student 'nobody'" in capsys.readouterr().err


def test_an_extension_before_the_student_hands_in(course_with: CourseWith) -> None:
    """A student with a running extension and no submission yet has no 0 in the export."""
    course = course_with("extension_after_grading", {})
    set_due_date(course, "2026-03-20 23:59 UTC")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        gradebook.add_student("s0000009")
    assert dlmath(course, "extend", "s0000009", EX1, "--until", "2099-01-01 00:00 UTC") == EXIT_OK
    assert dlmath(course, "export", "--format", "csv") == EXIT_ATTENTION
    row = grades_csv(course)["s0000009"]
    assert (row["score"], row["status"]) == ("", "extension not over yet")


BAD_TIMES = {  # student -> timestamp.txt (None: the case's own file, free text)
    "s0000001": None,
    "s0000002": "",
    "s0000003": "2026-03-22 10:30:00.000000 CEST",  # nbgrader would read it as UTC
    "s0000004": "2099-01-01 00:00:00 UTC",
    "s0000005": "Monday",  # nbgrader would read it as this week's Monday
}


def test_bad_timestamp(course_with: CourseWith,
                       capsys: pytest.CaptureFixture[str]) -> None:
    """README: graded, with a warning that the time is unreadable (no penalty computed)."""
    course = course_with("bad_timestamp", {
        **BAD_TIMES, "s0000006": "2026-03-22 12:30:00 +0200"})
    set_due_date(course, "2026-03-20 23:59 UTC")
    assert dlmath(course, "grade", EX1) == EXIT_ATTENTION
    out = capsys.readouterr().out
    assert "NOT GRADED" not in out and "AttributeError" not in out
    unreadable = {line.split()[0] for line in out.splitlines()
                  if "unreadable submission time" in line}
    assert unreadable == set(BAD_TIMES)
    assert dlmath(course, "export", "--format", "csv") == EXIT_ATTENTION
    err = capsys.readouterr().err
    rows = grades_csv(course)
    for student in BAD_TIMES:
        assert (rows[student]["score"], rows[student]["late_submission_penalty"]) == \
            ("10.0", "0.0"), student
        assert rows[student]["status"] == "graded as on time (submission time unreadable)"
        assert f"ON TIME ASSUMED: {student} {EX1}" in err
    # A numeric time zone nbgrader misreads (as 200 seconds) is read right: 2 days late.
    assert (rows["s0000006"]["timestamp"], rows["s0000006"]["score"]) == (
        "2026-03-22 10:30:00", "8.0")

    # The instructor writes the real time into one file; the next run grades it late.
    (course / "submitted" / "s0000001" / EX1 / "timestamp.txt").write_text(
        "2026-03-22 10:30:00 UTC")
    assert dlmath(course, "grade", EX1) == EXIT_ATTENTION  # the others are still flagged
    assert dlmath(course, "export", "--format", "csv") == EXIT_ATTENTION
    assert (grades_csv(course)["s0000001"]["score"], grades_csv(course)["s0000001"]["status"]) \
        == ("8.0", "graded")
    # A time that becomes unreadable later does not keep the old one's penalty.
    (course / "submitted" / "s0000001" / EX1 / "timestamp.txt").write_text("see e-mail")
    dlmath(course, "grade", EX1)
    dlmath(course, "export", "--format", "csv")
    assert (grades_csv(course)["s0000001"]["score"], grades_csv(course)["s0000001"]["timestamp"]
            ) == ("10.0", "")

    # An instructor who wants unreadable times held back: the export leaves them blank.
    with (course / "nbgrader_config.py").open("a") as config:
        config.write('\nc.UnreadableTime.treat_as = "not final"\n')
    assert dlmath(course, "export", "--format", "csv") == EXIT_ATTENTION
    rows = grades_csv(course)
    assert {rows[s]["status"] for s in BAD_TIMES} == {"submission time unreadable"}
    assert {canvas_cells(course)[s] for s in BAD_TIMES} == {""}


def test_validate_success_hidden_fail(tmp_path: Path, course_with: CourseWith,
                                      monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """README: a message that says only the visible checks passed; grading then gives 9/10."""
    copy = prepare_student_copy(REPO, tmp_path / "student")
    (copy.root / EX1).mkdir()
    shutil.copyfile(CASES / "validate_success_hidden_fail" / NOTEBOOK, copy.root / EX1 / NOTEBOOK)
    monkeypatch.chdir(copy.root)  # where the student's nbgrader_config.py is
    assert main(["validate", f"{EX1}/{NOTEBOOK}"]) == EXIT_OK
    said = " ".join(capsys.readouterr().out.split())
    assert SUCCESS not in said
    assert VISIBLE_CHECKS_PASSED in said and "hidden checks also run" in said
    # The Validate button's dialog in JupyterLab says the same (tests/browser checks it shown).
    assert VISIBLE_CHECKS_PASSED in (copy.jupyter_config / "custom" / "custom.css").read_text()
    assert "--LabApp.custom_css=True" in lab_command(copy, ip="127.0.0.1", port=None,
                                                     open_browser=False)

    course = course_with("validate_success_hidden_fail", {"s0000001": None})
    assert dlmath(course, "grade", EX1) == EXIT_OK
    table = capsys.readouterr().out
    assert next(line for line in table.splitlines() if line.startswith("s0000001")).split()[1] \
        == "9"
    assert "test_max_stable_lr                   1  0/1" in table


def test_matplotlib_notebook_backend(course_with: CourseWith) -> None:
    """README: 10/10 and the student's plot visible in feedback, for any backend chosen."""
    course = course_with("matplotlib_notebook_backend",
                         {"notebook": None, "widget": None, "qt": None})
    for student, backend in (("widget", "widget"), ("qt", "qt")):
        path = course / "submitted" / student / EX1 / NOTEBOOK
        path.write_text(path.read_text().replace("%matplotlib notebook", f"%matplotlib {backend}"))
    assert dlmath(course, "grade", EX1) == EXIT_OK
    assert dlmath(course, "feedback", EX1) == EXIT_OK
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in ("notebook", "widget", "qt"):
            submission = gradebook.find_submission(EX1, student)
            assert sum(nb.code_score for nb in submission.notebooks) == 10, student
            page = (course / "feedback" / student / EX1 / f"{EX1}.html").read_text()
            assert page.count('src="data:image/png') == 1, student  # the "Try it" figure
            assert "mpl.figure" not in page, student  # no nbagg JavaScript
