"""The course's JupyterHub set-up (dlmath/hub/launch.py) and shared exchange
(dlmath/hub/exchange.py), with real OS accounts: every step a student takes runs as that
student (runuser), as it would in their JupyterLab on the hub.

One class of three is built for the module (tests/hub_class.py), and one term is played on it
with nbgrader's own commands and the settings `dlmath hub` writes for the hub's servers: the
grader releases ex1; s1 submits honestly; s2 submits after the due date, then backdates the
submission by years (its folder's name, timestamp.txt and file times); s3 plants a submission
in s1's name and one whose notebook is a symbolic link to the instructor's source; the grader
collects once and releases feedback. The tests then check what each side could and could not do.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from hub_class import ASSIGNMENT, DLMATH, NBGRADER, Account, HubClass
from nbgrader.api import Gradebook
from nbgrader.utils import parse_utc
from traitlets.config.loader import PyFileConfigLoader

from dlmath.course import load_config
from dlmath.hub.launch import (
    HUB_CONFIG,
    SETTINGS_VARIABLE,
    HubError,
    prepare_hub,
    write_hub_files,
)
from dlmath.student.lab import VALIDATE_CSS
from dlmath.variants.secret import key_for

pytestmark = pytest.mark.hub

FORGED = "2020-01-01 00:00:00.000000 UTC"


class Term:
    """The class, the hub's settings and what happened during the term."""

    def __init__(self, hub_class: HubClass) -> None:
        self.k = hub_class
        self.settings = prepare_hub(hub_class.course, exchange=hub_class.exchange,
                                    state_dir=hub_class.state, ip="127.0.0.1",
                                    port=free_port(), grader=None,
                                    instructors=[hub_class.instructor.login], tas=[])
        self.settings_file = write_hub_files(self.settings)
        self.s1, self.s2, self.s3 = hub_class.students
        self.inbound = hub_class.exchange / "dlmath" / "inbound"
        self.folders: dict[str, str] = {}

    def student(self, account: Account, *command: str,
                check: bool = True) -> subprocess.CompletedProcess:
        """An nbgrader command of a student, configured as the hub configures their server."""
        return self.k.run_as(account, [str(NBGRADER), *command], check=check,
                             JUPYTER_CONFIG_PATH=str(self.settings.folder("student")))

    def grader(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        """A command of the grader in the course folder, configured as the formgrader is."""
        return self.k.run_as(self.k.grader, list(command), cwd=self.k.course, check=check,
                             JUPYTER_CONFIG_PATH=str(self.settings.folder("grader")))

    def submission_of(self, account: Account) -> str:
        """The newest inbound folder name of ``account`` (read as root)."""
        names = sorted((p for p in self.inbound.iterdir()
                        if p.name.startswith(f"{account.login}+") and p.is_dir()
                        and p.stat().st_uid == account.uid), key=lambda p: p.stat().st_ctime)
        return names[-1].name


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Code a student runs to try something; it prints what happened (an error's name, or "read"...).
ATTEMPT = """
import os, sys
def attempt(what, action):
    try:
        action()
        print(what, "ALLOWED")
    except OSError as error:
        print(what, type(error).__name__)
"""


@pytest.fixture(scope="module")
def term() -> Term:
    hub_class = HubClass.make(3)
    try:
        yield play_term(Term(hub_class))
    finally:
        hub_class.remove()


def play_term(t: Term) -> Term:
    k = t.k
    t.grader(str(NBGRADER), "release_assignment", ASSIGNMENT, "--log-level=ERROR")
    with ThreadPoolExecutor() as pool:  # three students at once: each command takes seconds
        list(pool.map(lambda account: t.student(account, "fetch_assignment", ASSIGNMENT,
                                                "--log-level=ERROR"), (t.s1, t.s2, t.s3)))
    t.student(t.s1, "submit", ASSIGNMENT, "--log-level=ERROR")
    t.folders["s1"] = t.submission_of(t.s1)
    # The due date passed an hour ago: s2 submits now, then backdates the submission to 2020.
    with Gradebook(f"sqlite:///{k.course / 'gradebook.db'}") as gradebook:
        gradebook.update_or_create_assignment(ASSIGNMENT,
                                              duedate=datetime.now(UTC) - timedelta(hours=1))
    t.student(t.s2, "submit", ASSIGNMENT, "--log-level=ERROR")
    t.before_forgery = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)
    honest = t.inbound / t.submission_of(t.s2)
    forged = t.inbound / f"{t.s2.login}+{ASSIGNMENT}+{FORGED}+forgedrandom"
    t.k.python_as(t.s2, f"""
import os, time
src, dst = {str(honest)!r}, {str(forged)!r}
os.rename(src, dst)
open(os.path.join(dst, "timestamp.txt"), "w").write({FORGED!r})
old = time.mktime((2020, 1, 1, 0, 0, 0, 0, 1, 0))
for folder, _, files in os.walk(dst):
    for name in files:
        os.utime(os.path.join(folder, name), (old, old))
    os.utime(folder, (old, old))
""")
    t.folders["s2 forged"] = forged.name
    # s3: a submission in s1's name, dated in the future so that it would be s1's newest, and
    # a submission of its own whose notebook is a link to the instructor's source notebook.
    source = k.course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    planted = t.inbound / f"{t.s1.login}+{ASSIGNMENT}+2099-01-01 00:00:00.000000 UTC+planted"
    linked = t.inbound / f"{t.s3.login}+{ASSIGNMENT}+2026-01-01 00:00:00.000000 UTC+linked"
    t.k.python_as(t.s3, f"""
import os
os.mkdir({str(planted)!r})
open(os.path.join({str(planted)!r}, "{ASSIGNMENT}.ipynb"), "w").write("{{}}")
os.mkdir({str(linked)!r})
os.symlink({str(source)!r}, os.path.join({str(linked)!r}, "{ASSIGNMENT}.ipynb"))
""")
    t.folders["planted"], t.folders["linked"] = planted.name, linked.name

    t.collect = t.grader(str(NBGRADER), "collect", ASSIGNMENT, check=False)

    # Feedback for s1, released to the exchange as nbgrader's generate_feedback leaves it (the
    # tests check the outcome: a collect that took the wrong files leaves none to release).
    feedback = k.course / "feedback" / t.s1.login / ASSIGNMENT
    submitted = k.course / "submitted" / t.s1.login / ASSIGNMENT
    feedback.mkdir(parents=True)
    for name in ("timestamp.txt", "submission_secret.txt"):
        if (submitted / name).is_file():
            shutil.copy(submitted / name, feedback)
    (feedback / f"{ASSIGNMENT}.html").write_text("<p>s1: 10 / 12</p>", encoding="utf-8")
    subprocess.run(["chown", "-R", f"{k.grader.login}:", str(k.course / "feedback")], check=True)
    t.grader(str(NBGRADER), "release_feedback", ASSIGNMENT, "--log-level=ERROR", check=False)
    with ThreadPoolExecutor() as pool:
        list(pool.map(lambda account: t.student(account, "fetch_feedback", ASSIGNMENT,
                                                "--log-level=ERROR"), (t.s1, t.s3)))
    return t


# --- the exchange as the students see it ------------------------------------------------------

def test_a_student_cannot_find_read_or_change_another_students_submission(term: Term) -> None:
    # s3 is given s1's folder name (as if it leaked): it still cannot read or change anything.
    folder = term.inbound / term.folders["s1"]
    notebook = folder / f"{ASSIGNMENT}.ipynb"
    secret = folder / "submission_secret.txt"
    done = term.k.python_as(term.s3, ATTEMPT + f"""
attempt("list inbound", lambda: os.listdir({str(term.inbound)!r}))
attempt("list s1", lambda: os.listdir({str(folder)!r}))
attempt("read notebook", lambda: open({str(notebook)!r}).read())
attempt("read secret", lambda: open({str(secret)!r}).read())
attempt("overwrite notebook", lambda: open({str(notebook)!r}, "w").write("{{}}"))
attempt("add a file", lambda: open({str(folder / 'extra.ipynb')!r}, "w").write("{{}}"))
attempt("rename", lambda: os.rename({str(folder)!r}, {str(folder) + '-moved'!r}))
attempt("delete", lambda: os.rmdir({str(folder)!r}))
""")
    assert done.split("\n")[:-1] == [
        "list inbound PermissionError", "list s1 PermissionError",
        "read notebook PermissionError", "read secret PermissionError",
        "overwrite notebook PermissionError", "add a file PermissionError",
        "rename PermissionError", "delete PermissionError"], done
    # The grader reads it, and s1's own copy is intact.
    assert (term.k.course / "submitted" / term.s1.login / ASSIGNMENT
            / f"{ASSIGNMENT}.ipynb").is_file()


def test_a_student_cannot_read_or_change_another_students_feedback(term: Term) -> None:
    s1_feedback = list((term.s1.home / "dlmath" / ASSIGNMENT / "feedback").rglob("*.html"))
    assert len(s1_feedback) == 1 and "10 / 12" in s1_feedback[0].read_text()
    assert not (term.s3.home / "dlmath" / ASSIGNMENT / "feedback").exists()
    released = term.k.exchange / "dlmath" / "feedback"
    (released_file,) = released.iterdir()  # its name is a hash of s1's secret
    done = term.k.python_as(term.s3, ATTEMPT + f"""
attempt("list feedback", lambda: os.listdir({str(released)!r}))
attempt("overwrite feedback", lambda: open({str(released_file)!r}, "w").write("0 / 12"))
attempt("read s1's copy", lambda: open({str(s1_feedback[0])!r}).read())
""")
    assert done.split("\n")[:-1] == ["list feedback PermissionError",
                                     "overwrite feedback PermissionError",
                                     "read s1's copy PermissionError"], done


def test_a_student_cannot_read_the_course_the_gradebook_or_hidden_tests(term: Term) -> None:
    course = term.k.course
    targets = {"source notebook (hidden tests)": course / "source" / ASSIGNMENT
               / f"{ASSIGNMENT}.ipynb",
               "gradebook": course / "gradebook.db",
               "submitted": course / "submitted" / term.s1.login / ASSIGNMENT
               / f"{ASSIGNMENT}.ipynb",
               "hub settings": term.settings_file}
    assert all(path.is_file() for path in targets.values())
    done = term.k.python_as(term.s3, ATTEMPT + "".join(
        f"attempt({name!r}, lambda: open({str(path)!r}, 'rb').read())\n"
        for name, path in targets.items()))
    assert done.split("\n")[:-1] == [f"{name} PermissionError" for name in targets], done
    # What a student may read: the released notebook, which holds no hidden test.
    released = (term.k.exchange / "dlmath" / "outbound" / ASSIGNMENT
                / f"{ASSIGNMENT}.ipynb")
    assert "BEGIN HIDDEN TESTS" not in term.k.python_as(
        term.s3, f"print(open({str(released)!r}).read())")


# --- collect: whose, when, what -----------------------------------------------------------------

def test_collect_dates_a_backdated_submission_by_the_exchange(term: Term) -> None:
    stamp = (term.k.course / "submitted" / term.s2.login / ASSIGNMENT
             / "timestamp.txt").read_text()
    collected = parse_utc(stamp)
    assert collected >= term.before_forgery, (stamp, FORGED)
    assert collected <= datetime.now(UTC).replace(tzinfo=None)
    assert f"says {parse_utc(FORGED)}" in term.collect.stderr


def test_collect_takes_the_student_from_the_folders_owner(term: Term) -> None:
    s1_notebook = (term.k.course / "submitted" / term.s1.login / ASSIGNMENT
                   / f"{ASSIGNMENT}.ipynb")
    assert json.loads(s1_notebook.read_text())["cells"], "s1's own notebook was replaced"
    assert term.collect.returncode == 1
    assert (f"inbound/{term.folders['planted']} (submitted by {term.s3.login}): not "
            f"collected: it is named for {term.s1.login!r}") in term.collect.stderr


def test_collect_never_follows_a_link(term: Term) -> None:
    collected = term.k.course / "submitted" / term.s3.login / ASSIGNMENT
    assert not (collected / f"{ASSIGNMENT}.ipynb").exists()
    assert (f"inbound/{term.folders['linked']}/{ASSIGNMENT}.ipynb (submitted by "
            f"{term.s3.login}): not collected: a symbolic link") in term.collect.stderr


# --- the hub's configuration --------------------------------------------------------------------

def test_hub_config_serves_the_roster_and_the_formgrader_as_a_service(
        term: Term, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SETTINGS_VARIABLE, str(term.settings_file))
    config = PyFileConfigLoader(HUB_CONFIG.name, path=str(HUB_CONFIG.parent)).load_config()
    students = {s.login for s in term.k.students}
    assert config.Authenticator.allowed_users == students | {term.k.instructor.login}
    assert config.JupyterHub.authenticator_class == "pam"
    assert config.JupyterHub.spawner_class == "localprocess"
    (service,) = config.JupyterHub.services
    assert (service["name"], service["user"], service["cwd"]) == (
        "dlmath", term.k.grader.login, str(term.k.course))
    roles = {role["name"]: role for role in config.JupyterHub.load_roles}
    assert roles["instructor"]["users"] == [term.k.instructor.login]
    assert "access:services!service=dlmath" in roles["teaching-assistant"]["scopes"]
    assert not any(scope.startswith("access:servers") for role in roles.values()
                   for scope in role["scopes"])
    environment = config.Spawner.environment
    student_config = environment["JUPYTER_CONFIG_PATH"]
    server = json.loads((Path(student_config) / "jupyter_server_config.json").read_text())
    enabled = {k for k, on in server["ServerApp"]["jpserver_extensions"].items() if on}
    assert enabled == {"nbgrader.server_extensions.assignment_list",
                       "nbgrader.server_extensions.validate_assignment"}
    # Validate's custom CSS is read from the config folder, the course's; what JupyterLab
    # would write there (settings, workspaces) goes to each student's own home instead.
    assert environment["JUPYTER_CONFIG_DIR"] == student_config
    assert server["LabApp"]["custom_css"] is True
    assert (Path(student_config) / "custom" / "custom.css").read_text() == VALIDATE_CSS
    for account in term.k.students:
        spawner = SimpleNamespace(user=SimpleNamespace(name=account.login))
        assert environment["JUPYTERLAB_SETTINGS_DIR"](spawner) == str(
            account.home / ".jupyter" / "lab" / "user-settings")
        assert environment["JUPYTERLAB_WORKSPACES_DIR"](spawner) == str(
            account.home / ".jupyter" / "lab" / "workspaces")
        # The student's kernels compute with the student's own numbers (dlmath/variants).
        assert environment["DLMATH_VARIANT_KEY"](spawner) == key_for(
            term.k.course, load_config(term.k.course), account.login)


# --- bad input: a clear message, nothing changed ---------------------------------------------

def hub_problems(term: Term, **changes: object) -> str:
    """What prepare_hub says with ``changes`` to the term's arguments ('' if it is happy)."""
    arguments = {"exchange": term.k.exchange, "state_dir": term.k.state, "ip": "127.0.0.1",
                 "port": free_port(), "grader": None,
                 "instructors": [term.k.instructor.login], "tas": []}
    arguments.update(changes)
    try:
        prepare_hub(term.k.course, **arguments)
    except HubError as error:
        return str(error)
    return ""


def test_a_ready_machine_has_no_problems(term: Term) -> None:
    assert hub_problems(term) == ""


def test_a_port_in_use_is_named(term: Term) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        said = hub_problems(term, port=port)
    assert f"cannot listen on 127.0.0.1:{port} (Address already in use)" in said
    assert "pass --port N" in said


def test_a_missing_or_unwritable_exchange_is_named_and_not_made(term: Term,
                                                                tmp_path: Path) -> None:
    missing = tmp_path / "exchange"
    said = hub_problems(term, exchange=missing)
    assert f"the exchange root {missing} does not exist: create it (install -d -m 1777 " \
           f"{missing})" in said
    assert not missing.exists()
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o755)
    said = hub_problems(term, exchange=closed)
    assert f"students cannot write to the exchange root {closed} (mode drwxr-xr-x): " \
           f"chmod 1777 {closed}" in said
    assert not any(closed.iterdir())


