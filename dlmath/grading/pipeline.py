"""Autograding submissions through nbgrader's Python API, in parallel, and reading scores back.

The pipeline, per submission:

1. here: check the submission folder (a renamed notebook is graded from a copy staged for
   this run alone; an unreadable one gets a clear outcome), run nbgrader's sanitize
   preprocessors as the course configures them (restore locked cells, ``RepairCells``) and
   compute the execution key;
2. on a worker (local process pool, or Dask): execute it safely (``execution.execute_job``:
   sandboxed kernel for student cells, judge for test cells);
3. on a writer: ``api.autograde`` with ``CachedExecute`` in place of ``SafeExecute``, which
   takes the worker's outputs. One writer (this process) by default; on a database server,
   several writer processes (``writers``), so no single process caps the rate at which a
   cluster's results reach the gradebook.

Step 3 is plain nbgrader, so scores and autograded notebooks are what serial
``nbgrader autograde`` gives. Executed notebooks are kept in ``.dlmath/executed/`` and the
outcome of each submission in ``.dlmath/graded/``, so an interrupted run resumes where it
stopped and unchanged submissions are skipped unless ``force``.
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import socket
import uuid
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Protocol

import loky
import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI
from nbgrader.converters import Autograde
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import CheckCellMetadata
from nbgrader.utils import find_all_files
from sqlalchemy.exc import SAWarning
from traitlets.config import Config
from traitlets.utils.importstring import import_item

from dlmath.course import CourseError, check_student_id, write_atomically
from dlmath.gradebook import SharedEngineGradebook, is_sqlite
from dlmath.grading.cached_execute import CachedExecute
from dlmath.grading.executors import Workers, default_workers, first_line, open_executor
from dlmath.grading.workers import (
    ExecutionJob,
    ExecutionResult,
    execution_key,
    imported_modules,
)
from dlmath.judge import integrity
from dlmath.judge.integrity import Finding
from dlmath.plugins.late_submission import (
    CANONICAL_FORMAT,
    TIMESTAMP_FILE,
    SubmissionTime,
    UnreadableTime,
    penalty_basis,
    read_submission_time,
)
from dlmath.preprocessors.execute import SafeExecute, execute_settings
from dlmath.preprocessors.repair import SubmissionProblem
from dlmath.sandbox.policy import check_sandbox
from dlmath.variants import VariantError
from dlmath.variants.secret import read_secret
from dlmath.variants.secret import settings as variant_settings

STAGING = Path(".dlmath") / "staging"


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
    skipped: bool = False
    execution_seconds: float = 0.0
    executed_by: str = ""
    written_by: str = ""  # the writer process, as "host:pid"
    findings: list[Finding] = field(default_factory=list)
    # What the late penalty was computed from (``late_policy.penalty_basis``).
    penalty_basis: str = ""
    # Why an unchanged submission was graded again (its late penalty was out of date).
    regraded_because: str = ""

    @property
    def auto_score(self) -> float:
        """Points from the autograded (code) test cells."""
        return sum(c.score for c in self.cells if c.autograded)

    @property
    def auto_max(self) -> float:
        """Points available from the autograded test cells."""
        return sum(c.max_score for c in self.cells if c.autograded)


def submitted_students(course_root: Path, assignment: str) -> list[str]:
    """Students with a submission of ``assignment`` in ``submitted/``, sorted."""
    submitted = course_root / "submitted"
    if not submitted.is_dir():
        return []
    return sorted(p.name for p in submitted.iterdir() if (p / assignment).is_dir())


def read_scores(gradebook: Gradebook, assignment: str, student: str) -> list[CellScore]:
    """Per-cell scores of one submission from the gradebook, sorted by cell name (grade id);
    the gradebook does not record the cells' order in the notebook."""
    notebook = gradebook.find_submission_notebook(assignment, assignment, student)
    grades = sorted(notebook.grades, key=lambda g: g.cell.name)
    return [CellScore(name=g.name, score=float(g.score), max_score=float(g.max_score),
                      autograded=g.cell.cell_type == "code") for g in grades]


def submission_folder(course_root: Path, assignment: str, student: str) -> Path:
    """Where nbgrader expects a student's submission of an assignment."""
    return course_root / "submitted" / student / assignment


