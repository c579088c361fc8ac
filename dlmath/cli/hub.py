"""``dlmath hub``: the course on JupyterHub for a class on one machine (``hub/launch.py``).

Exit codes as everywhere in dlmath: 0 success, 2 usage or setup error (a machine not ready for
the hub: every problem listed with its fix, before anything starts).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from dlmath.cli.common import EXIT_OK


def cmd_hub(args: argparse.Namespace) -> int:
    """Check the machine, then start the course's JupyterHub."""
    from dlmath.hub.launch import prepare_hub, start_hub

    settings = prepare_hub(args.course, exchange=args.exchange, state_dir=args.state_dir,
                           ip=args.ip, port=args.port, grader=args.grader,
                           instructors=args.instructor or [], tas=args.ta or [])
    staff = ", ".join([*(f"{n} (instructor)" for n in settings.instructors),
                       *(f"{n} (TA)" for n in settings.tas)]) or "nobody yet (--instructor)"
    print(f"Course {settings.course_id} on http://{settings.ip}:{settings.port}/ for "
          f"{len(settings.students)} students; formgrader at /services/{settings.service_name}/ "
          f"as {settings.grader}, for {staff}; exchange {settings.exchange_root}")
    if args.check:
        return EXIT_OK
    start_hub(settings)
    return EXIT_OK  # not reached: start_hub replaces this process


def add_hub_command(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Register ``dlmath hub`` with the parser's ``add(name, function, help)``."""
    from dlmath.hub.launch import DEFAULT_EXCHANGE, DEFAULT_STATE, require_root

    hub = add("hub", cmd_hub,
              "Start the course's JupyterHub (as root): every roster student logs in with their "
              "OS account and gets their own JupyterLab with the Assignments tab, Validate and "
              "Submit; assignments move through a shared nbgrader exchange; the formgrader runs "
              "as a service under the grader account. Checks the machine first and lists every "
              "problem with its fix.")
    hub.add_argument("--instructor", action="append", metavar="LOGIN",
                     help="an instructor's OS login: the formgrader and the hub's admin page "
                          "(repeatable)")
    hub.add_argument("--ta", action="append", metavar="LOGIN",
                     help="a TA's OS login: the formgrader (repeatable)")
    hub.add_argument("--grader", metavar="LOGIN", default=None,
                     help="the account the formgrader and grading run as (default: the owner "
                          "of the course folder)")
    hub.add_argument("--exchange", type=Path, default=DEFAULT_EXCHANGE,
                     help=f"the shared exchange root (default: {DEFAULT_EXCHANGE}, nbgrader's "
                          "documented place; mode 1777)")
    hub.add_argument("--state-dir", type=Path, default=DEFAULT_STATE,
                     help=f"the hub's database, secrets and generated config (default: "
                          f"{DEFAULT_STATE})")
    hub.add_argument("--ip", default="127.0.0.1",
                     help="address the hub listens on (default: 127.0.0.1, this machine only; "
                          "0.0.0.0 for every network, behind HTTPS)")
    hub.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    hub.add_argument("--check", action="store_true",
                     help="check the machine and print what would start, then exit")
    hub.set_defaults(precheck=require_root)
