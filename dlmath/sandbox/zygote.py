"""A zygote: one sandboxed process per grading worker that forks a fresh kernel per notebook.

Starting a kernel costs far more than most notebooks take to run: Python, ipykernel, and the
course's imports (torch alone takes over a second of CPU). The zygote pays that once: it runs
inside a bubblewrap sandbox, imports everything, and for each notebook forks a new process
that enters namespaces of its own (mount, process, network, IPC, host name), mounts a private
size-limited /tmp and its own /proc, drops to a user id of its own with the sandbox's resource
limits, and only then becomes an IPython kernel. Every notebook still gets a fresh interpreter
state (a fork of one that never ran student code), and no kernel can see another's processes,
files or sockets, nor the zygote.

It needs real root in the sandbox (to create the namespaces and switch user ids); elsewhere
``dlmath grade`` falls back to one bubblewrap sandbox per kernel (``kernels.py``).

Protocol (JSON lines over the zygote's stdin/stdout): ``{"spawn": id, ...}`` answered by
``{"spawned": id, "pid": pid}``; ``{"kill": id}``; the zygote reports ``{"exited": id,
"status": code}`` when a kernel ends.

Process tree of one kernel: zygote -> keeper (holds the kernel's namespaces, relays a kill)
-> init (pid 1 of the kernel's namespace, reaps) -> kernel.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import queue
import select
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from dlmath.deadlines import poll
from dlmath.sandbox import privileges
from dlmath.sandbox.bubblewrap import (
    INSIDE_SOCKETS,
    base_environment,
    bubblewrap_command,
    sandbox_status,
)
from dlmath.sandbox.processes import descendant_pids

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWPID, CLONE_NEWNET = 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND = 1, 2, 4, 8, 32, 4096
MS_REC, MS_PRIVATE = 16384, 1 << 18


class ZygoteError(RuntimeError):
    """The zygote could not start or fork a kernel (the caller falls back to plain sandboxes)."""


# ---------------------------------------------------------------------------------------
# Inside the sandbox
# ---------------------------------------------------------------------------------------

def _libc_call(name: str, *args: Any) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if getattr(libc, name)(*args) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"{name}: {os.strerror(error)}")


def _mount(source: str | None, target: str, kind: str | None, flags: int,
           data: str | None = None) -> None:
    encode = lambda text: text.encode() if text is not None else None  # noqa: E731
    _libc_call("mount", encode(source), encode(target), encode(kind), ctypes.c_ulong(flags),
               encode(data))


def _fork(child: Any, *args: Any) -> int:
    """Fork; the child runs ``child(*args)`` and never returns. Returns the child's pid."""
    pid = os.fork()
    if pid == 0:
        try:
            child(*args)
        finally:
            os._exit(1)
    return pid


def _become_kernel(spec: dict[str, Any]) -> None:
    """In the kernel process: private folders, own user, limits, then the IPython kernel."""
    sockets = os.path.dirname(INSIDE_SOCKETS)
    os.makedirs(sockets, exist_ok=True)
    connection = os.path.join(sockets, "kernel.json")
    with open(connection, "w") as handle:
        json.dump(spec["connection"], handle)
    os.chmod(connection, 0o600)
    privileges.enter({"folders": [spec["home"], spec["work"], sockets], "home": spec["home"],
                      "work": spec["work"], "uid": spec["uid"], "limits": spec["limits"],
                      "mpl_cache": spec.get("mpl_cache")})
    os.environ.clear()
    os.environ.update(spec["env"])
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(["-f", connection, *spec["arguments"]])
    app.start()


