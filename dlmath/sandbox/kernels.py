"""Jupyter kernel managers whose kernels run sandboxed (``bubblewrap.py``), started either
from scratch or forked by a zygote (``zygote.py``).

They plug into jupyter_client where it is meant to be extended: the kernel's command line
(``format_kernel_cmd``) and a kernel provisioner, which launches the process, reports where
its sockets are and cleans up (``SandboxProvisioner``, ``ZygoteProvisioner``). Interrupts are
messages (the kernel spec's ``interrupt_mode = "message"``): a signal would reach bubblewrap,
not the kernel.

Configure them in nbgrader_config.py, e.g. ``c.SandboxedKernelManager.memory_limit``.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from queue import Empty
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import Bool, DottedObjectName, Integer, Type, Unicode

from dlmath.deadlines import Deadline, poll
from dlmath.sandbox import privileges
from dlmath.sandbox.bubblewrap import (
    INSIDE_CONNECTION,
    INSIDE_HOME,
    INSIDE_MPL_CACHE,
    INSIDE_SOCKETS,
    INSIDE_WORK,
    base_environment,
    bubblewrap_command,
    matplotlib_cache,
    python_roots,
    python_usable_by_others,
)
from dlmath.sandbox.policy import require_bubblewrap
from dlmath.sandbox.processes import (
    child_pids,
    descendant_pids,
    is_running,
    process_handle,
    start_time,
)
from dlmath.sandbox.zygote import Zygote, ZygoteProcess

# The kernel's launcher program (standard library only, run with ``python -I -S``): it
# prepares the kernel's folders, drops to the kernel's own user with its limits, then becomes
# the kernel. The sandbox binds the dlmath package at the same path, read-only.
LAUNCHER = str(Path(privileges.__file__).resolve())

class SandboxedKernelClient(AsyncKernelClient):
    """jupyter_client's asynchronous client, ready as soon as its kernel is.

    jupyter_client's ``wait_for_ready`` waits a fixed 0.2 s on IOPub after the kernel's
    first reply, per notebook. Here the kernel is ready once it answers kernel_info on the
    shell channel and reports going idle for that request on IOPub (which proves IOPub is
    connected too). A kernel that dies first is reported with its log's last lines.
    """

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        """Return when the kernel is ready; RuntimeError if it died or ``timeout`` passed."""
        deadline = Deadline(timeout)
        while not await self._answered(self.kernel_info()):
            if not await self.parent.is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info:\n"
                                   + self.parent.log_tail())
            if deadline.passed():
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")

    async def _answered(self, request: str, timeout: float = 1.0) -> bool:
        """Whether the kernel replies to ``request`` and reports going idle after it."""
        replied = idle = False
        deadline = Deadline(timeout)
        while not (replied and idle) and not deadline.passed():
            channel = self.iopub_channel if replied else self.shell_channel
            try:
                msg = await channel.get_msg(timeout=deadline.remaining())
            except Empty:
                return False
            if msg["parent_header"].get("msg_id") != request:
                continue
            replied = replied or msg["msg_type"] == "kernel_info_reply"
            idle = msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle"
        return replied and idle


class SandboxProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner for a ``SandboxedKernelManager`` (its parent): the
    kernel process gets only the sandbox's environment, runs in the kernel's own folder, logs
    its stderr there, and is reached through the sandbox's root; the folder goes with it."""

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        """The launch arguments, with nothing of the grader's environment."""
        self.kernel_spec = self.parent.kernel_spec  # the manager's, should its name change
        self.kernel_spec.interrupt_mode = "message"
        kwargs = await super().pre_launch(**kwargs)
        kwargs["env"] = self.parent.kernel_environment()
        kwargs["cwd"] = self.parent.host_folder
        return kwargs

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> dict[str, Any]:
        """Start the process; return the connection as the grader reaches it."""
        # The kernel's banner is noise; its errors (a failed start, say) go to a log file.
        with open(self.parent.log_file, "ab") as log:
            info = await super().launch_kernel(cmd, **{**kwargs, "stdout": subprocess.DEVNULL,
                                                       "stderr": log})
        if self.parent.sandboxed:
            info = {**info, "ip": f"/proc/{self._sandbox_pid()}/root{INSIDE_SOCKETS}"}
        return info

    def _sandbox_pid(self) -> int:
        """A process inside the sandbox (bubblewrap's child), as seen from the grader."""
        process = self.process

        def first_child() -> int | None:
            children = child_pids(process.pid)
            if children:
                return children[0]
            if process.poll() is not None:
                raise RuntimeError(f"the sandbox exited at once (code {process.returncode}); "
                                   "run `bwrap --version` to check bubblewrap works")
            return None

        pid = poll(first_child, 30, interval=0.002)
        if pid is None:
            raise RuntimeError("the sandbox did not start within 30 s")
        return pid

    async def cleanup(self, restart: bool = False) -> None:
        """Free the provisioner's resources; after the last shutdown, the kernel's folder."""
        await super().cleanup(restart=restart)
        if not restart:
            shutil.rmtree(self.parent.host_folder, ignore_errors=True)


