"""Sandboxed Jupyter kernels for student code: bubblewrap namespaces plus resource limits.

A sandboxed kernel sees a read-only system (/usr, the Python installation and virtual
environment, the ``dlmath`` package) and a private, size-limited /tmp holding its working
folder; nothing else of the machine: no course folder, no gradebook, no hidden tests, no
other student's work, no home directory. It has no network (its own empty network
namespace), its own process namespace (every process it starts dies with it), and limits on
memory, CPU time, processes, file size and open files. Under root it also runs as an
unprivileged user id of its own, so the process limit counts only its processes.

The kernel talks to the grader over Unix sockets inside the sandbox, reached from outside
through ``/proc/<pid>/root`` (so nothing the sandbox can write is shared with the host).

Grading fails closed: without a working bubblewrap (``bwrap``) no kernel starts
(:class:`SandboxUnavailable`, whose message says how to install it). An instructor who cannot
have it opts out explicitly (``dlmath grade --no-sandbox``, or
``c.SandboxedKernelManager.bubblewrap = False``): kernels then run with the same resource
limits in a private temporary folder, and every notebook graded so carries a "sandbox"
finding for the integrity report.
"""

from __future__ import annotations

import functools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_client.manager import AsyncKernelManager
from traitlets import Bool, Integer, Unicode
from traitlets.config import Config

from dlmath.course import CourseError

# Where things are inside the sandbox.
INSIDE_WORK = "/tmp/work"
INSIDE_HOME = "/tmp/home"
INSIDE_SOCKETS = "/tmp/.kernel/socket"
INSIDE_CONNECTION = "/run/dlmath/kernel.json"
INSIDE_MPL_CACHE = "/run/dlmath/mpl"

# Parallelism comes from grading several notebooks at once; a kernel's BLAS or torch
# threads would only fight the other kernels for the same cores.
SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

# Runs inside the sandbox before the kernel, with no site-packages: sets up the private
# folders, drops root for a user id of the sandbox's own, applies the limits, then becomes
# the kernel. Arguments: a JSON settings object, then the kernel's command line.
_LAUNCHER = r"""
import ctypes, json, os, resource, shutil, sys
settings = json.loads(sys.argv[1])
for folder in settings["folders"]:
    os.makedirs(folder, exist_ok=True)
connection = settings.get("connection")
if connection:  # a private copy, readable by this kernel's user only
    shutil.copyfile(connection[0], connection[1])
    os.chmod(connection[1], 0o600)
    sys.argv = [connection[1] if arg == connection[0] else arg for arg in sys.argv]
cache = settings.get("mpl_cache")
if cache and os.path.isdir(cache):
    target = os.path.join(settings["home"], ".config", "matplotlib")
    os.makedirs(target, exist_ok=True)
    for name in os.listdir(cache):
        if name.endswith(".json"):
            shutil.copy(os.path.join(cache, name), target)
uid = settings.get("uid")
if uid and os.getuid() == 0:
    for top in settings["folders"]:
        for root, dirs, files in os.walk(top):
            for name in [root] + [os.path.join(root, n) for n in dirs + files]:
                os.lchown(name, uid, uid)
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
ctypes.CDLL(None).prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS: no setuid programs
for name, value in settings["limits"].items():
    resource.setrlimit(getattr(resource, name), (value, value))
os.chdir(settings["work"])
os.execv(sys.argv[2], sys.argv[2:])
"""


@dataclass(frozen=True)
class SandboxStatus:
    """Whether bubblewrap sandboxing works here, and what protection is missing if not."""

    available: bool
    detail: str


