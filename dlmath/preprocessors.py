"""The course's nbgrader preprocessors, configured in ``nbgrader_config.py``.

* :class:`RepairCells` (sanitize step): puts every nbgrader cell back as the instructor made
  it (its flags, points, type; deleted or unrecognisable cells) and records what changed.
* :class:`SafeExecute` (replaces nbgrader's ``Execute``): runs the student's cells in a
  sandboxed kernel and the test cells in the judge, outside the student's process; survives
  infinite loops, crashes and floods of output.
* :class:`CachedExecute`: ``SafeExecute`` that first takes the outputs of a notebook already
  executed by a ``dlmath grade`` worker.
* :class:`KeepManualGrades` (replaces nbgrader's ``SaveAutoGrades``): saves the autograded
  scores, and leaves an answer a grader scored by hand graded while the answer is unchanged.

So plain ``nbgrader autograde`` and the formgrader's button grade exactly as ``dlmath grade``.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import Any

import nbformat
from jupyter_client.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async
from nbconvert.exporters.exporter import ResourcesDict
from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader import utils
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import (
    ClearHiddenTests,
    Execute,
    NbGraderPreprocessor,
    SaveAutoGrades,
)
from nbgrader.preprocessors.overwritecells import OverwriteCells
from traitlets import Bool, Integer, List, Type, Unicode

from dlmath import agent, integrity
from dlmath.course import check_student_id
from dlmath.integrity import Finding
from dlmath.judge import Judge, StudentCodeError, StudentKernelDied, StudentTimeout, send_files
from dlmath.kernel_hooks import PLOTS_INLINE
from dlmath.sandbox import SandboxedKernelManager, unsandboxed_detail


def is_test_cell(cell: NotebookNode) -> bool:
    """An autograder test cell: a locked, graded code cell that is not an answer."""
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution") \
        and bool(meta.get("grade_id"))


def is_given_cell(cell: NotebookNode) -> bool:
    """Given code: a locked code cell with an nbgrader id that is neither test nor answer."""
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and bool(meta.get("locked")) and bool(meta.get("grade_id")) \
        and not meta.get("grade") and not meta.get("solution")


def folder_files(folder: Path) -> dict[str, bytes]:
    """The files of ``folder`` (recursively) other than notebooks, by relative path."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.suffix != ".ipynb"}


def released_source(source: str, _clear: list = []) -> str:  # noqa: B006 - one instance
    """A locked cell's source as the student received it: without its hidden tests."""
    if not _clear:
        _clear.append(ClearHiddenTests())
    cell = nbformat.v4.new_code_cell(source)
    _clear[0]._remove_hidden_test_region(cell)
    return cell.source


class SubmissionProblem(Exception):
    """A submission that cannot be graded as it is; the message says why and what to do."""


@dataclass(frozen=True)
class SourceCell:
    """One nbgrader cell of the assignment, as the gradebook records it."""

    name: str
    cell_type: str
    locked: bool
    source: str
    checksum: str | None
    points: float | None  # None: not graded
    solution: bool
    task: bool

    @property
    def released(self) -> str:
        """The source the student received (a test cell without its hidden tests)."""
        return released_source(self.source) if self.cell_type == "code" else self.source

    def flags(self) -> dict[str, Any]:
        """The nbgrader flags this cell has in the release."""
        return {"grade": self.points is not None, "solution": self.solution,
                "locked": self.locked, "task": self.task}

    def new_cell(self) -> NotebookNode:
        """The cell as the release has it (an answer cell holds the release's stub)."""
        make = nbformat.v4.new_code_cell if self.cell_type == "code" else \
            nbformat.v4.new_markdown_cell
        cell = make(self.released)
        meta = {"cell_type": self.cell_type, "checksum": self.checksum, "grade_id": self.name,
                "schema_version": 3, **self.flags()}
        if self.points is not None:
            meta["points"] = self.points
        cell.metadata.update({"deletable": False, "nbgrader": meta})
        if self.locked:
            cell.metadata["editable"] = False
        return cell


