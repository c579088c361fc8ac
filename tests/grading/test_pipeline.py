"""The grading pipeline: skipping unchanged work, resuming after an interruption, replacing a
worker that died."""

from __future__ import annotations

import os
import shutil
import signal
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest

import dlmath.grading.pipeline
from dlmath.course import copy_course, open_api, repository_root
from dlmath.grading.executors import LocalWorkers
from dlmath.grading.pipeline import grade
from dlmath.grading.workers import ExecutionJob, ExecutionResult, execute_job
from grader_tests.students import load_variants, write_submission

ASSIGNMENT = "ex1_ill_conditioned_gd"


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A released ex1 with three submissions: reference, blank and one mistake."""
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    course = copy_course(repository_root(), tmp_path / "course")
    assert open_api(course).generate_assignment(ASSIGNMENT)["success"]
    variants = {v.name: v for v in load_variants(repository_root() / "grader_tests" / "variants",
                                                  ASSIGNMENT)}
    for name in ("reference", "blank", "steps_off_by_one"):
        write_submission(course, name, variants[name])
    return course


def scores(results: list) -> dict[str, float]:
    return {r.student: r.auto_score for r in results if r.ok}


def test_unchanged_submissions_are_skipped_and_changed_ones_regraded(course: Path) -> None:
    api = open_api(course)
    first = grade(api, course, [ASSIGNMENT], workers=2)
    assert scores(first) == {"reference": 10, "blank": 0, "steps_off_by_one": 8}
    assert not any(r.skipped for r in first)

    second = grade(api, course, [ASSIGNMENT], workers=2)
    assert all(r.skipped for r in second) and scores(second) == scores(first)

    # The blank student now hands in the reference solution.
    submitted = course / "submitted"
    (submitted / "blank" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").write_bytes(
        (submitted / "reference" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_bytes())
    third = grade(api, course, [ASSIGNMENT], workers=2)
    assert {r.student for r in third if not r.skipped} == {"blank"}
    assert scores(third)["blank"] == 10

    forced = grade(api, course, [ASSIGNMENT], workers=2, force=True)
    assert not any(r.skipped for r in forced) and scores(forced) == scores(third)


def test_an_interrupted_run_resumes_without_losing_or_redoing_work(
        course: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    api = open_api(course)
    real_autograde = dlmath.grading.pipeline._Autograder.__call__
    calls = []

    def interrupted_after_one(*args: object) -> object:
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_autograde(*args)

    monkeypatch.setattr(dlmath.grading.pipeline._Autograder, "__call__", interrupted_after_one)
    with pytest.raises(KeyboardInterrupt):
        grade(api, course, [ASSIGNMENT], workers=2)
    monkeypatch.undo()
    kept = {p: p.stat().st_mtime_ns for p in (course / ".dlmath" / "executed").glob("*.ipynb")}
    assert kept, "notebooks executed before the interruption were not kept"

    resumed = grade(api, course, [ASSIGNMENT], workers=2)
    assert sum(r.skipped for r in resumed) == 1, "the submission graded before was redone"
    assert scores(resumed) == {"reference": 10, "blank": 0, "steps_off_by_one": 8}
    assert all(p.stat().st_mtime_ns == mtime for p, mtime in kept.items()), \
        "a notebook executed before the interruption was executed again"
    reexecuted = [r for r in resumed if r.executed_by]
    assert len(reexecuted) == 3 - 1 - (len(kept) - 1), [r.student for r in reexecuted]


def test_a_staged_copy_left_by_an_interrupted_run_never_decides_a_grade(course: Path) -> None:
    # An interrupted run had staged a renamed, unanswered notebook of this student's; the
    # student then resubmitted their solved notebook under the right name.
    blank = course / "submitted" / "blank" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    for leftover in (course / ".dlmath" / "staging" / "reference" / ASSIGNMENT,
                     course / ".dlmath" / "staging" / "0123abcd" / "reference" / ASSIGNMENT):
        leftover.mkdir(parents=True)
        (leftover / f"{ASSIGNMENT}.ipynb").write_bytes(blank.read_bytes())
    results = grade(open_api(course), course, [ASSIGNMENT], workers=2)
    assert scores(results)["reference"] == 10
    assert not (course / ".dlmath" / "staging").exists() or \
        not any((course / ".dlmath" / "staging").rglob("*.ipynb")), "staged copies were kept"


def test_a_renamed_notebook_is_graded_from_a_copy_and_the_submission_is_untouched(
        course: Path) -> None:
    folder = course / "submitted" / "reference" / ASSIGNMENT
    original = folder / f"{ASSIGNMENT}.ipynb"
    renamed = original.rename(folder / f"{ASSIGNMENT} (1).ipynb")
    before = renamed.read_bytes()
    results = {r.student: r for r in grade(open_api(course), course, [ASSIGNMENT], workers=2)}
    assert results["reference"].auto_score == 10
    assert [f.detail for f in results["reference"].findings] == [
        f"graded {renamed.name} (renamed; expected {original.name})"]
    assert sorted(p.name for p in folder.iterdir()) == [renamed.name]
    assert renamed.read_bytes() == before


@pytest.mark.parametrize("folder", ['<img src=x onerror="alert(1)">', "a b", "-rf", "x'y"])
def test_a_submission_folder_that_is_no_student_id_is_refused_by_name(course: Path,
                                                                      folder: str) -> None:
    source = course / "submitted" / "reference"
    (source.parent / folder).mkdir()
    shutil.copytree(source / ASSIGNMENT, source.parent / folder / ASSIGNMENT)
    results = {r.student: r for r in grade(open_api(course), course, [ASSIGNMENT],
                                           students=[folder, "reference"], workers=1)}
    assert results["reference"].ok
    refused = results[folder]
    assert not refused.ok and "is not a student id" in refused.error
    assert "rename the folder" in refused.error
    assert not (course / "autograded" / folder).exists()


def test_files_named_like_modules_are_reported(course: Path) -> None:
    folder = course / "submitted" / "reference" / ASSIGNMENT
    (folder / "numpy.py").write_text("raise SystemExit\n")
    (folder / "dlmath").mkdir()
    (folder / "dlmath" / "__init__.py").write_text("")
    [result] = grade(open_api(course), course, [ASSIGNMENT], students=["reference"], workers=1)
    assert result.auto_score == 10
    assert {f.detail for f in result.findings} == {
        "dlmath has the name of the module dlmath (it shadows it in the kernel)",
        "numpy.py has the name of the module numpy (it shadows it in the kernel)"}


def _blank_copies(course: Path) -> list[str]:
    for name in ("blank_again", "blank_once_more"):
        shutil.copytree(course / "submitted" / "blank", course / "submitted" / name)
    return ["blank", "blank_again", "blank_once_more"]


def test_identical_notebooks_are_executed_once(course: Path) -> None:
    """Copies (blank releases, a shared solution) share one execution, and all are graded,
    when everybody has the same numbers (per-student variants off)."""
    with (course / "nbgrader_config.py").open("a") as config:
        config.write("\nc.StudentVariants.enabled = False\n")
    blank_names = _blank_copies(course)
    results = {r.student: r for r in grade(open_api(course), course, [ASSIGNMENT], workers=2)}
    assert scores(list(results.values())) == {
        "reference": 10, "blank": 0, "steps_off_by_one": 8, "blank_again": 0,
        "blank_once_more": 0}
    blanks = [results[name] for name in blank_names]
    assert sum(bool(r.executed_by) for r in blanks) == 1, [r.executed_by for r in blanks]
    assert len(list((course / ".dlmath" / "executed").glob("*.ipynb"))) == 3


def test_copies_from_students_with_their_own_numbers_are_each_executed(course: Path) -> None:
    """With per-student variants the same notebook means other numbers for each student: no
    execution is shared (a copied notebook is graded against the copier's numbers)."""
    blank_names = _blank_copies(course)
    results = {r.student: r for r in grade(open_api(course), course, [ASSIGNMENT], workers=2)}
    assert all(results[name].executed_by for name in blank_names)
    assert len(list((course / ".dlmath" / "executed").glob("*.ipynb"))) == 5


def test_a_broken_writer_pool_fails_each_write_by_name_and_the_run_goes_on() -> None:
    """A writer process that dies (killed for memory, say) breaks its pool: every later
    write must come back as that submission's failure, with its findings, not end the run."""
    from concurrent.futures.process import BrokenProcessPool

    from dlmath.grading.pipeline import _Writers, _written
    from dlmath.judge.integrity import Finding

    class BrokenPool:
        def submit(self, *arguments: object) -> None:
            raise BrokenProcessPool("A child process terminated abruptly")

    writers = _Writers.__new__(_Writers)
    writers.pool, writers.local, writers.queued = BrokenPool(), None, set()
    found = [Finding("submission", "notebook", "graded ex1 (1).ipynb (renamed)")]
    future = writers.submit(("ex1", "alice"), None, Path("ex1.ipynb"), found)
    result = _written(future, "ex1", "alice", found)
    assert not result.ok and "BrokenProcessPool" in result.error and result.findings == found


def _dies_once_then_executes(marker: str, job: ExecutionJob) -> ExecutionResult:
    if not os.path.exists(marker):  # the first job kills its worker (as the OOM killer would)
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return execute_job(job)


def test_a_worker_that_dies_is_replaced_and_every_notebook_still_runs_on_workers(
        course: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "a worker died"

    @contextmanager
    def dying_workers(workers: int, scheduler: str | None) -> Iterator[LocalWorkers]:
        local = LocalWorkers(workers, run=partial(_dies_once_then_executes, str(marker)))
        try:
            yield local
        finally:
            local.shutdown()

    monkeypatch.setattr(dlmath.grading.pipeline, "open_executor", dying_workers)
    results = grade(open_api(course), course, [ASSIGNMENT], workers=2)
    assert marker.exists(), "no worker died: the test did not test anything"
    assert scores(results) == {"reference": 10, "blank": 0, "steps_off_by_one": 8}
    in_process = [r.student for r in results if not r.executed_by]
    assert not in_process, f"{in_process} ran in the grading process, not on new workers"


def test_a_worker_error_without_a_message_sends_the_notebook_to_autograde(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from concurrent.futures import Future

    from dlmath.grading.pipeline import GradingState, _completed

    class NoRetry:
        def retry(self, future: Future, error: BaseException) -> None:
            return None

    failed: Future = Future()
    failed.set_exception(MemoryError())  # str(MemoryError()) == ""
    got = list(_completed([], {failed: ("ex1", "alice")}, {}, GradingState(tmp_path), NoRetry()))
    assert got == [(("ex1", "alice"), None)], f"expected alice's notebook for autograde, got {got}"
    assert "(MemoryError: MemoryError)" in caplog.text, f"the warning was {caplog.text!r}"