def submission_digest(course_root: Path, assignment: str, student: str) -> str:
    """A digest of every file of a submission, to tell whether it changed since grading."""
    folder = submission_folder(course_root, assignment, student)
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def check_submission(course_root: Path, assignment: str, student: str,
                     unreadable_time: str = "on time") -> tuple[Path, list[Finding]]:
    """The notebook to grade for this submission, and findings about its folder.

    A notebook saved under another name (``ex1 (1).ipynb``, say) is the one to grade when it
    is the only one. Only reads: ``grade`` stages a copy of the folder under the right name,
    and with a ``timestamp.txt`` nbgrader would misread rewritten in nbgrader's format (or
    without it when it is unreadable), so ``submitted/`` is never modified.
    ``unreadable_time`` is ``UnreadableTime.treat_as``. Raises SubmissionProblem for a folder
    without a notebook or a file that is not a readable notebook.
    """
    try:
        check_student_id(student)
    except CourseError as error:
        raise SubmissionProblem(str(error)) from error
    folder = submission_folder(course_root, assignment, student)
    expected = folder / f"{assignment}.ipynb"
    others = sorted(p.name for p in folder.glob("*.ipynb") if p != expected)
    findings = [Finding("submission", "folder", f"{entry.name} has the name of the module "
                                                f"{entry.stem} (it shadows it in the kernel)")
                for entry in sorted(folder.iterdir()) if _shadows_a_module(entry)]
    notebook = expected
    if not expected.is_file():
        if len(others) != 1:
            found = f"it holds {', '.join(others)}" if others else "it holds no notebook"
            raise SubmissionProblem(f"no {expected.name} in {folder} ({found}); ask the student "
                                    f"to submit {expected.name}, or rename their notebook")
        notebook = folder / others.pop()
        findings.append(Finding("submission", "notebook",
                                f"graded {notebook.name} (renamed; expected {expected.name})"))
    if others:
        findings.append(Finding("submission", "notebook",
                                f"ignored other notebooks: {', '.join(others)}"))
    try:
        text = notebook.read_text(encoding="utf-8")
        if not isinstance(json.loads(text), dict):
            raise ValueError("its JSON is not a notebook's (an object with cells)")
        nbformat.reads(text, as_version=4)
    except Exception as error:  # noqa: BLE001 - JSON, nbformat's own and conversion errors
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise SubmissionProblem(f"{notebook.name} is not a valid notebook ({reason}); ask the "
                                "student to download it again from JupyterLab and resubmit"
                                ) from error
    time = read_submission_time(folder)
    if time is not None and time.problem:
        findings.append(Finding("submission", TIMESTAMP_FILE, unreadable_time_note(
            time, folder.relative_to(course_root), unreadable_time)))
    return notebook, findings


def unreadable_time_note(time: SubmissionTime, folder: Path, treat_as: str) -> str:
    """What grading does with an unreadable submission time, and how the instructor fixes it."""
    effect = ("graded as on time, without a late penalty" if treat_as == "on time" else
              "graded, but left out of exports until it is fixed")
    return (f"unreadable submission time ({time.problem}): {effect}; write the time it was "
            f"handed in (e.g. 2026-03-20 23:59:00 UTC) into {folder}/{TIMESTAMP_FILE}, then "
            "run dlmath grade")


def _shadows_a_module(entry: Path) -> bool:
    """Whether a file or folder of a submission is named like an importable module."""
    stem = entry.stem if entry.suffix == ".py" else entry.name
    if entry.suffix not in (".py", "") or not stem.isidentifier():
        return False
    try:
        return importlib.util.find_spec(stem) is not None
    except (ImportError, ValueError):
        return False