def source_cells(db_url: str, assignment: str, notebook_name: str
                 ) -> tuple[list[SourceCell], dict | None]:
    """The assignment notebook's nbgrader cells in the instructor's order, and its kernelspec,
    from the gradebook. Raises SubmissionProblem when the gradebook does not know the notebook
    (the assignment was not released)."""
    with Gradebook(db_url) as gradebook:
        try:
            notebook = gradebook.find_notebook(notebook_name, assignment)
        except MissingEntry as missing:
            raise SubmissionProblem(
                f"the gradebook has no notebook {notebook_name} in {assignment}: release the "
                f"assignment first (dlmath release {assignment})") from missing
        points = {c.name: float(c.max_score) for c in notebook.grade_cells}
        solutions = {c.name for c in notebook.solution_cells}
        tasks = {c.name for c in notebook.task_cells}
        cells = [SourceCell(c.name, c.cell_type, bool(c.locked), c.source, c.checksum,
                            points.get(c.name), c.name in solutions, c.name in tasks)
                 for c in notebook.source_cells]
        return cells, json.loads(notebook.kernelspec) if notebook.kernelspec else None


def grade_id(cell: NotebookNode) -> str | None:
    """The cell's nbgrader id, or None (no or malformed nbgrader metadata)."""
    meta = cell.metadata.get("nbgrader")
    return meta.get("grade_id") if isinstance(meta, dict) else None


