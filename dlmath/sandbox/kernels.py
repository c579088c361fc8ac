"""Jupyter kernel managers whose kernels run sandboxed (``bubblewrap.py``), started either
from scratch or forked by a zygote (``zygote.py``).

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
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Integer, Unicode

from dlmath.deadlines import poll
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
from dlmath.sandbox.zygote import ZygoteProvisioner

# The kernel's launcher program (standard library only, run with ``python -I -S``): it
# prepares the kernel's folders, drops to the kernel's own user with its limits, then becomes
# the kernel. The sandbox binds the dlmath package at the same path, read-only.
LAUNCHER = str(Path(privileges.__file__).resolve())

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

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.bubblewrap:
            require_bubblewrap(self.bwrap)
        self.sandboxed = self.bubblewrap
        self._host_folder = tempfile.mkdtemp(prefix="dlmath-kernel-")
        # Without bubblewrap, a kernel running as its own user must pass through to its folder.
        os.chmod(self._host_folder, 0o700 if self.sandboxed else 0o711)
        # A user id nobody else uses, so the process limit counts this kernel alone.
        self._uid = 1_000_000 + random.SystemRandom().randrange(2**24)
        if self.sandboxed:
            self.transport = "ipc"
            self.ip = INSIDE_SOCKETS
        else:
            # Unix sockets in the kernel's own folder: no TCP port other processes could reach.
            self.work_folder = os.path.join(self._host_folder, "work")
            os.makedirs(self.work_folder)
            self.transport = "ipc"
            self.ip = os.path.join(self.work_folder, ".kernel", "socket")
        self.connection_file = os.path.join(self._host_folder, "kernel.json")

    @property
    def working_folder(self) -> str:
        """Where the kernel runs, as the kernel sees it."""
        return INSIDE_WORK if self.sandboxed else self.work_folder

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
            os.chmod(connection, 0o644)  # readable by the sandbox's own user; the folder is not
            command = [INSIDE_CONNECTION if arg == connection else arg for arg in command]
            settings = {"folders": [INSIDE_WORK, INSIDE_HOME, os.path.dirname(INSIDE_SOCKETS)],
                        "home": INSIDE_HOME, "work": INSIDE_WORK, "uid": self._uid,
                        "mpl_cache": INSIDE_MPL_CACHE, "limits": self._limits()}
            # Every namespace but the user namespace under root: the launcher then drops to a
            # user id of its own, which a user namespace could not map.
            sandbox = bubblewrap_command(
                self.bwrap, self._environment(),
                options=["--unshare-user"] if os.getuid() != 0 else [],
                tmp=["--size", str(self.disk_limit), "--perms", "1777"],
                binds=["--ro-bind", connection, INSIDE_CONNECTION])
            return [*sandbox, python, "-I", "-S", LAUNCHER, json.dumps(settings), *command]
        private = os.path.dirname(self.ip)
        own_user = os.getuid() == 0 and python_usable_by_others()
        settings = {"folders": [self.work_folder, private], "home": self.work_folder,
                    "work": self.work_folder, "uid": self._uid if own_user else None,
                    "connection": [connection, os.path.join(private, "kernel.json")],
                    "mpl_cache": matplotlib_cache(), "limits": self._limits()}
        return [python, "-I", "-S", LAUNCHER, json.dumps(settings), *command]

    def _environment(self) -> dict[str, str]:
        """The kernel's whole environment: nothing of the grader's (no tokens, no paths)."""
        home = INSIDE_HOME if self.sandboxed else self.work_folder
        return {**base_environment(), "HOME": home, "USER": "student",
                "MPLCONFIGDIR": f"{home}/.config/matplotlib", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        kw["env"] = self._environment()
        kw["cwd"] = self._host_folder
        # The kernel's banner is noise; its errors (a failed start, say) go to a log file.
        kw["stdout"] = subprocess.DEVNULL
        kw["stderr"] = open(self.log_file, "ab")  # noqa: SIM115 - the kernel process owns it
        try:
            await super()._async_launch_kernel(kernel_cmd, **kw)
        finally:
            kw["stderr"].close()

    @property
    def log_file(self) -> str:
        """Where the kernel's stderr goes (read it when a kernel fails to start)."""
        return os.path.join(self._host_folder, "kernel.log")

    def log_tail(self, lines: int = 15) -> str:
        """The last lines the kernel wrote to stderr."""
        try:
            return "\n".join(Path(self.log_file).read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    async def _async_post_start_kernel(self, **kw: Any) -> None:
        if self.sandboxed:
            # Reach the kernel's sockets through the sandbox's own root.
            self.ip = f"/proc/{self._sandbox_pid()}/root{INSIDE_SOCKETS}"
        await super()._async_post_start_kernel(**kw)

    def _sandbox_pid(self) -> int:
        """A process inside the sandbox (bubblewrap's child), as seen from the grader."""
        process = self.provisioner.process  # type: ignore[union-attr]

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

    async def _async_interrupt_kernel(self) -> None:
        # A signal to bubblewrap would not reach the kernel: ask the kernel itself.
        if self.has_kernel:
            self._connect_control_socket()
            self.session.send(self._control_socket, self.session.msg("interrupt_request", {}))

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart:
            shutil.rmtree(self._host_folder, ignore_errors=True)


class ZygoteKernelManager(SandboxedKernelManager):
    """A sandboxed kernel forked by a zygote (``zygote.py``) instead of started from scratch."""

    def __init__(self, zygote: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.zygote = zygote
        self.transport, self.ip = "ipc", INSIDE_SOCKETS
        self._arguments: list[str] = []

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        # No command runs: the zygote forks the kernel and passes it these arguments.
        self._arguments = list(extra_arguments or [])
        return ["zygote"]

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        import uuid

        self.kernel_id = self.kernel_id or str(uuid.uuid4())
        if self.provisioner is None:
            self.provisioner = ZygoteProvisioner(kernel_id=self.kernel_id,
                                                 kernel_spec=self.kernel_spec, parent=self)
            self.provisioner.zygote = self.zygote
        return await super()._async_pre_start_kernel(**kw)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        info = {k: (v.decode() if isinstance(v, bytes) else v)
                for k, v in self.get_connection_info().items()}
        self.provisioner.spec = {
            "connection": {**info, "ip": INSIDE_SOCKETS}, "arguments": self._arguments,
            "uid": self._uid, "limits": self._limits(), "disk": self.disk_limit,
            "home": INSIDE_HOME, "work": INSIDE_WORK, "mpl_cache": INSIDE_MPL_CACHE,
            "env": self._environment(), "roots": python_roots()}
        await super(SandboxedKernelManager, self)._async_launch_kernel(kernel_cmd, **kw)

    async def _async_post_start_kernel(self, **kw: Any) -> None:
        self.ip = f"/proc/{self.provisioner.pid}/root{INSIDE_SOCKETS}"
        await AsyncKernelManager._async_post_start_kernel(self, **kw)