class GradingState:
    """The course's ``.dlmath/`` folder: executed notebooks, and what has been graded."""

    def __init__(self, course_root: Path) -> None:
        self.executed = course_root / ".dlmath" / "executed"
        self.graded = course_root / ".dlmath" / "graded"
        self.executed.mkdir(parents=True, exist_ok=True)

    def has_result(self, key: str) -> bool:
        """Whether a notebook with this execution key has been executed already."""
        return (self.executed / f"{key}.ipynb").is_file()

    def store_result(self, result: ExecutionResult) -> None:
        """Keep an executed notebook (written atomically: a crash leaves no partial file)."""
        final = self.executed / f"{result.key}.ipynb"
        if not final.is_file():
            write_atomically(final, result.notebook)

    def _record(self, assignment: str, student: str) -> Path:
        return self.graded / assignment / f"{student}.json"

    def outcome(self, assignment: str, student: str) -> Outcome | None:
        """How the last grading of this submission ended, if it was ever graded."""
        return read_outcome(self._record(assignment, student))

    def is_graded(self, assignment: str, student: str, digest: str) -> bool:
        """Whether this exact submission was graded successfully by an earlier run."""
        outcome = self.outcome(assignment, student)
        return outcome is not None and outcome.ok and outcome.digest == digest

    def record(self, result: SubmissionResult, digest: str) -> None:
        """Remember how this exact submission's grading ended (written atomically)."""
        record = self._record(result.assignment, result.student)
        record.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(record, json.dumps({
            "digest": digest, "ok": result.ok, "error": result.error,
            "findings": [vars(f) for f in result.findings],
            "penalty_basis": result.penalty_basis}))

    def forget(self, assignment: str, student: str) -> None:
        """Forget an earlier grading of this submission (it is being regraded)."""
        self._record(assignment, student).unlink(missing_ok=True)


@dataclass(frozen=True)
class Outcome:
    """How the last grading run of one submission ended, as ``.dlmath/graded/`` records it."""

    digest: str
    ok: bool
    error: str = ""
    findings: tuple[Finding, ...] = ()
    penalty_basis: str = ""  # empty: not recorded (graded by an older dlmath)


def read_outcome(record: Path) -> Outcome | None:
    """The outcome stored in ``record``, or None if there is none."""
    if not record.is_file():
        return None
    data = json.loads(record.read_text())
    return Outcome(digest=data["digest"], ok=data.get("ok", True), error=data.get("error", ""),
                   findings=tuple(Finding(**f) for f in data.get("findings", [])),
                   penalty_basis=data.get("penalty_basis", ""))


def current_penalty_basis(gradebook: Gradebook, assignment: str, student: str,
                          config: Config) -> str:
    """``late_policy.penalty_basis`` of the submission as the gradebook has it now ("" when
    the gradebook has no such submission)."""
    try:
        return penalty_basis(gradebook.find_submission(assignment, student), config)
    except MissingEntry:
        return ""


PENALTY_OUT_OF_DATE = ("the due date, an extension or the late policy changed since it was "
                       "graded")


def grading_outcomes(course_root: Path) -> dict[tuple[str, str], Outcome]:
    """(assignment, student) -> how its last grading ended, for every submission ever graded.

    A submission in ``submitted/`` without an entry was never graded; one with ``ok=False``
    could not be graded (its ``error`` says why): exports must not report either as a 0.
    """
    graded = course_root / ".dlmath" / "graded"
    outcomes = {}
    for record in sorted(graded.glob("*/*.json")):
        outcome = read_outcome(record)
        if outcome is not None:
            outcomes[(record.parent.name, record.stem)] = outcome
    return outcomes


_VALIDATION_ONLY = {CheckCellMetadata, "nbgrader.preprocessors.CheckCellMetadata"}


def _preprocessor(entry: str | type, config: Config):
    cls = import_item(entry) if isinstance(entry, str) else entry
    return cls(config=config)


def prepare_job(api: NbGraderAPI, course_root: Path, assignment: str, student: str,
                notebook: Path) -> ExecutionJob:
    """The notebook nbgrader's autograde will execute for this submission, as a worker job.

    Runs the sanitize preprocessors configured for ``Autograde`` on the submitted notebook;
    they only read the gradebook.
    """
    config = api.config
    folder = submission_folder(course_root, assignment, student)
    nb = nbformat.read(notebook, as_version=4)
    resources = ResourcesDict(unique_key=assignment, nbgrader={
        "student": student, "assignment": assignment, "notebook": assignment,
        "db_url": api.coursedir.db_url})
    for entry in Autograde(config=config).sanitize_preprocessors:
        if entry in _VALIDATION_ONLY:
            continue  # changes nothing the execution depends on; autograde runs it anyway
        nb, resources = _preprocessor(entry, config)(nb, resources)
    # The folder the notebook runs in: the submission, with the source's files on top,
    # as nbgrader's autograde lays it out.
    ignore = api.coursedir.ignore + ["*.ipynb"]
    files = {os.path.relpath(f, folder): Path(f).read_bytes()
             for f in find_all_files(str(folder), ignore)}
    source = course_root / "source" / assignment
    files |= {os.path.relpath(f, source): Path(f).read_bytes()
              for f in find_all_files(str(source), ignore)}
    execute = SafeExecute(config=config)
    settings = execute_settings(execute)
    settings["preload"] = list(dict.fromkeys([*settings["preload"], *imported_modules(nb)]))
    variant = execute.variant_key(nb, resources)
    return ExecutionJob(key=execution_key(nb, files, settings, variant),
                        notebook=nbformat.writes(nb), files=files, execute_config=settings,
                        kernel_config=dict(config.get("SandboxedKernelManager", {})),
                        variant=variant)