class RepairCells(NbGraderPreprocessor):
    """Put every nbgrader cell back as the instructor made it, and record what was changed.

    nbgrader's ``OverwriteCells`` restores the source of locked cells but trusts the
    submitted flags (a test cell whose ``grade`` flag a student cleared would stop being
    graded), and its ``add_missing_cells`` can put a deleted cell back only right after a
    graded cell (elsewhere it fails with a KeyError). This preprocessor, from the gradebook:

    * sets every cell's ``grade``, ``solution``, ``locked``, ``task``, ``points`` and type,
      and removes nbgrader metadata that names no cell of the assignment (or one twice);
    * recognises cells that lost their nbgrader metadata (a notebook saved by another tool):
      a locked cell by its content, an answer cell by its place between the cells around it;
    * puts back every cell that was deleted, after the cell that precedes it in the source:
      locked cells as the instructor wrote them, answer cells as released (empty, so a
      deleted written answer scores 0 with nbgrader's "No response.");
    * puts moved cells back in order, each with the cells the student added after it.

    Every change is recorded as a finding. A notebook with no cells at all, or none of the
    assignment's, raises SubmissionProblem. Runs after ``DeduplicateIds`` and before
    ``OverwriteKernelspec`` and ``OverwriteCells``.
    """

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict
                   ) -> tuple[NotebookNode, ResourcesDict]:
        """Repair ``nb`` against the gradebook's record of the assignment."""
        info = resources["nbgrader"]
        check_student_id(info["student"])
        expected, kernelspec = source_cells(info["db_url"], info["assignment"], info["notebook"])
        self._check_kernel(nb, kernelspec)
        if not nb.cells:
            raise SubmissionProblem(
                f"{info['notebook']}.ipynb has no cells: an empty notebook was handed in; ask "
                "the student for the notebook they worked in")
        by_name = {cell.name: cell for cell in expected}
        present = self._restore_metadata(nb, by_name)
        recognised = self._recognise_locked(nb, expected, present)
        if not self._holds_the_assignment(nb, by_name):
            raise SubmissionProblem(
                f"{info['notebook']}.ipynb holds none of {info['assignment']}'s cells (it has "
                f"{len(nb.cells)} cells, none from the assignment): another notebook was handed "
                "in; ask the student for the notebook they worked in")
        recognised += self._recognise_answers(nb, expected, present)
        if recognised:
            self._record(nb, "submission", "notebook",
                         f"{len(recognised)} cells had lost their nbgrader metadata (saved by "
                         "another tool?); recognised by content or place: "
                         + ", ".join(recognised))
        self._restore_deleted(nb, expected, present)
        self._restore_order(nb, [cell.name for cell in expected])
        return nb, resources

    @staticmethod
    def _holds_the_assignment(nb: NotebookNode, by_name: dict[str, SourceCell]) -> bool:
        """Whether ``nb`` has an answer cell of the assignment, or a locked cell with the
        instructor's text: a notebook with neither is another one (another assignment's cells
        share ids such as ``intro``), and grading it would grade something else."""
        for cell in nb.cells:
            wanted = by_name.get(grade_id(cell))
            if wanted and (not wanted.locked or cell.source.strip() == wanted.released.strip()):
                return True
        return False

    def _check_kernel(self, nb: NotebookNode, kernelspec: dict | None) -> None:
        submitted = nb.metadata.get("kernelspec", {})
        if kernelspec and submitted.get("name") != kernelspec.get("name"):
            self._record(nb, "submission", "notebook",
                         f"kernel {submitted.get('name')!r} instead of "
                         f"{kernelspec.get('name')!r} (nbgrader restores it)")

    def _restore_metadata(self, nb: NotebookNode, by_name: dict[str, SourceCell]) -> set[str]:
        """Set the nbgrader metadata of every cell that names a cell of the assignment; remove
        it where it names none (or one named before). Returns the names present."""
        present: set[str] = set()
        for index, cell in enumerate(nb.cells):
            meta = cell.metadata.get("nbgrader")
            if meta is None:
                continue
            name = grade_id(cell)
            if name not in by_name or name in present:
                problem = "names a cell twice" if name in present else "names no cell"
                cell.metadata.pop("nbgrader")
                if isinstance(meta, dict) and (meta.get("locked") or meta.get("grade")):
                    self._record(nb, "tampering", integrity.cell_name(cell, index),
                                 f"nbgrader metadata that {problem} of the assignment was removed")
                continue
            present.add(name)
            wanted = by_name[name]
            changed = [flag for flag, value in wanted.flags().items()
                       if bool(meta.get(flag)) != value]
            if wanted.points is not None and float(meta.get("points", -1)) != wanted.points:
                changed.append("points")
            if cell.cell_type != wanted.cell_type:
                changed.append("cell type")
                OverwriteCells().update_cell_type(cell, wanted.cell_type)
            meta.update(wanted.flags())
            if wanted.points is not None:
                meta["points"] = wanted.points
            if changed:
                self._record(nb, "tampering", name,
                             f"changed nbgrader settings ({', '.join(changed)}), restored")
            if wanted.locked and cell.source != wanted.released:
                self._record(nb, "tampering", name, "edited a locked cell, restored")
        return present

    def _recognise_locked(self, nb: NotebookNode, expected: list[SourceCell],
                          present: set[str]) -> list[str]:
        """Give each cell without nbgrader metadata that has the content of a missing locked
        cell that cell's metadata; the names recognised."""
        recognised: list[str] = []
        for wanted in expected:
            if wanted.name in present or not wanted.locked:
                continue
            match = next((cell for cell in nb.cells if "nbgrader" not in cell.metadata
                          and cell.cell_type == wanted.cell_type
                          and cell.source.strip() == wanted.released.strip()), None)
            if match is not None:
                self._adopt(match, wanted, present, recognised)
        return recognised

    def _recognise_answers(self, nb: NotebookNode, expected: list[SourceCell],
                           present: set[str]) -> list[str]:
        """Give a missing answer cell's metadata to the first cell of its type without
        nbgrader metadata between the cells before and after it; the names recognised."""
        recognised: list[str] = []
        for position, wanted in enumerate(expected):
            if wanted.name in present or wanted.locked:
                continue
            before = [c.name for c in expected[:position] if c.name in present]
            after = [c.name for c in expected[position + 1:] if c.name in present]
            index = {grade_id(cell): i for i, cell in enumerate(nb.cells)}
            low = index[before[-1]] if before else -1
            high = index[after[0]] if after else len(nb.cells)
            match = next((cell for cell in nb.cells[low + 1:high]
                          if "nbgrader" not in cell.metadata
                          and cell.cell_type == wanted.cell_type), None)
            if match is not None:
                self._adopt(match, wanted, present, recognised)
        return recognised

    @staticmethod
    def _adopt(cell: NotebookNode, wanted: SourceCell, present: set[str],
               recognised: list[str]) -> None:
        cell.metadata.update(wanted.new_cell().metadata)
        present.add(wanted.name)
        recognised.append(wanted.name)

    def _restore_deleted(self, nb: NotebookNode, expected: list[SourceCell],
                         present: set[str]) -> None:
        """Put back every missing cell after the cell that precedes it in the source."""
        for position, wanted in enumerate(expected):
            if wanted.name in present:
                continue
            before = {c.name for c in expected[:position]}
            anchors = [i for i, cell in enumerate(nb.cells) if grade_id(cell) in before]
            nb.cells.insert(anchors[-1] + 1 if anchors else 0, wanted.new_cell())
            present.add(wanted.name)
            if wanted.solution and wanted.points is not None:
                self._record(nb, "submission", wanted.name,
                             "deleted this answer (graded by hand); restored empty, it scores 0 "
                             "unless a grader finds the answer elsewhere in the notebook")
            elif wanted.solution:
                self._record(nb, "submission", wanted.name,
                             "deleted an answer cell, restored empty")
            else:
                what = "a test cell" if wanted.points is not None else "a locked cell"
                self._record(nb, "tampering", wanted.name, f"deleted {what}, restored")

    def _restore_order(self, nb: NotebookNode, order: list[str]) -> None:
        """Put the nbgrader cells back in the instructor's order, each with the cells the
        student added after it (a test cell moved above its answer would fail for nothing,
        one moved below later answers would test them)."""
        blocks: list[tuple[int, list[NotebookNode]]] = [(-1, [])]
        for cell in nb.cells:
            name = grade_id(cell)
            if name in order:
                blocks.append((order.index(name), [cell]))
            else:
                blocks[-1][1].append(cell)
        positions = [position for position, _ in blocks]
        if positions != sorted(positions):
            nb.cells = [cell for _, cells in sorted(blocks, key=lambda b: b[0]) for cell in cells]
            self._record(nb, "tampering", "notebook", "moved nbgrader cells, put back in order")

    @staticmethod
    def _record(nb: NotebookNode, kind: str, where: str, detail: str) -> None:
        integrity.record(nb, Finding(kind, where, detail))