def _init(spec: dict[str, Any]) -> None:
    """Pid 1 of the kernel's process namespace: start the kernel, reap everything, and end
    (taking the namespace with it) with the kernel."""
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    kernel = _fork(_become_kernel, spec)
    while True:
        pid, status = os.wait()
        if pid == kernel:
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def _keeper(spec: dict[str, Any]) -> None:
    """In the forked child: enter new namespaces, then run init and the kernel in them."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.closerange(3, 65536)
    _libc_call("unshare", CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC
               | CLONE_NEWUTS)
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    # The kernel's own /tmp would hide this Python if it lives under /tmp (a checkout there):
    # keep those folders aside, mount the new /tmp, and put them back, read-only.
    kept = [root for root in spec["roots"] if root.startswith("/tmp/")]
    for index, root in enumerate(kept):
        os.makedirs(f"/.kept/{index}", exist_ok=True)
        _mount(root, f"/.kept/{index}", None, MS_BIND | MS_REC)
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={spec['disk']},mode=1777")
    for index, root in enumerate(kept):
        os.makedirs(root, exist_ok=True)
        _mount(f"/.kept/{index}", root, None, MS_BIND | MS_REC)
        _mount(None, root, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID)
    init = _fork(_init, spec)
    signal.signal(signal.SIGTERM, lambda *_: os.kill(init, signal.SIGKILL))
    while True:
        try:
            _, status = os.waitpid(init, 0)
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
        except InterruptedError:
            continue


def serve() -> None:
    """The zygote's main loop: import everything, then fork kernels on request."""
    settings = json.loads(sys.argv[1])
    os.environ.update(settings["env"])
    for module in settings["preload"]:
        try:
            importlib.import_module(module)
        except ImportError:
            pass  # the notebook will say so itself
    importlib.import_module("ipykernel.kernelapp")
    importlib.import_module("dlmath.judge.agent")
    out = os.fdopen(os.dup(1), "w", buffering=1)
    kernels: dict[int, str] = {}

    def say(message: dict[str, Any]) -> None:
        out.write(json.dumps(message) + "\n")

    say({"ready": True})
    commands, pending = os.dup(0), b""
    # A kernel's end wakes the loop at once (through this pipe), so it is reported at once.
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    while True:
        readable, _, _ = select.select([commands, wake_read], [], [], 1.0)
        if wake_read in readable:
            os.read(wake_read, 4096)
        if commands in readable:
            # Raw reads: a buffered readline could keep a second request where select()
            # cannot see it.
            data = os.read(commands, 1 << 20)
            if not data:
                return  # the worker is gone: so is the sandbox (bubblewrap kills us)
            pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = json.loads(line)
            if "spawn" in request:
                pid = _fork(_keeper, request)
                kernels[pid] = request["spawn"]
                say({"spawned": request["spawn"], "pid": pid})
            elif "kill" in request:
                for pid, name in kernels.items():
                    if name == request["kill"]:
                        os.kill(pid, signal.SIGTERM)
        while kernels:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            if pid in kernels:
                say({"exited": kernels.pop(pid), "status": os.waitstatus_to_exitcode(status)})


# ---------------------------------------------------------------------------------------
# In the grading worker
# ---------------------------------------------------------------------------------------