class ProgressReporter(Protocol):
    """What :func:`grade` tells about its progress (``dlmath.cli.progress.Progress`` draws it)."""

    def start(self, total: int) -> None:
        """``total`` submissions are to be graded."""

    def step(self, label: str) -> None:
        """Work on the submission ``label`` (``"<assignment> <student>"``) begins."""

    def finish(self) -> None:
        """Every submission is done."""


class _NoProgress:
    def start(self, total: int) -> None:
        pass

    def step(self, label: str) -> None:
        pass

    def finish(self) -> None:
        pass


_NO_PROGRESS = _NoProgress()


def grade(api: NbGraderAPI, course_root: Path, assignments: Iterable[str], *,
          students: Iterable[str] | None = None, force: bool = False,
          workers: int | None = None, scheduler: str | None = None, writers: int = 1,
          progress: ProgressReporter | None = None) -> list[SubmissionResult]:
    """Autograde the submissions of ``assignments`` (or only ``students``'); one result each.

    Submissions graded by an earlier run and unchanged since are skipped (their scores are
    read back) unless ``force``, or unless their late penalty is out of date (the due date,
    their extension or the late policy changed): those are graded again, which recomputes it
    (their notebooks are not executed again), with ``regraded_because`` saying why.
    Notebooks execute on ``workers`` local processes (default: one per core), or on the Dask
    cluster at ``scheduler``; their results are written to the gradebook by ``writers``
    processes (more than one only on a database server: ``check_writers``). A submission
    that cannot be graded is reported with ``ok=False`` and the error; grading goes on with
    the others. Raises SandboxUnavailable (before anything runs) when bubblewrap does not
    work here and the configuration does not opt out of it, CourseError when ``writers``
    does not suit the gradebook.
    """
    check_sandbox(api.config)  # before any work: no student code runs outside the sandbox
    check_writers(api.coursedir.db_url, writers)
    wanted = set(students) if students is not None else None
    submissions = [(a, s) for a in assignments for s in submitted_students(course_root, a)
                   if wanted is None or s in wanted]
    if submissions and variant_settings(api.config).enabled:
        try:  # before any work too: without it no student's numbers are known
            read_secret(course_root, api.config)
        except VariantError as error:
            raise CourseError(str(error)) from None
    state = GradingState(course_root)
    digests = {sub: submission_digest(course_root, *sub) for sub in submissions}
    results: dict[tuple[str, str], SubmissionResult] = {}
    todo = []
    stale: dict[tuple[str, str], str] = {}
    with Gradebook(api.coursedir.db_url) as gradebook:
        for sub in submissions:
            if force or not state.is_graded(*sub, digests[sub]):
                todo.append(sub)
                continue
            recorded = state.outcome(*sub).penalty_basis
            if recorded and recorded != current_penalty_basis(gradebook, *sub, api.config):
                stale[sub] = PENALTY_OUT_OF_DATE
                todo.append(sub)
                continue
            results[sub] = _read_back(api, *sub, skipped=True)
    progress = progress or _NO_PROGRESS
    progress.start(len(todo))
    # Renamed notebooks are staged in a folder of this run's own, so no copy left by an
    # interrupted run can ever be graded in place of a submission (older runs' are removed).
    shutil.rmtree(course_root / STAGING, ignore_errors=True)
    staging = course_root / STAGING / uuid.uuid4().hex
    unreadable_time = UnreadableTime(config=api.config).treat_as
    with open_executor(workers or default_workers(), scheduler) as executor, \
            _Writers(api, state, staging, writers) as writer:
        pending: dict[cf.Future, tuple[str, str]] = {}
        # Submissions whose code is that of a notebook already executing (blank or unchanged
        # releases, copies): that one execution serves them all.
        running: dict[str, cf.Future] = {}
        followers: dict[cf.Future, list[tuple[str, str]]] = {}
        ready: list[tuple[tuple[str, str], ExecutionResult | None]] = []
        checked: dict[tuple[str, str], tuple[Path, list[Finding]]] = {}
        for sub in todo:
            state.forget(*sub)
            try:
                checked[sub] = check_submission(course_root, *sub, unreadable_time)
                notebook = checked[sub][0]
                job = prepare_job(api, course_root, *sub, notebook)
            except Exception as error:  # noqa: BLE001 - reported per submission, run goes on
                message = str(error) if isinstance(error, SubmissionProblem) else \
                    f"cannot prepare the notebook: {type(error).__name__}: {error}"
                results[sub] = SubmissionResult(*sub, ok=False, error=message)
                state.record(results[sub], digests[sub])
                progress.step(" ".join(sub))
                continue
            if state.has_result(job.key):
                ready.append((sub, None))
            elif job.key in running:
                followers.setdefault(running[job.key], []).append(sub)
            else:
                future = executor.submit(job)
                # Stored as soon as it is done, so an interruption keeps finished work.
                future.add_done_callback(partial(_store, state))
                pending[future] = sub
                running[job.key] = future
        _add_students(api.coursedir.db_url, {s for _, s in checked})
        writing: dict[cf.Future, tuple[str, str]] = {}

        def written(future: cf.Future) -> None:
            sub = writing.pop(future)
            results[sub] = _written(future, *sub, checked[sub][1])
            results[sub].regraded_because = stale.get(sub, "")
            state.record(results[sub], digests[sub])
            progress.step(" ".join(sub))

        for sub, execution in _completed(ready, pending, followers, state, executor):
            writing[writer.submit(sub, execution, *checked[sub])] = sub
            for future in [f for f in writing if f.done()]:
                written(future)
        for future in cf.as_completed(list(writing)):
            written(future)
    progress.finish()
    return [results[sub] for sub in submissions]