class SafeExecute(Execute):
    """nbgrader's ``Execute`` made safe for untrusted notebooks.

    Student cells (answers, given code, anything the student added) run in a sandboxed
    kernel (``sandbox.SandboxedKernelManager``). Test cells never run there: the judge runs
    them in this process and calls the student's functions through the kernel, so no
    student code can change a verdict (see ``judge.py``). A cell that loops forever is
    interrupted after ``timeout``; a kernel that dies (``os._exit``, a crash, a limit) is
    restarted and the cells before are replayed; output beyond ``max_output_bytes`` per cell
    is cut. What happened is recorded as findings (``integrity.py``).

    A notebook in which anything timed out is executed once more, from the start in a fresh
    kernel (``retry_timeouts``): on a machine busy with other work a slow moment can push a
    correct cell past its limit, and that must not cost the student points. The second run
    is the result; if it times out too, the finding says so.
    """

    kernel_manager_class = Type(SandboxedKernelManager, klass="jupyter_client.KernelManager",
                                config=True, help="The kernel manager for student kernels.")
    max_output_bytes = Integer(1_000_000, help="Output kept per cell (bytes); the rest is "
                               "dropped with a note.").tag(config=True)
    notebook_timeout = Integer(900, help="Seconds a whole notebook may run; later cells are "
                               "not run.").tag(config=True)
    kernel_restarts = Integer(3, help="Kernel deaths survived per notebook (the kernel is "
                              "restarted and earlier cells replayed).").tag(config=True)
    preload = List(Unicode(), help="Modules imported when each kernel starts (before student "
                   "code), e.g. ['numpy', 'matplotlib.pyplot'].").tag(config=True)
    zygote_preload = List(Unicode(), help="More modules for the zygote of `dlmath grade`'s "
                          "workers to import: it imports once for all its kernels, so heavy "
                          "modules some notebooks need (torch) cost nothing there."
                          ).tag(config=True)
    retry_timeouts = Bool(True, help="Execute a notebook in which a cell or test timed out "
                          "once more in a fresh kernel, and keep that run (a busy machine "
                          "must not cost points).").tag(config=True)

    def __init__(self, **kwargs: Any) -> None:
        # nbgrader's Execute would otherwise pass its plain AsyncKernelManager.
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(**kwargs)

    async def async_start_new_kernel_client(self) -> Any:
        """nbclient's, without jupyter_client's fixed 0.2 s wait that flushes IOPub.

        The kernel is ready once it answers kernel_info on the shell channel and its status
        for that request arrives on IOPub (which proves IOPub is connected too).
        """
        from nbclient.util import run_hook

        self.kc = self.km.client()
        await ensure_async(self.kc.start_channels())
        deadline = time.monotonic() + self.startup_timeout
        while True:
            request = self.kc.kernel_info()
            if await self._answered(request):
                break
            if not await ensure_async(self.km.is_alive()):
                raise RuntimeError("Kernel died before replying to kernel_info"
                                   + (f":\n{self.km.log_tail()}" if hasattr(self.km, "log_tail")
                                      else ""))
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {self.startup_timeout} seconds")
        self.kc.allow_stdin = False
        await run_hook(self.on_notebook_start, notebook=self.nb)
        return self.kc

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    async def _answered(self, request: str, timeout: float = 1.0) -> bool:
        """Whether the kernel replies to ``request`` and reports going idle after it."""
        replied = idle = False
        deadline = time.monotonic() + timeout
        while not (replied and idle) and time.monotonic() < deadline:
            channel = self.kc.iopub_channel if replied else self.kc.shell_channel
            try:
                msg = await ensure_async(channel.get_msg(timeout=deadline - time.monotonic()))
            except Empty:
                return False
            if msg["parent_header"].get("msg_id") != request:
                continue
            replied = replied or msg["msg_type"] == "kernel_info_reply"
            idle = msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle"
        return replied and idle

    def kernel_arguments(self) -> list[str]:
        """The kernel's arguments: nbgrader's, and the preloaded modules.

        Modules are imported under a throw-away name, so the user namespace starts as a fresh
        kernel's.
        """
        arguments = list(self.extra_arguments)
        if not any(a.startswith("--HistoryManager.hist_file") for a in arguments):
            arguments.append(f"--HistoryManager.hist_file={self.ipython_hist_file}")
        # The judge's agent too: its first request then costs nothing.
        for module in dict.fromkeys([*self.preload, "dlmath.agent"]):
            arguments.append(f"--IPKernelApp.exec_lines=import {module} as _dlmath_preload; "
                             "del _dlmath_preload")
        # Every figure inline, whichever backend the student picks: feedback shows it, and a
        # backend the grader lacks costs no points.
        arguments.append(PLOTS_INLINE)
        return arguments

    # -- the notebook ---------------------------------------------------------------------

    def preprocess(self, nb: NotebookNode, resources: Any = None,
                   km: Any = None) -> tuple[NotebookNode, Any]:
        """Execute ``nb``: student cells in the sandboxed kernel, test cells in the judge;
        a second time, in a fresh kernel, if anything timed out (``retry_timeouts``)."""
        unexecuted = copy.deepcopy(nb) if self.retry_timeouts else None
        nb, resources = self._execute(nb, resources, km)
        timeouts = [f for f in self._execution_findings(nb) if f.kind == "timeout"]
        if not timeouts or unexecuted is None:
            return nb, resources
        self.log.warning("%s timed out (%s); executing the notebook again in a fresh kernel",
                         (resources or {}).get("nbgrader", {}).get("student", "a notebook"),
                         "; ".join(f"{f.where}: {f.detail}" for f in timeouts))
        # In place: callers such as execution.execute_job keep their reference to ``nb``.
        nb.cells, nb.metadata = unexecuted.cells, unexecuted.metadata
        nb, resources = self._execute(nb, resources, km=None)
        if any(f.kind == "timeout" for f in self._execution_findings(nb)):
            self._found("timeout", "notebook", "timed out again when executed a second time, "
                                               "in a fresh kernel")
        return nb, resources

    @staticmethod
    def _execution_findings(nb: NotebookNode) -> list[Finding]:
        return [Finding(**f) for f in nb.metadata.get("dlmath", {}).get(integrity.EXECUTION, [])]

    def _execute(self, nb: NotebookNode, resources: Any, km: Any) -> tuple[NotebookNode, Any]:
        from nbclient import NotebookClient

        NotebookClient.__init__(self, nb, km)
        self.reset_execution_trackers()
        self._check_assign_resources(resources)
        self.extra_arguments = self.kernel_arguments()
        nb.metadata.setdefault("dlmath", {})[integrity.EXECUTION] = []
        self._scan_answers(nb)
        self._executed: list[int] = []
        self._restarts = 0
        self._output_bytes: dict[int, int] = {}
        self._spare_managers: list[Any] = []
        started = time.monotonic()
        try:
            with self.setup_kernel():
                if not getattr(self.km, "sandboxed", True):
                    self._found("sandbox", "kernel", unsandboxed_detail())
                info = self.wait_for_reply(self.kc.kernel_info())
                if info is not None:
                    nb.metadata["language_info"] = info["content"]["language_info"]
                send_files(self, self._files(), self.timeout or 60)
                judge = Judge(self, [c.source for c in nb.cells if is_given_cell(c)],
                              timeout=self.timeout or 60)
                for index, cell in enumerate(nb.cells):
                    if cell.cell_type != "code":
                        continue
                    if time.monotonic() - started > self.notebook_timeout:
                        self._not_run(cell, index, "timeout", f"the notebook used up its "
                                                              f"{self.notebook_timeout} s")
                    elif self._restarts > self.kernel_restarts:
                        self._not_run(cell, index, "crash", "the kernel died too often")
                    elif is_test_cell(cell):
                        self._run_test_cell(judge, cell, index)
                    else:
                        self._run_student_cell(cell, index)
                for finding in judge.audit():
                    self._found("tampering", "kernel", finding)
        finally:
            for manager in self._spare_managers:
                run_sync(self._shutdown)(manager)
        self._record_limits(nb)
        return nb, self.resources

    def _not_run(self, cell: NotebookNode, index: int, kind: str, why: str) -> None:
        cell.outputs = [new_output("error", ename="NotRun", evalue=why,
                                   traceback=[f"This cell was not run: {why}."])]
        self._found(kind, integrity.cell_name(cell, index), why)

    def _files(self) -> dict[str, bytes]:
        """The assignment's files that go beside the notebook in the kernel's folder."""
        files = self.resources.get("dlmath", {}).get("files")
        if files is not None:
            return files
        return folder_files(Path(self.resources.get("metadata", {}).get("path") or "."))

    def _found(self, kind: str, where: str, detail: str) -> None:
        integrity.record(self.nb, Finding(kind, where, detail), during=integrity.EXECUTION)

    def _scan_answers(self, nb: NotebookNode) -> None:
        """Record what in the student's own cells looks like tampering (read, not run)."""
        given_cells = [c.source for c in nb.cells if is_given_cell(c)]
        modules = set().union(*(integrity.imported_names(source) for source in given_cells))
        given = set().union(*(integrity.top_level_names(source) for source in given_cells))
        given -= modules
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or is_test_cell(cell) or is_given_cell(cell):
                continue
            where = integrity.cell_name(cell, index)
            for sentence in integrity.suspicious_code(cell.source, modules):
                self._found("suspicious code", where, sentence)
            for name in sorted(integrity.top_level_names(cell.source) & given):
                self._found("suspicious code", where, f"redefines the given {name}")

    def _record_limits(self, nb: NotebookNode) -> None:
        for index, cell in enumerate(nb.cells):
            for output in cell.get("outputs", []):
                if output.get("output_type") != "error" or is_test_cell(cell):
                    continue
                limit = integrity.limit_hit(output.get("ename", ""), output.get("evalue", ""))
                if limit:
                    self._found("limit", integrity.cell_name(cell, index), limit)

    # -- student cells --------------------------------------------------------------------

    def _run_test_cell(self, judge: Judge, cell: NotebookNode, index: int) -> None:
        """Run a test cell in the judge, timed like nbclient times the cells it runs."""
        from nbclient.client import timestamp

        self.code_cells_executed += 1
        where = integrity.cell_name(cell, index)
        started = timestamp()
        cell.outputs = judge.run_test(cell.source, where)
        cell.metadata["execution"] = {"iopub.execute_input": started,
                                      "shell.execute_reply": timestamp()}
        if any(o.get("ename") == "CellTimeoutError" for o in cell.outputs):
            self._found("timeout", where, f"the student's code did not finish within the "
                                          f"{self.timeout} s a test cell may take")
        cell.execution_count = self.code_cells_executed
        self._stop_strays(where)

    def _stop_strays(self, where: str) -> None:
        stop = getattr(self.km, "stop_strays", None)
        stopped = stop() if stop else 0
        if stopped:
            self._found("processes", where, f"left {stopped} processes running; they were stopped")

    def _run_student_cell(self, cell: NotebookNode, index: int) -> None:
        where = integrity.cell_name(cell, index)
        try:
            self.preprocess_cell(cell, self.resources, index)
            self._stop_strays(where)
        except CellTimeoutError:
            cell.outputs.append(new_output(
                "error", ename="CellTimeoutError", evalue=f"more than {self.timeout} s",
                traceback=[f"This cell did not finish within {self.timeout} s and could not be "
                           "interrupted. The cells after it ran in a fresh kernel."]))
            self._found("timeout", where, f"did not finish within {self.timeout} s")
            self._recover()
            return
        except DeadKernelError:
            cell.outputs.append(new_output(
                "error", ename="DeadKernelError", evalue="the kernel died",
                traceback=["The Python kernel died while running this cell (os._exit, a crash, "
                           "or a sandbox limit). The cells after it ran in a fresh kernel."]))
            self._found("crash", where, "the kernel died")
            self._recover()
            return
        except Exception as error:  # noqa: BLE001 - e.g. forked children writing to its sockets
            cell.outputs.append(new_output(
                "error", ename="KernelError", evalue=f"{type(error).__name__}: {error}",
                traceback=["The kernel sent messages that could not be read while running this "
                           "cell (processes forked from it, perhaps). The cells after it ran in "
                           "a fresh kernel."]))
            self._found("crash", where, f"the kernel sent unreadable messages "
                                        f"({type(error).__name__})")
            self._recover()
            return
        if any(o.get("ename") == "CellTimeoutError" for o in cell.outputs
               if o.get("output_type") == "error"):
            self._found("timeout", where, f"did not finish within {self.timeout} s")
            if not self._responsive():
                self._recover()
            return
        self._executed.append(index)

    def output(self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None,
               cell_index: int) -> NotebookNode | None:
        """Keep at most ``max_output_bytes`` of a cell's output, then a note saying so."""
        content = msg.get("content", {})
        size = len(content.get("text", "")) + sum(len(str(v)) for v in
                                                  content.get("data", {}).values())
        used = self._output_bytes.get(cell_index, 0)
        self._output_bytes[cell_index] = used + size
        if used + size <= self.max_output_bytes:
            return super().output(outs, msg, display_id, cell_index)
        if used <= self.max_output_bytes:
            if "text" in content:  # keep the part of this stream that fits
                clipped = copy.deepcopy(msg)
                clipped["content"]["text"] = content["text"][:self.max_output_bytes - used]
                super().output(outs, clipped, display_id, cell_index)
            outs.append(new_output("stream", name="stdout", text=(
                f"\n[output cut: this cell printed more than {self.max_output_bytes:,} bytes]\n")))
            self._found("output", integrity.cell_name(self.nb.cells[cell_index], cell_index),
                        f"printed more than {self.max_output_bytes:,} bytes")
        return None

    # -- the channel the judge uses -------------------------------------------------------

    def request(self, code: str, timeout: float) -> str:
        """Run ``code`` silently in the student's kernel and return the agent's reply.

        On a timeout the kernel is interrupted (and restarted if that does not stop it); if
        the kernel dies it is restarted; either way the judge gets an exception to report.
        """
        try:
            outcome, reply = run_sync(self._exchange)(code, timeout)
        except Exception as error:  # noqa: BLE001 - unreadable messages: the kernel is unusable
            self._found("crash", "test", f"the kernel sent unreadable messages "
                                         f"({type(error).__name__})")
            self._recover()
            raise StudentKernelDied("the kernel sent messages the grader could not read (processes "
                                    "forked from it, perhaps); it was restarted") from error
        if outcome == "reply":
            return reply
        if outcome == "timeout":
            if not run_sync(self._interrupt_and_wait)():
                self._recover()
            raise StudentTimeout(f"your code did not finish within the {self.timeout} s this "
                                 "test cell may take (it was interrupted)")
        if outcome == "died":
            self._found("crash", "test", "the kernel died during a test")
            self._recover()
            raise StudentKernelDied("the Python kernel died while running your code "
                                    "(os._exit, a crash, or a sandbox limit)")
        raise StudentCodeError("your kernel did not answer the grader: its code may have "
                               "been changed by your notebook")

    async def _exchange(self, code: str, timeout: float) -> tuple[str, str]:
        self._pending = self.kc.execute(code, silent=True, store_history=False,
                                        allow_stdin=False, stop_on_error=False)
        deadline = time.monotonic() + timeout
        reply = None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return "timeout", ""
            try:
                msg = await ensure_async(self.kc.get_iopub_msg(timeout=min(remaining, 0.5)))
            except Empty:
                if not await ensure_async(self.km.is_alive()):
                    return "died", ""
                continue
            if msg["parent_header"].get("msg_id") != self._pending:
                continue
            if msg["msg_type"] == "display_data" and agent.REPLY_MIME in msg["content"].get(
                    "data", {}):
                if reply is not None:
                    self._found("tampering", "kernel", "the kernel sent the grader more than one "
                                                       "reply to a request (forged replies)")
                    continue
                reply = msg["content"]["data"][agent.REPLY_MIME]
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return ("reply", reply) if isinstance(reply, str) else ("silent", "")

    async def _interrupt_and_wait(self, grace: float = 5.0) -> bool:
        """Interrupt the kernel; True if the pending request then finishes within ``grace``."""
        await ensure_async(self.km.interrupt_kernel())
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                msg = await ensure_async(self.kc.get_iopub_msg(timeout=0.5))
            except Empty:
                if not await ensure_async(self.km.is_alive()):
                    return False
                continue
            if msg["parent_header"].get("msg_id") == self._pending and \
                    msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return True
        return False

    def _responsive(self) -> bool:
        outcome, _ = run_sync(self._exchange)("pass", 10)
        return outcome in ("reply", "silent")

    def _recover(self) -> None:
        """Replace a dead or stuck kernel with a fresh one and replay the cells that ran."""
        self._restarts += 1
        run_sync(self._restart)()
        for index in list(self._executed):
            try:
                outcome, _ = run_sync(self._exchange)(self.nb.cells[index].source,
                                                      self.timeout or 60)
            except Exception:  # noqa: BLE001 - unreadable messages: treat as a dead kernel
                outcome = "died"
            if outcome not in ("reply", "silent"):
                self._executed.remove(index)
                if outcome == "timeout" and not run_sync(self._interrupt_and_wait)():
                    run_sync(self._restart)()

    async def _restart(self) -> None:
        # nbclient's pollers of the failed cell may still be pending: they watch the old kernel.
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()
        old_manager, old_client = self.km, self.kc
        old_client.stop_channels()
        self._spare_managers.append(old_manager)
        await self._shutdown(old_manager)
        self.km = self.kernel_manager_class(kernel_name=self.kernel_name or "python3",
                                            config=self.config)
        self._spare_managers.append(self.km)
        await ensure_async(self.km.start_kernel(extra_arguments=self.extra_arguments))
        await self.async_start_new_kernel_client()
        send_files(self, self._files(), self.timeout or 60)

    @staticmethod
    async def _shutdown(manager: Any) -> None:
        try:
            if await ensure_async(manager.is_alive()):
                await ensure_async(manager.shutdown_kernel(now=True))
            await ensure_async(manager.cleanup_resources())
        except (TimeoutError, RuntimeError, OSError):
            pass


