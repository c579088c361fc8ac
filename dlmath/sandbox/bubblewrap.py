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

Grading fails closed (``policy.py``): without a working bubblewrap (``bwrap``) no kernel starts
(``SandboxUnavailable``, whose message says how to install it). An instructor who cannot
have it opts out explicitly (``dlmath grade --no-sandbox``, or
``c.SandboxedKernelManager.bubblewrap = False``): kernels then run with the same resource
limits in a private temporary folder, and every notebook graded so carries a "sandbox"
finding for the integrity report.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# Where things are inside the sandbox.
INSIDE_WORK = "/tmp/work"
INSIDE_HOME = "/tmp/home"
INSIDE_SOCKETS = "/tmp/.kernel/socket"
INSIDE_CONNECTION = "/run/dlmath/kernel.json"
INSIDE_MPL_CACHE = "/run/dlmath/mpl"

# Parallelism comes from grading several notebooks at once; a kernel's BLAS or torch
# threads would only fight the other kernels for the same cores.
SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

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


def matplotlib_cache() -> str | None:
    """The grader's matplotlib cache folder (its font list saves each kernel ~1 s)."""
    try:
        import matplotlib
        from matplotlib import font_manager  # noqa: F401 - builds the font cache if missing
    except ImportError:
        return None
    return matplotlib.get_cachedir()


@functools.cache
def python_usable_by_others() -> bool:
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
    cache = matplotlib_cache()
    return [bwrap, "--die-with-parent", "--new-session", "--unshare-ipc", "--unshare-pid",
            "--unshare-net", "--unshare-uts", "--unshare-cgroup-try", *options,
            *tmp, "--tmpfs", "/tmp", *_system_binds(), "--proc", "/proc", "--dev", "/dev",
            "--perms", "0755", "--dir", "/run",
            "--perms", "0755", "--dir", os.path.dirname(INSIDE_CONNECTION), *binds,
            *(["--ro-bind", cache, INSIDE_MPL_CACHE] if cache else []),
            "--clearenv", *[a for k, v in environment.items() for a in ("--setenv", k, v)]]