def _store(state: GradingState, future: cf.Future) -> None:
    if not future.cancelled() and future.exception() is None:
        state.store_result(future.result())


def _completed(ready: list[tuple[tuple[str, str], ExecutionResult | None]],
               pending: dict[cf.Future, tuple[str, str]],
               followers: dict[cf.Future, list[tuple[str, str]]], state: GradingState,
               workers: Workers) -> Iterator[tuple[tuple[str, str], ExecutionResult | None]]:
    """Submissions whose notebook is executed and stored, as soon as each is.

    A job whose worker failed is tried again where ``workers`` retry it (a local worker that
    died); otherwise it yields ``None``: autograde then executes the notebook itself. The
    ``followers`` of a job (same code) come right after it, with ``None``: their notebook is
    in the store by then (or, if the job failed, autograde executes it).
    """
    yield from ready
    waiting = set(pending)
    while waiting:
        done, waiting = cf.wait(waiting, return_when=cf.FIRST_COMPLETED)
        for future in done:
            sub = pending.pop(future)
            try:
                result = future.result()
            except Exception as error:  # noqa: BLE001 - the autograde step executes it and reports
                again = workers.retry(future, error)
                if again is not None:
                    again.add_done_callback(partial(_store, state))
                    pending[again], followers[again] = sub, followers.pop(future, [])
                    waiting.add(again)
                    continue
                logging.getLogger("dlmath").warning(
                    "a worker could not execute %s of %s (%s: %s); executing it here instead",
                    sub[0], sub[1], type(error).__name__, first_line(error))
                yield sub, None
            else:
                state.store_result(result)  # the done-callback may not have run yet
                yield sub, result
            for follower in followers.pop(future, []):
                yield follower, None


def check_writers(db_url: str, writers: int) -> None:
    """Raise a CourseError unless ``writers`` processes can write this gradebook at once.

    SQLite lets one process write at a time: a second writer would wait for the first, or
    fail with "database is locked" when the wait is long. A database server takes any number.
    """
    if writers < 1:
        raise CourseError(f"--writers must be at least 1, got {writers}")
    if writers > 1 and is_sqlite(db_url):
        raise CourseError(
            f"--writers {writers} needs a database server: this gradebook is SQLite, which "
            "lets one process write at a time. Grade with one writer, or move the gradebook "
            "to PostgreSQL (README, 'Several graders at once: PostgreSQL': dlmath "
            "copy-gradebook, then c.CourseDirectory.db_url).")


