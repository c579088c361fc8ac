"""Grading fails closed: no kernel starts outside bubblewrap unless the instructor opted out.

Without a working bubblewrap (``bwrap``), :func:`require_bubblewrap` raises
:class:`SandboxUnavailable`, whose message says how to install it or how to opt out
(``dlmath grade --no-sandbox``, or ``c.SandboxedKernelManager.bubblewrap = False``). A notebook
graded without it carries :func:`unsandboxed_detail` in its integrity findings.

(Kept apart from ``bubblewrap.py``, which the zygote imports inside the sandbox, where the
course's configuration machinery cannot load.)
"""

from __future__ import annotations

import os

from traitlets.config import Config

from dlmath.course import CourseError
from dlmath.sandbox.bubblewrap import python_usable_by_others, sandbox_status


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


def unsandboxed_detail() -> str:
    """What a kernel without bubblewrap could do, for the integrity report."""
    root = os.getuid() == 0 and python_usable_by_others()
    return MISSING_WITHOUT_SANDBOX.format(
        opt_out=OPT_OUT, processes=", processes" if root else "",
        user=" (here a user id of its own, so only world-readable files)" if root else "")