@functools.cache
def sandbox_status(bwrap: str = "bwrap") -> SandboxStatus:
    """Check once per process that ``bwrap`` exists and can create the sandbox's namespaces."""
    found = shutil.which(bwrap)
    if found is None:
        return SandboxStatus(False, f"bubblewrap ({bwrap}) is not installed")
    probe = [found, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--proc",
             "/proc", "--dev", "/dev", "true"]
    if os.getuid() != 0:
        probe.insert(1, "--unshare-user")
    try:
        result = subprocess.run(probe, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        return SandboxStatus(False, f"bubblewrap does not run here ({error})")
    if result.returncode != 0:
        return SandboxStatus(False, "bubblewrap cannot create namespaces here "
                                    f"({result.stderr.strip() or result.returncode}); in a "
                                    "container, allow user namespaces (sysctl "
                                    "kernel.unprivileged_userns_clone=1, or run the container "
                                    "with a seccomp profile that permits them)")
    return SandboxStatus(True, f"bubblewrap at {found}")


class SandboxUnavailable(CourseError):
    """Student code would run outside the bubblewrap sandbox, and nobody opted out."""


OPT_OUT = ("`dlmath grade --no-sandbox`, or c.SandboxedKernelManager.bubblewrap = False in "
           "nbgrader_config.py")


def check_sandbox(config: Config) -> bool:
    """Whether kernels configured by ``config`` run in bubblewrap (False: opted out).

    Raises SandboxUnavailable when bubblewrap is wanted (the default) but does not work here.
    """
    settings = config.get("SandboxedKernelManager", {})
    if not settings.get("bubblewrap", True):
        return False
    require_bubblewrap(settings.get("bwrap", "bwrap"))
    return True


def require_bubblewrap(bwrap: str = "bwrap") -> None:
    """Raise SandboxUnavailable, saying how to install bubblewrap or opt out, unless ``bwrap``
    works here."""
    status = sandbox_status(bwrap)
    if not status.available:
        raise SandboxUnavailable(
            f"{status.detail}. Grading runs student code only inside the bubblewrap sandbox: "
            "install it (Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora: sudo dnf "
            "install bubblewrap; or bin/setup), or, on a machine where it cannot work, opt "
            f"out explicitly with {OPT_OUT} (student code can then read the grading user's "
            "files and use the network; the integrity report says so).")


MISSING_WITHOUT_SANDBOX = (
    "student code ran without bubblewrap (opted out with {opt_out}): it kept the resource "
    "limits (memory, CPU time, file size, open files{processes}) and a private working folder, "
    "but it could read any file the grading user{user} can read and use the network"
)


def _matplotlib_cache() -> str | None:
    """The grader's matplotlib cache folder (its font list saves each kernel ~1 s)."""
    try:
        import matplotlib
        from matplotlib import font_manager  # noqa: F401 - builds the font cache if missing
    except ImportError:
        return None
    return matplotlib.get_cachedir()


@functools.cache
def _python_usable_by_others() -> bool:
    """Whether a user of no group can run this Python (without bubblewrap, a kernel can then
    run as a user id of its own; a Python under /root, say, cannot be)."""
    import dlmath

    for path in (os.path.realpath(sys.executable), sys.prefix, os.path.dirname(dlmath.__file__)):
        for folder in [*Path(path).parents, Path(path)]:
            mode = folder.stat().st_mode
            if folder.is_dir() and not mode & 0o001:
                return False
    return True


def python_roots() -> list[str]:
    """The folders a kernel needs to see: this Python, its virtual environment, ``dlmath``."""
    import dlmath

    package = str(Path(dlmath.__file__).resolve().parent)
    roots = {str(Path(sys.base_prefix).resolve()), str(Path(sys.prefix).resolve()),
             str(Path(sys.prefix)), package}
    return sorted(root for root in roots
                  if not any(root != other and root.startswith(other + os.sep) for other in roots))


def _system_binds() -> list[str]:
    """bwrap arguments exposing the system and this Python installation, read-only.

    They go after the sandbox's ``--tmpfs /tmp``: a checkout under /tmp stays visible.
    """
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        path = Path(top)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            args += ["--ro-bind", top, top]
    for name in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "fonts",
                 "alternatives"):
        if os.path.exists(f"/etc/{name}"):
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    made = {"/tmp"}  # a mount point already (and world-writable)
    for root in python_roots():
        # bwrap would create the folders above a mount point private (0700); the sandbox's
        # own user must be able to pass through them.
        for parent in reversed(Path(root).parents[:-1]):
            if str(parent) not in made:
                made.add(str(parent))
                args += ["--perms", "0755", "--dir", str(parent)]
        args += ["--ro-bind", root, root]
    return args


def base_environment() -> dict[str, str]:
    """What every sandboxed process's environment holds: this Python first on the path,
    inline plots, one thread per kernel, and this process's ``dlmath`` first on the module
    path.

    The kernel's agent must be the judge's own version: an environment installed from another
    checkout (editable) would otherwise give kernels that checkout's ``dlmath``, which the
    sandbox does not even show.
    """
    import dlmath

    return {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "LANG": "C.UTF-8",
            "MPLBACKEND": "module://matplotlib_inline.backend_inline",
            "PYTHONPATH": str(Path(dlmath.__file__).resolve().parent.parent), **SINGLE_THREADED}