class ZygoteProvisioner(SandboxProvisioner):
    """The provisioner of a ``ZygoteKernelManager``: the kernel is forked by its zygote."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> dict[str, Any]:
        """Ask the zygote for the kernel instead of starting a process."""
        manager = self.parent
        pid = manager.zygote.spawn(self.kernel_id, manager.zygote_spec(self.connection_info))
        self.process = ZygoteProcess(manager.zygote, self.kernel_id, pid)
        self.pid, self.pgid = pid, None  # never signal a process group: it is the zygote's
        return {**self.connection_info, "ip": f"/proc/{pid}/root{INSIDE_SOCKETS}"}


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels run sandboxed (see the module docstring).

    Configure it in nbgrader_config.py, e.g. ``c.SandboxedKernelManager.memory_limit``.
    """

    memory_limit = Integer(3 * 2**30, help="Address space of each kernel process (bytes); "
                           "allocations beyond it raise MemoryError.").tag(config=True)
    cpu_limit = Integer(900, help="CPU seconds a kernel may use in all.").tag(config=True)
    process_limit = Integer(64, help="Processes and threads a kernel may run at once."
                            ).tag(config=True)
    file_size_limit = Integer(64 * 2**20, help="Largest file a kernel may write (bytes)."
                              ).tag(config=True)
    disk_limit = Integer(256 * 2**20, help="Size of the kernel's private /tmp, its working "
                         "folder included (bytes).").tag(config=True)
    open_files_limit = Integer(256, help="Files a kernel may have open.").tag(config=True)
    bubblewrap = Bool(True, help="Run kernels in bubblewrap; without it no kernel starts. "
                      "False opts out (resource limits only): for machines where bubblewrap "
                      "cannot work, or to measure what it costs. Every notebook graded so is "
                      "reported.").tag(config=True)
    bwrap = Unicode("bwrap", help="The bubblewrap executable.").tag(config=True)

    client_class = DottedObjectName("dlmath.sandbox.kernels.SandboxedKernelClient")
    client_factory = Type(SandboxedKernelClient, klass=AsyncKernelClient)
    provisioner_class: type[SandboxProvisioner] = SandboxProvisioner

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.bubblewrap:
            require_bubblewrap(self.bwrap)
        self.sandboxed = self.bubblewrap
        self.host_folder = tempfile.mkdtemp(prefix="dlmath-kernel-")
        # Without bubblewrap, a kernel running as its own user must pass through to its folder.
        os.chmod(self.host_folder, 0o700 if self.sandboxed else 0o711)
        # A user id nobody else uses, so the process limit counts this kernel alone.
        self._uid = 1_000_000 + random.SystemRandom().randrange(2**24)
        if self.sandboxed:
            self.transport = "ipc"
            self.ip = INSIDE_SOCKETS
        else:
            # Unix sockets in the kernel's own folder: no TCP port other processes could reach.
            self.work_folder = os.path.join(self.host_folder, "work")
            os.makedirs(self.work_folder)
            self.transport = "ipc"
            self.ip = os.path.join(self.work_folder, ".kernel", "socket")
        self.connection_file = os.path.join(self.host_folder, "kernel.json")
        # The manager's own provisioner (jupyter_client creates one only when none is set),
        # for this kernel and its restarts.
        self.kernel_id = self.kernel_id or str(uuid.uuid4())
        self.provisioner = self.provisioner_class(kernel_id=self.kernel_id,
                                                  kernel_spec=self.kernel_spec, parent=self)

    def _limits(self) -> dict[str, int]:
        limits = {"RLIMIT_AS": self.memory_limit, "RLIMIT_CPU": self.cpu_limit,
                  "RLIMIT_FSIZE": self.file_size_limit, "RLIMIT_NOFILE": self.open_files_limit,
                  "RLIMIT_CORE": 0}
        if self.sandboxed or (os.getuid() == 0 and python_usable_by_others()):
            # Without its own user (root) or user namespace (bwrap), the limit would count
            # every process of the grading user.
            limits["RLIMIT_NPROC"] = self.process_limit
        return limits

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        """The kernel's command line, wrapped in the launcher (and bubblewrap)."""
        command = super().format_kernel_cmd(extra_arguments)
        connection = os.path.realpath(self.connection_file)
        python = sys.executable
        if self.sandboxed:
            # The kernel reads a copy: jupyter_client rewrites the connection file with the
            # sockets' path as the grader sees them (through the sandbox's root).
            inside = os.path.join(self.host_folder, "kernel-inside.json")
            shutil.copyfile(connection, inside)
            os.chmod(inside, 0o644)  # readable by the sandbox's own user; the folder is not
            command = [INSIDE_CONNECTION if arg == connection else arg for arg in command]
            settings = {"folders": [INSIDE_WORK, INSIDE_HOME, os.path.dirname(INSIDE_SOCKETS)],
                        "home": INSIDE_HOME, "work": INSIDE_WORK, "uid": self._uid,
                        "mpl_cache": INSIDE_MPL_CACHE, "limits": self._limits()}
            # Every namespace but the user namespace under root: the launcher then drops to a
            # user id of its own, which a user namespace could not map.
            sandbox = bubblewrap_command(
                self.bwrap, self.kernel_environment(),
                options=["--unshare-user"] if os.getuid() != 0 else [],
                tmp=["--size", str(self.disk_limit), "--perms", "1777"],
                binds=["--ro-bind", inside, INSIDE_CONNECTION])
            return [*sandbox, python, "-I", "-S", LAUNCHER, json.dumps(settings), *command]
        private = os.path.dirname(self.ip)
        own_user = os.getuid() == 0 and python_usable_by_others()
        settings = {"folders": [self.work_folder, private], "home": self.work_folder,
                    "work": self.work_folder, "uid": self._uid if own_user else None,
                    "connection": [connection, os.path.join(private, "kernel.json")],
                    "mpl_cache": matplotlib_cache(), "limits": self._limits()}
        return [python, "-I", "-S", LAUNCHER, json.dumps(settings), *command]

    def kernel_environment(self) -> dict[str, str]:
        """The kernel's whole environment: nothing of the grader's (no tokens, no paths)."""
        home = INSIDE_HOME if self.sandboxed else self.work_folder
        return {**base_environment(), "HOME": home, "USER": "student",
                "MPLCONFIGDIR": f"{home}/.config/matplotlib", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}

    @property
    def log_file(self) -> str:
        """Where the kernel's stderr goes (read it when a kernel fails to start)."""
        return os.path.join(self.host_folder, "kernel.log")

    def log_tail(self, lines: int = 15) -> str:
        """The last lines the kernel wrote to stderr."""
        try:
            return "\n".join(Path(self.log_file).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop_strays(self) -> int:
        """Stop every process of the kernel's but the kernel itself; return how many there were.

        Processes a cell leaves behind (a daemon, a fork bomb's children) would otherwise run
        on, and forked copies of the kernel can write to its sockets.
        """
        import psutil

        process = getattr(self.provisioner, "process", None)
        if process is None:
            return 0
        top = process.pid
        # Under bubblewrap: its init, whose oldest child is the kernel; without bubblewrap the
        # kernel is the process itself.
        keep = {top}
        if self.sandboxed:
            inits = child_pids(top)
            kernels = [child for init in inits for child in child_pids(init)]
            keep.update(inits)
            if kernels:
                keep.add(min(kernels, key=start_time))
        others = (process_handle(pid) for pid in descendant_pids(top) if pid not in keep)
        strays = [stray for stray in others if stray is not None and is_running(stray)]
        for stray in strays:
            try:
                stray.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(strays, timeout=5)
        return len(strays)


class ZygoteKernelManager(SandboxedKernelManager):
    """A sandboxed kernel forked by a zygote (``zygote.py``) instead of started from scratch."""

    provisioner_class = ZygoteProvisioner

    def __init__(self, zygote: Zygote, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.zygote = zygote
        self.transport, self.ip = "ipc", INSIDE_SOCKETS
        self._arguments: list[str] = []

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        # No command runs: the zygote forks the kernel and passes it these arguments.
        self._arguments = list(extra_arguments or [])
        return ["zygote"]

    def zygote_spec(self, connection: dict[str, Any]) -> dict[str, Any]:
        """What the zygote needs to fork this kernel (see ``zygote.py``'s protocol)."""
        info = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in connection.items()}
        return {"connection": {**info, "ip": INSIDE_SOCKETS}, "arguments": self._arguments,
                "uid": self._uid, "limits": self._limits(), "disk": self.disk_limit,
                "home": INSIDE_HOME, "work": INSIDE_WORK, "mpl_cache": INSIDE_MPL_CACHE,
                "env": self.kernel_environment(), "roots": python_roots()}