class Zygote:
    """A running zygote sandbox and the kernels it forked."""

    def __init__(self, sandbox: list[str], preload: list[str], env: dict[str, str],
                 log_file: str, remove_log: bool = False) -> None:
        settings = {"preload": preload, "env": env}
        self.log_file, self.remove_log = log_file, remove_log
        with open(log_file, "ab") as log:
            self.process = subprocess.Popen(
                [*sandbox, sys.executable, "-m", "dlmath.sandbox.zygote", json.dumps(settings)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, text=True,
                bufsize=1)
        self.preload = list(preload)
        self.replies: dict[str, queue.Queue] = {}
        # Filled by the reader thread, read by the grading thread: both under the lock.
        self._exits: dict[str, int] = {}
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()  # not _lock: a blocked write must not stop the reader
        first = self.process.stdout.readline()
        if not first or not json.loads(first).get("ready"):
            raise ZygoteError(f"the zygote did not start (see {log_file})")
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            message = json.loads(line)
            if "spawned" in message:
                self._queue(message["spawned"]).put(message["pid"])
            elif "exited" in message:
                with self._lock:
                    self._exits[message["exited"]] = message["status"]

    def _queue(self, name: str) -> queue.Queue:
        with self._lock:
            return self.replies.setdefault(name, queue.Queue())

    def exit_status(self, name: str) -> int | None:
        """Kernel ``name``'s exit status once the zygote has reported it ended, else None."""
        with self._lock:
            return self._exits.pop(name, None)

    def _send(self, message: dict[str, Any]) -> None:
        with self._send_lock:  # one message per line, whichever thread sends
            self.process.stdin.write(json.dumps(message) + "\n")
            self.process.stdin.flush()

    def alive(self) -> bool:
        """Whether the zygote still runs."""
        return self.process.poll() is None

    def spawn(self, name: str, spec: dict[str, Any], timeout: float = 30) -> int:
        """Fork kernel ``name``; return the host pid of its keeper process."""
        self._send({"spawn": name, **spec})
        try:
            zygote_pid = self._queue(name).get(timeout=timeout)
        except queue.Empty as error:
            raise ZygoteError("the zygote did not fork a kernel") from error
        return self._host_pid(zygote_pid)

    def _host_pid(self, zygote_pid: int) -> int:
        """The pid, as this machine sees it, of a process the zygote sees as ``zygote_pid``."""
        def find() -> int | None:
            for pid in descendant_pids(self.process.pid):
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                line = next((row for row in status.splitlines() if row.startswith("NSpid:")), "")
                pids = line.split()[1:]
                if len(pids) == 2 and int(pids[1]) == zygote_pid:
                    return pid
            return None

        pid = poll(find, 10, interval=0.002)
        if pid is None:
            raise ZygoteError(f"no process {zygote_pid} in the zygote's sandbox")
        return pid

    def kill(self, name: str) -> None:
        """Stop kernel ``name`` and everything it started."""
        if self.alive():
            self._send({"kill": name})

    def close(self) -> None:
        """Stop the zygote (its sandbox takes every kernel with it). A log of its own
        (``remove_log``) is removed when it ran until now (only its imports' warnings are in
        it), and kept when it died on its own: then the log says why."""
        if self.alive():
            self.process.kill()
            self.process.wait()
            if self.remove_log:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(self.log_file)


class ZygoteProcess:
    """Stands in for the ``Popen`` of a kernel forked by a zygote (for its provisioner)."""

    stdin = stdout = stderr = None

    def __init__(self, zygote: Zygote, name: str, pid: int) -> None:
        self.zygote, self.name, self.pid = zygote, name, pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """The kernel's exit status, or None while it runs."""
        if self.returncode is None:
            status = self.zygote.exit_status(self.name)
            if status is not None:
                self.returncode = status
            elif not self.zygote.alive():
                self.returncode = -signal.SIGKILL
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait until the kernel has ended."""
        if poll(self.poll, timeout, interval=0.01) is None:
            raise subprocess.TimeoutExpired("kernel", timeout)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        """Interrupts go to the kernel as messages; any other signal stops it."""
        if signum != signal.SIGINT:
            self.kill()

    def kill(self) -> None:
        """Stop the kernel."""
        self.zygote.kill(self.name)

    terminate = kill


def start_zygote(preload: list[str], log_file: str | None = None) -> Zygote:
    """A zygote in a bubblewrap sandbox of its own, as root there (see the module docstring).
    Its standard error goes to ``log_file`` (default: a new ``dlmath-zygote-*.log`` in the
    temporary folder, one per zygote, removed by ``Zygote.close`` unless the zygote died; a
    ``log_file`` given is the caller's, never removed).

    Raises ZygoteError where that is not possible (no bubblewrap, not root).
    """
    if os.getuid() != 0 or not sandbox_status().available:
        raise ZygoteError("a zygote needs bubblewrap and root")
    own_log = log_file is None
    if log_file is None:
        handle, log_file = tempfile.mkstemp(prefix=f"dlmath-zygote-{os.getpid()}-",
                                            suffix=".log")
        os.close(handle)
    env = base_environment()
    sandbox = bubblewrap_command("bwrap", env, options=["--cap-add", "ALL"], tmp=[], binds=[])
    return Zygote(sandbox, preload, env, log_file, remove_log=own_log)


if __name__ == "__main__":
    serve()