def test_a_roster_student_without_an_account_is_named(term: Term) -> None:
    ghost = f"{term.k.prefix}ghost"
    database = f"sqlite:///{term.k.course / 'gradebook.db'}"
    with Gradebook(database) as gradebook:
        gradebook.update_or_create_student(ghost)
    try:
        said = hub_problems(term)
    finally:
        with Gradebook(database) as gradebook:
            gradebook.remove_student(ghost)
    assert f"1 roster students have no OS account on this machine: {ghost}." in said
    assert "useradd --create-home NAME" in said


def test_the_hub_refuses_to_start_as_a_user(term: Term) -> None:
    started = time.monotonic()
    result = term.k.run_as(term.s1, [str(DLMATH), "--course", str(term.k.course), "hub",
                                     "--exchange", str(term.k.exchange), "--state-dir",
                                     str(term.k.state)], check=False)
    assert result.returncode == 2, result
    assert "the hub must start as root" in result.stderr
    assert "Traceback" not in result.stderr
    assert time.monotonic() - started < 60


def test_open_home_folders_are_named(term: Term) -> None:
    home = term.s2.home
    os.chmod(home, 0o755)
    try:
        said = hub_problems(term)
    finally:
        os.chmod(home, 0o700)
    assert f"in these home folders, open to every user: {home}. Close them: chmod 700" in said


def test_students_may_not_reach_a_readable_course(term: Term) -> None:
    course = term.k.course
    os.chmod(course, 0o755)
    try:
        said = hub_problems(term)
    finally:
        os.chmod(course, 0o700)
    assert "every user can list or change the course folder" in said
    assert "students could read these in the course folder" in said and "source" in said