def _add_students(db_url: str, students: set[str]) -> None:
    """Add the students the gradebook does not know yet, as autograde's ``create`` would.

    Done once, before any writer starts: two writers that both found a student missing
    would both insert it, and one of them would fail.
    """
    with Gradebook(db_url) as gradebook:
        for student in sorted(students - {s.id for s in gradebook.students}):
            gradebook.add_student(student)


class _Writers:
    """Where executed submissions are autograded into the gradebook: this process (one
    writer), or ``count`` writer processes, each with an ``_Autograder`` of its own.

    A context manager: at the end the writer processes stop and ``staging`` (this run's
    folder for renamed notebooks) is removed.
    """

    def __init__(self, api: NbGraderAPI, state: GradingState, staging: Path,
                 count: int) -> None:
        self.staging = staging
        self.pool: loky.ProcessPoolExecutor | None = None
        self.local: _Autograder | None = None
        self.queued: set[cf.Future] = set()  # writes not done yet
        if count == 1:
            self.local = _Autograder(api, state, staging)
        else:  # loky: see open_executor (a pool whose process died must not hang the run)
            self.pool = loky.ProcessPoolExecutor(
                max_workers=count, initializer=_start_writer,
                initargs=(api.config, api.coursedir.root, str(staging)))

    def __enter__(self) -> _Writers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.pool is not None:
            for future in list(self.queued):  # after an error: drop those not started
                future.cancel()
            self.pool.shutdown(wait=True)
        shutil.rmtree(self.staging, ignore_errors=True)

    def submit(self, sub: tuple[str, str], execution: ExecutionResult | None,
               notebook: Path, findings: list[Finding]) -> cf.Future:
        """Autograde one submission (now, with one writer); its ``SubmissionResult`` is the
        future's result."""
        if execution is not None:  # the writer reads the notebook from the store
            execution = ExecutionResult(execution.key, "", execution.seconds,
                                        execution.executed_by)
        future: cf.Future = cf.Future()
        try:
            if self.pool is not None:
                queued = self.pool.submit(_write, *sub, execution, notebook, findings)
                self.queued.add(queued)
                queued.add_done_callback(self.queued.discard)
                return queued
            future.set_result(self.local(*sub, execution, notebook, findings))
        except Exception as error:  # noqa: BLE001 - reported for this submission by _written
            # (a writer process that died breaks the pool: every later write fails alike,
            # is recorded as not graded, and the next run grades it)
            future.set_exception(error)
        return future


_WRITER: _Autograder | None = None


def _start_writer(config: Config, root: str, staging: str) -> None:
    """Make this writer process's ``_Autograder`` (a ``ProcessPoolExecutor`` initializer)."""
    global _WRITER
    api = NbGraderAPI(coursedir=CourseDirectory(config=config, root=root), config=config)
    _WRITER = _Autograder(api, GradingState(Path(root)), Path(staging))


def _write(assignment: str, student: str, execution: ExecutionResult | None, notebook: Path,
           findings: list[Finding]) -> SubmissionResult:
    """Autograde one submission in a writer process."""
    assert _WRITER is not None, "a writer process starts with _start_writer"
    return _WRITER(assignment, student, execution, notebook, findings)


def _written(future: cf.Future, assignment: str, student: str,
             findings: list[Finding]) -> SubmissionResult:
    """The result of a write, or a failed result saying why the writer could not do it (with
    the ``findings`` about the submission's folder)."""
    try:
        return future.result()
    except Exception as error:  # noqa: BLE001 - reported per submission, the run goes on
        return SubmissionResult(assignment, student, ok=False, findings=findings,
                                error=f"cannot write the grades: {type(error).__name__}: "
                                      f"{error}")