def bubblewrap_command(bwrap: str, environment: dict[str, str], *, options: list[str],
                       tmp: list[str], binds: list[str]) -> list[str]:
    """bwrap's command line for a sandbox (the command to run in it follows).

    Its own IPC, process, network and host-name namespaces, a fresh /tmp, the system and
    this Python read-only, /proc, /dev, /run/dlmath, the matplotlib cache, and
    ``environment`` only. ``options`` add to the namespaces (a user namespace, capabilities),
    ``tmp`` sets up /tmp (size, permissions), ``binds`` add what this sandbox alone needs.
    """
    cache = _matplotlib_cache()
    return [bwrap, "--die-with-parent", "--new-session", "--unshare-ipc", "--unshare-pid",
            "--unshare-net", "--unshare-uts", "--unshare-cgroup-try", *options,
            *tmp, "--tmpfs", "/tmp", *_system_binds(), "--proc", "/proc", "--dev", "/dev",
            "--perms", "0755", "--dir", "/run",
            "--perms", "0755", "--dir", os.path.dirname(INSIDE_CONNECTION), *binds,
            *(["--ro-bind", cache, INSIDE_MPL_CACHE] if cache else []),
            "--clearenv", *[a for k, v in environment.items() for a in ("--setenv", k, v)]]


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
        if self.sandboxed or (os.getuid() == 0 and _python_usable_by_others()):
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
            return [*sandbox, python, "-I", "-S", "-c", _LAUNCHER, json.dumps(settings),
                    *command]
        private = os.path.dirname(self.ip)
        own_user = os.getuid() == 0 and _python_usable_by_others()
        settings = {"folders": [self.work_folder, private], "home": self.work_folder,
                    "work": self.work_folder, "uid": self._uid if own_user else None,
                    "connection": [connection, os.path.join(private, "kernel.json")],
                    "mpl_cache": _matplotlib_cache(), "limits": self._limits()}
        return [python, "-I", "-S", "-c", _LAUNCHER, json.dumps(settings), *command]

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
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            children = child_pids(process.pid)
            if children:
                return children[0]
            if process.poll() is not None:
                raise RuntimeError(f"the sandbox exited at once (code {process.returncode}); "
                                   "run `bwrap --version` to check bubblewrap works")
            time.sleep(0.002)
        raise RuntimeError("the sandbox did not start within 30 s")

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
                keep.add(min(kernels, key=_started))
        others = (_process(pid) for pid in descendant_pids(top) if pid not in keep)
        strays = [stray for stray in others if stray is not None and _running(stray)]
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


def child_pids(pid: int) -> list[int]:
    """The pids of ``pid``'s children (none if it has ended).

    Read from the process's own ``/proc`` entries, which costs a few file reads; psutil's
    ``children()`` reads every process of the machine, a millisecond or more per call, and
    the grader asks after every cell. psutil serves kernels built without those entries.
    """
    if not _PROC_CHILDREN:
        import psutil

        try:
            return [child.pid for child in psutil.Process(pid).children()]
        except psutil.Error:
            return []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    children = []
    for thread in threads:
        try:
            children += map(int, Path(f"/proc/{pid}/task/{thread}/children").read_text().split())
        except OSError:  # the thread or the process has just ended
            continue
    return children


def descendant_pids(pid: int) -> list[int]:
    """The pids of every process below ``pid`` in the process tree."""
    found, todo = [], [pid]
    while todo:
        children = child_pids(todo.pop())
        found += children
        todo += children
    return found


_PROC_CHILDREN = os.path.exists(f"/proc/self/task/{os.getpid()}/children")


def _process(pid: int) -> Any:
    """psutil's handle on process ``pid``, or None if it has ended."""
    import psutil

    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


def _started(pid: int) -> float:
    """When process ``pid`` started (infinitely late if it has ended)."""
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except psutil.Error:
        return float("inf")


def _running(process: Any) -> bool:
    """Whether ``process`` still runs (a zombie only waits for its parent to collect it)."""
    import psutil

    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def unsandboxed_detail() -> str:
    """What a kernel without bubblewrap could do, for the integrity report."""
    root = os.getuid() == 0 and _python_usable_by_others()
    return MISSING_WITHOUT_SANDBOX.format(
        opt_out=OPT_OUT, processes=", processes" if root else "",
        user=" (here a user id of its own, so only world-readable files)" if root else "")


class ZygoteKernelManager(SandboxedKernelManager):
    """A sandboxed kernel forked by a zygote (``zygote.py``) instead of started from scratch."""

    def __init__(self, zygote: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from dlmath.zygote import KERNEL_SOCKETS

        self.zygote = zygote
        self.transport, self.ip = "ipc", KERNEL_SOCKETS
        self._arguments: list[str] = []

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        # No command runs: the zygote forks the kernel and passes it these arguments.
        self._arguments = list(extra_arguments or [])
        return ["zygote"]

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        import uuid

        from dlmath.zygote import ZygoteProvisioner

        self.kernel_id = self.kernel_id or str(uuid.uuid4())
        if self.provisioner is None:
            self.provisioner = ZygoteProvisioner(kernel_id=self.kernel_id,
                                                 kernel_spec=self.kernel_spec, parent=self)
            self.provisioner.zygote = self.zygote
        return await super()._async_pre_start_kernel(**kw)

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        from dlmath.zygote import KERNEL_SOCKETS

        info = {k: (v.decode() if isinstance(v, bytes) else v)
                for k, v in self.get_connection_info().items()}
        self.provisioner.spec = {
            "connection": {**info, "ip": KERNEL_SOCKETS}, "arguments": self._arguments,
            "uid": self._uid, "limits": self._limits(), "disk": self.disk_limit,
            "home": INSIDE_HOME, "work": INSIDE_WORK, "mpl_cache": INSIDE_MPL_CACHE,
            "env": self._environment(), "roots": python_roots()}
        await super(SandboxedKernelManager, self)._async_launch_kernel(kernel_cmd, **kw)

    async def _async_post_start_kernel(self, **kw: Any) -> None:
        from dlmath.zygote import KERNEL_SOCKETS

        self.ip = f"/proc/{self.provisioner.pid}/root{KERNEL_SOCKETS}"
        await AsyncKernelManager._async_post_start_kernel(self, **kw)