def execute_settings(execute: SafeExecute) -> dict[str, Any]:
    """The settings a worker needs to execute a notebook exactly as ``execute`` would."""
    values = execute.trait_values()
    return {name: values[name] for name in (
        "timeout", "extra_arguments", "interrupt_on_timeout", "raise_on_iopub_timeout",
        "error_on_timeout", "max_output_bytes", "notebook_timeout", "kernel_restarts",
        "preload", "zygote_preload", "retry_timeouts")}


class CachedExecute(SafeExecute):
    """``SafeExecute`` that first looks for the notebook already executed by a worker.

    ``dlmath grade`` executes notebooks on workers and stores each result under a digest of
    everything that decides it (``execution.execution_key``). If this notebook's result is
    there, its outputs and findings are used; otherwise (or when ``cache_directory`` is empty,
    as under plain ``nbgrader autograde``) the notebook is executed here.
    """

    cache_directory = Unicode(
        "", help="Folder of executed notebooks named <execution key>.ipynb; empty: no cache."
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: Any = None,
                   km: Any = None) -> tuple[NotebookNode, Any]:
        """Fill ``nb``'s outputs from the cache, or execute it."""
        from dlmath.execution import copy_outputs, execution_key

        if self.cache_directory:
            folder = Path(resources.get("metadata", {}).get("path") or ".")
            key = execution_key(nb, folder_files(folder), execute_settings(self))
            cached = Path(self.cache_directory) / f"{key}.ipynb"
            if cached.is_file():
                copy_outputs(nbformat.read(cached, as_version=4), nb)
                return nb, resources
        return super().preprocess(nb, resources, km=km)




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
        name = cell.metadata.nbgrader["grade_id"]
        grade = self.gradebook.find_grade(name, self.notebook_id, self.assignment_id,
                                          self.student_id)
        pending_before = grade.needs_manual_grade
        super()._add_score(cell, resources)
        if not utils.is_solution(cell):
            return  # a test cell: a grader's override is reviewed again, as nbgrader does
        self._answers[name] = answer_digest(cell)
        if grade.manual_score is None:
            return
        if self._before is not None and self._before.get(name) == self._answers[name]:
            grade.needs_manual_grade = pending_before
        else:
            grade.needs_manual_grade = True
            why = ("changed since a grader scored it" if self._before is not None else
                   "may have changed since a grader scored it (no record of the graded text)")
            integrity.record(self._nb, Finding(
                "manual grade", name, f"the answer {why}: the score {grade.manual_score:g} is "
                f"kept until it is graded again in the formgrader"))
        self.gradebook.db.commit()
