"""The last steps before a kernel starts: its folders, its own user id, no new privileges, limits.

Both ways a sandboxed kernel starts take them, in this order, from here:

* a kernel started from scratch runs this file as its launcher program,
  ``python -I -S privileges.py SETTINGS KERNEL_COMMAND...`` (inside bubblewrap, or with limits
  only): no site-packages and nothing of the grader's ``sys.path``, so it imports only the
  standard library, and it ends by becoming the kernel (``exec``);
* a kernel forked by a zygote (``zygote.py``) calls :func:`enter` in the forked process, then
  starts ipykernel in the same interpreter.

SETTINGS is a JSON object: ``folders`` (created, and given to ``uid``), ``home``, ``work`` (the
working folder), ``uid`` (a user id of the kernel's own, or null to keep the current one; only
root switches), ``limits`` (``RLIMIT_*`` name -> value), and optionally ``mpl_cache`` (a folder
of matplotlib's cache files to copy into ``home``) and ``connection`` (``[source, private
copy]`` of the kernel's connection file, copied readable by the kernel's user only).
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import shutil
import sys
from typing import Any

PR_SET_NO_NEW_PRIVS = 38


def _give(top: str, uid: int) -> None:
    """Make ``top`` and everything below it belong to ``uid``."""
    for root, dirs, files in os.walk(top):
        for name in [root] + [os.path.join(root, n) for n in dirs + files]:
            os.lchown(name, uid, uid)


def enter(settings: dict[str, Any]) -> None:
    """Prepare the kernel's folders, then drop to its user id with its limits, in its folder.

    Raises OSError when a step fails (the kernel must then not start).
    """
    for folder in settings["folders"]:
        os.makedirs(folder, exist_ok=True)
    connection = settings.get("connection")
    if connection:  # a private copy, readable by this kernel's user only
        shutil.copyfile(connection[0], connection[1])
        os.chmod(connection[1], 0o600)
    cache = settings.get("mpl_cache")
    if cache and os.path.isdir(cache):
        target = os.path.join(settings["home"], ".config", "matplotlib")
        os.makedirs(target, exist_ok=True)
        for name in os.listdir(cache):
            if name.endswith(".json"):  # the font list: what matplotlib would rebuild
                shutil.copy(os.path.join(cache, name), target)
    uid = settings.get("uid")
    if uid and os.getuid() == 0:
        for top in settings["folders"]:
            _give(top, uid)
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:  # no setuid programs from here on
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    for name, value in settings["limits"].items():
        resource.setrlimit(getattr(resource, name), (value, value))
    os.chdir(settings["work"])


def launch(argv: list[str]) -> None:
    """The launcher program: ``argv`` is ``[SETTINGS, KERNEL_COMMAND...]``; never returns."""
    settings = json.loads(argv[0])
    command = argv[1:]
    enter(settings)
    connection = settings.get("connection")
    if connection:
        command = [connection[1] if arg == connection[0] else arg for arg in command]
    os.execv(command[0], command)


if __name__ == "__main__":
    launch(sys.argv[1:])