class _Autograder:
    """nbgrader's autograde with ``CachedExecute`` reading the workers' executed notebooks;
    renamed notebooks are graded from a copy in ``staging``."""

    def __init__(self, api: NbGraderAPI, state: GradingState, staging: Path) -> None:
        self.course_root = Path(api.coursedir.root)
        self.staging = staging
        self.api = self._caching_api(api, state, None)
        self.staged_api = self._caching_api(api, state,
                                            str(staging.relative_to(self.course_root)))

    @staticmethod
    def _caching_api(api: NbGraderAPI, state: GradingState,
                     submitted_directory: str | None) -> NbGraderAPI:
        config = copy.deepcopy(api.config)  # Config(...) would share its sections
        executes = {SafeExecute, "dlmath.preprocessors.execute.SafeExecute"}
        config.Autograde.autograde_preprocessors = [
            CachedExecute if p in executes else p
            for p in Autograde(config=config).autograde_preprocessors]
        config.CachedExecute.cache_directory = str(state.executed)
        if submitted_directory:
            config.CourseDirectory.submitted_directory = submitted_directory
        coursedir = type(api.coursedir)(config=config)
        return NbGraderAPI(coursedir=coursedir, config=config)

    def __call__(self, assignment: str, student: str, execution: ExecutionResult | None,
                 notebook: Path, findings: list[Finding]) -> SubmissionResult:
        """Autograde ``notebook`` (the submission's, as ``check_submission`` chose it).

        It is graded from a staged copy of its folder when it was renamed, or when its
        ``timestamp.txt`` is one nbgrader would misread (rewritten in nbgrader's own format)
        or cannot read (left out, and the gradebook's earlier time forgotten: nbgrader keeps
        it when it finds none).
        """
        expected = f"{assignment}.ipynb"
        time = read_submission_time(notebook.parent)
        rewrite_time = time is not None and not time.nbgrader_reads_it
        staged = (self.staging / student / assignment
                  if notebook.name != expected or rewrite_time else None)
        if staged is not None:
            shutil.copytree(notebook.parent, staged,
                            ignore=shutil.ignore_patterns("*.ipynb", TIMESTAMP_FILE))
            shutil.copy2(notebook, staged / expected)
            if time is not None and time.time is not None:
                (staged / TIMESTAMP_FILE).write_text(f"{time.time:{CANONICAL_FORMAT}}\n")
        if time is not None and time.time is None:
            _forget_submission_time(self.api.coursedir.db_url, assignment, student)
        api = self.staged_api if staged is not None else self.api
        try:
            with warnings.catch_warnings():
                # nbgrader 0.9.6 triggers SQLAlchemy 2 "not in session" warnings on every new
                # submission; they are harmless (the rows are added explicitly) and only noise.
                warnings.filterwarnings("ignore", message="Object of type <Submitted",
                                        category=SAWarning)
                outcome = api.autograde(assignment, student, force=True, create=True)
        finally:
            if staged is not None:
                shutil.rmtree(staged, ignore_errors=True)
        if not outcome["success"]:
            log = (outcome.get("log") or "") + (outcome.get("error") or "")
            return SubmissionResult(assignment, student, ok=False, error=_last_error(log),
                                    findings=findings)
        result = _read_back(self.api, assignment, student)
        autograded = self.course_root / "autograded" / student / assignment / f"{assignment}.ipynb"
        result.findings = findings + integrity.findings(nbformat.read(autograded, as_version=4))
        if execution is not None:
            result.execution_seconds, result.executed_by = execution.seconds, execution.executed_by
        result.written_by = f"{socket.gethostname()}:{os.getpid()}"
        return result


def _forget_submission_time(db_url: str, assignment: str, student: str) -> None:
    with SharedEngineGradebook(db_url) as gradebook:
        try:
            gradebook.find_submission(assignment, student).timestamp = None
        except MissingEntry:
            return
        gradebook.db.commit()


def _last_error(log: str) -> str:
    """The most telling line of nbgrader's error log: its last exception but nbgrader's own
    closing "see the above traceback"."""
    lines = [line.strip() for line in log.strip().splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line.split(":")[0]
              and "see the the above traceback" not in line and "see the above" not in line]
    return (errors or lines or ["nbgrader could not autograde this submission"])[-1]


def _read_back(api: NbGraderAPI, assignment: str, student: str,
               skipped: bool = False) -> SubmissionResult:
    """The submission's scores from the gradebook; for one just graded (not ``skipped``),
    with the basis of its late penalty; for a skipped one, with its recorded findings."""
    with SharedEngineGradebook(api.coursedir.db_url) as gradebook:
        try:
            cells = read_scores(gradebook, assignment, student)
        except MissingEntry as missing:
            return SubmissionResult(assignment, student, ok=False,
                                    error=f"no grades recorded: {missing}")
        basis = "" if skipped else current_penalty_basis(gradebook, assignment, student,
                                                         api.config)
    findings = []
    if skipped:
        recorded = GradingState(Path(api.coursedir.root)).outcome(assignment, student)
        findings = list(recorded.findings) if recorded else []
    return SubmissionResult(assignment, student, ok=True, cells=cells, skipped=skipped,
                            findings=findings, penalty_basis=basis)
