"""``SafeExecute`` (replaces nbgrader's ``Execute``): student cells sandboxed, tests in the judge.

It runs the student's cells in a sandboxed kernel and the test cells in the judge, outside the
student's process, and survives infinite loops, crashes and floods of output. So plain
``nbgrader autograde`` and the formgrader's button grade exactly as ``dlmath grade``.
"""

import asyncio
import copy
from contextlib import nullcontext
from pathlib import Path
from queue import Empty
from typing import Any

from jupyter_client.utils import run_sync
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async
from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import (
    Execute,
)
from traitlets import Bool, Integer, List, Type, Unicode

from dlmath.cells import is_given_cell, is_test_cell
from dlmath.course import STUDENT_ID
from dlmath.deadlines import Deadline
from dlmath.judge import agent, integrity
from dlmath.judge.integrity import Finding
from dlmath.judge.judge import (
    Judge,
    StudentCodeError,
    StudentKernelDied,
    StudentTimeout,
    send_files,
)
from dlmath.sandbox.kernels import SandboxedKernelManager
from dlmath.sandbox.policy import unsandboxed_detail
from dlmath.student.kernel_hooks import PLOTS_INLINE
from dlmath.variants import VariantError, identity
from dlmath.variants.derive import check_key
from dlmath.variants.exercises import numbers_attributes
from dlmath.variants.secret import key_for


def uses_variants(nb: NotebookNode) -> bool:
    """Whether the notebook's given code takes per-student numbers (``student_parameters``)."""
    return any(is_given_cell(c) and "student_parameters" in c.source for c in nb.cells)


def folder_files(folder: Path) -> dict[str, bytes]:
    """The files of ``folder`` (recursively) other than notebooks, by relative path."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.suffix != ".ipynb"}


class SafeExecute(Execute):
    """nbgrader's ``Execute`` made safe for untrusted notebooks.

    Student cells (answers, given code, anything the student added) run in a sandboxed
    kernel (``sandbox.kernels.SandboxedKernelManager``). Test cells never run there: the judge runs
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
    max_output_bytes = Integer(1_000_000, help="Output kept per cell, in characters of text "
                               "(an image counts its base64 text); the rest is dropped with a "
                               "note.").tag(config=True)
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

    def kernel_arguments(self) -> list[str]:
        """The kernel's arguments: nbgrader's, and the preloaded modules.

        Modules are imported under a throw-away name, so the user namespace starts as a fresh
        kernel's.
        """
        arguments = list(self.extra_arguments)
        if not any(a.startswith("--HistoryManager.hist_file") for a in arguments):
            arguments.append(f"--HistoryManager.hist_file={self.ipython_hist_file}")
        # The judge's agent too: its first request then costs nothing.
        for module in dict.fromkeys([*self.preload, "dlmath.judge.agent"]):
            arguments.append(f"--IPKernelApp.exec_lines=import {module} as _dlmath_preload; "
                             "del _dlmath_preload")
        # Every figure inline, whichever backend the student picks: feedback shows it, and a
        # backend the grader lacks costs no points.
        arguments.append(PLOTS_INLINE)
        return arguments

    def variant_key(self, nb: NotebookNode, resources: Any) -> str | None:
        """The key of the numbers this submission is graded against (``dlmath.variants``), or
        None for a notebook without per-student numbers.

        ``dlmath grade``'s workers get it with the job (``resources["dlmath"]["variant"]``);
        otherwise it is computed here from the course secret and the student id nbgrader's
        autograde puts in ``resources``, never from anything in the notebook. Raises
        VariantError, saying why, when the student is unknown or the secret is missing.
        """
        if not uses_variants(nb):
            return None
        given = (resources or {}).get("dlmath", {}).get("variant")
        if given:
            return check_key(given)
        student = (resources or {}).get("nbgrader", {}).get("student")
        if not student or not STUDENT_ID.fullmatch(student):
            got = f"the student id {student!r}, which is not valid" if student else \
                "no student id"
            raise VariantError(
                f"cannot tell whose numbers to grade this notebook against: nbgrader gave {got}. "
                "Each student's numbers come from their id: grade submissions with `nbgrader "
                "autograde` or `dlmath grade`, from submitted/<student id>/<assignment>/")
        return key_for(Path(CourseDirectory(config=self.config).root), self.config, student)

    def _introduce(self) -> None:
        """Tell the student's kernel whose numbers it computes with, before any student code
        runs in it (the judge is told separately, in this process)."""
        if self._variant is not None:
            run_sync(self._exchange)(f"import dlmath.variants.identity as _v; "
                                     f"_v.assume({self._variant!r}); del _v", self.timeout or 60)

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
        self._variant = self.variant_key(nb, resources)
        self.extra_arguments = self.kernel_arguments()
        nb.metadata.setdefault("dlmath", {})[integrity.EXECUTION] = []
        self._scan_answers(nb)
        self._executed: list[int] = []
        self._restarts = 0
        self._output_bytes: dict[int, int] = {}
        self._spare_managers: list[Any] = []
        notebook_deadline = Deadline(self.notebook_timeout)
        try:
            with self.setup_kernel():
                if not getattr(self.km, "sandboxed", True):
                    self._found("sandbox", "kernel", unsandboxed_detail())
                info = self.wait_for_reply(self.kc.kernel_info())
                if info is not None:
                    nb.metadata["language_info"] = info["content"]["language_info"]
                send_files(self, self._files(), self.timeout or 60)
                self._introduce()
                # The given cells run in the judge too: with the submission's numbers.
                with identity.grading_as(self._variant) if self._variant else nullcontext():
                    judge = Judge(self, [c.source for c in nb.cells if is_given_cell(c)],
                                  timeout=self.timeout or 60)
                for index, cell in enumerate(nb.cells):
                    if cell.cell_type != "code":
                        continue
                    if notebook_deadline.passed():
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
        variants = set().union(*(integrity.variant_names(source) for source in given_cells))
        numbers = numbers_attributes() if variants else frozenset()
        given = set().union(*(integrity.top_level_names(source) for source in given_cells))
        given -= modules
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code" or is_test_cell(cell) or is_given_cell(cell):
                continue
            where = integrity.cell_name(cell, index)
            for sentence in integrity.suspicious_code(cell.source, modules, variants, numbers):
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
        """Keep at most ``max_output_bytes`` characters of a cell's output (text, and images
        as their base64 text), then a note saying so."""
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
                f"\n[output cut: this cell printed more than {self.max_output_bytes:,} "
                "characters]\n")))
            self._found("output", integrity.cell_name(self.nb.cells[cell_index], cell_index),
                        f"printed more than {self.max_output_bytes:,} characters")
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
        deadline = Deadline(timeout)
        reply = None
        while True:
            if deadline.passed():
                return "timeout", ""
            try:
                msg = await ensure_async(self.kc.get_iopub_msg(
                    timeout=min(deadline.remaining(), 0.5)))
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
        deadline = Deadline(grace)
        while not deadline.passed():
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
        self._introduce()

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
