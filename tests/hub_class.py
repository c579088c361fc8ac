"""A small class on this machine for the hub tests: OS accounts, a course and an exchange.

The accounts are real (``useradd``), so the tests need root (CI runs as root); their names
carry a random part, so test runs on a shared machine never meet, and everything made here is
removed afterwards: the accounts, every process they still run, and the folder holding their
homes, the course and the exchange.

``HubClass.make(...)`` builds, under a fresh folder that every user may enter:

* ``course/``, the course's config and ex1 (generated with nbgrader, so the gradebook knows
  it), owned by the grader account and closed to everyone else;
* the roster: a Canvas gradebook export of the students, imported with ``dlmath roster
  import`` as the grader, so the gradebook's students are the hub's users;
* ``exchange/`` (mode 1777) and ``state/``, and ``home/<login>`` for every account.
"""

from __future__ import annotations

import csv
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from dlmath.course import copy_course, repository_root

ASSIGNMENT = "ex1_ill_conditioned_gd"
HUB_START_SECONDS = 180
# The hub stops every server and the formgrader service before it exits (slow on two cores).
HUB_STOP_SECONDS = 90
DLMATH = Path(sys.executable).parent / "dlmath"
NBGRADER = Path(sys.executable).parent / "nbgrader"
RUNUSER = shutil.which("runuser", path="/usr/sbin:/sbin:/usr/bin:/bin") or "runuser"


def require_root() -> None:
    """Skip, saying why, when the tests cannot create OS accounts: only root can, and a
    developer may run the suite as themselves. CI runs as root, so it runs these tests; a
    machine without what bin/setup --hub installs fails them with the fix instead."""
    if os.geteuid() != 0:
        pytest.skip("the hub tests create OS accounts and run commands as them, which needs "
                    "root (CI runs as root): run pytest as root, e.g. sudo .venv/bin/pytest")
    missing = [tool for tool in ("useradd", "userdel", "chpasswd")
               if not shutil.which(tool, path="/usr/sbin:/sbin:/usr/bin:/bin")]
    if missing or not Path(RUNUSER).is_file():
        pytest.fail(f"the hub tests need shadow-utils' {', '.join(missing) or 'runuser'}: "
                    "install the passwd and util-linux packages (Debian)")


@dataclass
class Account:
    """An OS account made for a test."""

    login: str
    password: str
    home: Path

    @property
    def uid(self) -> int:
        """The account's user id."""
        return pwd.getpwnam(self.login).pw_uid


@dataclass
class HubClass:
    """Accounts, a course and an exchange on this machine, removed by :meth:`remove`."""

    root: Path
    prefix: str
    grader: Account | None = None
    instructor: Account | None = None
    students: list[Account] = field(default_factory=list)
    accounts: list[Account] = field(default_factory=list)

    @property
    def course(self) -> Path:
        """The course folder (the grader's)."""
        return self.root / "course"

    @property
    def exchange(self) -> Path:
        """The exchange root."""
        return self.root / "exchange"

    @property
    def state(self) -> Path:
        """The hub's state folder."""
        return self.root / "state"

    @classmethod
    def make(cls, n_students: int = 3) -> HubClass:
        """The accounts, course, roster and exchange described in the module docstring."""
        require_root()
        root = Path(tempfile.mkdtemp(prefix="dlmath-hub-"))
        os.chmod(root, 0o711)  # every account reaches its home and the exchange in it
        made = cls(root, "dl" + secrets.token_hex(3))
        try:
            made._build(n_students)
        except BaseException:
            made.remove()
            raise
        return made

    def _build(self, n_students: int) -> None:
        (self.root / "home").mkdir()
        os.chmod(self.root / "home", 0o711)
        self.grader = self.add_account("grader")
        self.instructor = self.add_account("teach")
        self.students = [self.add_account(f"s{n}") for n in range(1, n_students + 1)]
        self.exchange.mkdir(mode=0o1777)
        os.chmod(self.exchange, 0o1777)
        self.state.mkdir(mode=0o755)
        copy_course(repository_root(), self.course)
        roster = self.course / "roster.csv"
        write_canvas_roster(roster, [s.login for s in self.students])
        subprocess.run(["chown", "-R", f"{self.grader.login}:", str(self.course)], check=True)
        os.chmod(self.course, 0o700)
        self.run_as(self.grader, [str(NBGRADER), "generate_assignment", ASSIGNMENT,
                                  "--force", "--log-level=ERROR"], cwd=self.course)
        self.run_as(self.grader, [str(DLMATH), "roster", "import", str(roster)],
                    cwd=self.course)

    def add_account(self, role: str) -> Account:
        """Create the OS account ``<prefix><role>`` with a random password and a home here."""
        login = f"{self.prefix}{role}"
        home = self.root / "home" / login
        subprocess.run(["useradd", "--home-dir", str(home), "--create-home", "--user-group",
                        "--shell", "/bin/bash", login], check=True, capture_output=True)
        os.chmod(home, 0o700)  # Debian's useradd makes it 0755; the hub requires it closed
        account = Account(login, secrets.token_urlsafe(12), home)
        self.accounts.append(account)
        subprocess.run(["chpasswd"], input=f"{login}:{account.password}\n", text=True,
                       check=True, capture_output=True)
        return account

    def environment(self, account: Account, **extra: str) -> dict[str, str]:
        """A login-like environment of ``account`` with the course's Python first."""
        env = {"HOME": str(account.home), "USER": account.login, "LOGNAME": account.login,
               "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/bin", "/bin"]),
               "LANG": "C.UTF-8", "MPLBACKEND": "Agg"}
        env.update(extra)
        return env

    def run_as(self, account: Account, command: Sequence[str], *, cwd: Path | None = None,
               check: bool = True, **extra_env: str) -> subprocess.CompletedProcess:
        """Run ``command`` as ``account`` (runuser), in its home unless ``cwd``; output captured.

        With ``check``, a non-zero exit fails the test showing the output.
        """
        result = subprocess.run([RUNUSER, "-u", account.login, "--", *command],
                                cwd=cwd or account.home, env=self.environment(account, **extra_env),
                                capture_output=True, text=True, timeout=600)
        if check and result.returncode != 0:
            pytest.fail(f"{' '.join(command)} as {account.login} exited {result.returncode}:\n"
                        f"{result.stdout}\n{result.stderr}")
        return result

    def python_as(self, account: Account, code: str, **extra_env: str) -> str:
        """Run Python ``code`` as ``account``; return what it printed (fails on an error)."""
        return self.run_as(account, [sys.executable, "-c", code], **extra_env).stdout

    def remove(self) -> None:
        """Stop every process of the accounts, delete them and the folder."""
        uids = set()
        for account in self.accounts:
            try:
                uids.add(account.uid)
            except KeyError:
                pass
        kill_processes_of(uids)
        for account in self.accounts:
            subprocess.run(["userdel", account.login], capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)


def processes_of(uids: set[int]) -> list[int]:
    """The ids of the processes running as any of ``uids``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid in uids:
                    pids.append(int(entry.name))
            except FileNotFoundError:
                continue
    return pids


def kill_processes_of(uids: set[int]) -> None:
    """SIGTERM, then after a grace SIGKILL, every process running as one of ``uids`` (all of
    them started by the test that made the accounts)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = processes_of(uids)
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while pids and processes_of(uids) and time.monotonic() < deadline:
            time.sleep(0.2)


def write_canvas_roster(path: Path, logins: Sequence[str]) -> None:
    """A Canvas gradebook export (Grades > Export) of ``logins``, their SIS Login IDs."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section"])
        writer.writerow(["    Points Possible", "", "", "", ""])
        for number, login in enumerate(logins, start=1):
            writer.writerow([f"Student{number}, Test{number}", str(5100 + number),
                             f"S{number:07d}", login, "Section 1"])


@dataclass
class RunningHub:
    """A ``dlmath hub`` started by :func:`start_hub`."""

    url: str
    process: subprocess.Popen
    log: Path
    hub_class: HubClass

    def token(self, account: Account) -> str:
        """A new API token of ``account``, asked for with its password (as any client may)."""
        reply = requests.post(f"{self.url}/hub/api/users/{account.login}/tokens", timeout=60,
                              json={"auth": {"username": account.login,
                                             "password": account.password},
                                    "note": "hub test"})
        assert reply.status_code == 201, (reply.status_code, reply.text)
        return reply.json()["token"]

    def session(self, account: Account) -> requests.Session:
        """A requests session that calls the hub and servers as ``account``."""
        session = requests.Session()
        session.headers["Authorization"] = f"token {self.token(account)}"
        return session

    def start_server(self, session: requests.Session, login: str) -> None:
        """Start ``login``'s JupyterLab through the Hub's REST API and wait until it is ready."""
        reply = session.post(f"{self.url}/hub/api/users/{login}/server", timeout=60)
        assert reply.status_code in (201, 202), (reply.status_code, reply.text)
        deadline = time.monotonic() + HUB_START_SECONDS
        while not session.get(f"{self.url}/hub/api/users/{login}", timeout=60).json()[
                "servers"].get("", {}).get("ready"):
            assert time.monotonic() < deadline, f"{login}'s server did not start:\n{self.tail()}"
            time.sleep(0.5)

    def tail(self, lines: int = 60) -> str:
        """The end of the hub's log, for failure messages."""
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def start_hub(hub_class: HubClass, log: Path, *extra: str) -> RunningHub:
    """Start ``dlmath hub`` (as root, on a free loopback port) for ``hub_class``, with its
    instructor, logging to ``log``; wait until the Hub's API answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log.parent.mkdir(parents=True, exist_ok=True)
    command = [str(DLMATH), "--course", str(hub_class.course), "hub", "--port", str(port),
               "--exchange", str(hub_class.exchange), "--state-dir", str(hub_class.state),
               "--instructor", hub_class.instructor.login, *extra]
    with open(log, "w", encoding="utf-8") as output:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    hub = RunningHub(f"http://127.0.0.1:{port}", process, log, hub_class)
    deadline = time.monotonic() + HUB_START_SECONDS
    while True:
        if process.poll() is not None:
            pytest.fail(f"dlmath hub exited with {process.returncode}:\n{hub.tail()}")
        try:
            if requests.get(f"{hub.url}/hub/api", timeout=5).ok:
                return hub
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            stop_hub(hub)
            pytest.fail(f"the hub did not answer within {HUB_START_SECONDS} s:\n{hub.tail()}")
        time.sleep(0.5)


def stop_hub(hub: RunningHub) -> None:
    """Stop the hub as an administrator would (SIGTERM: it stops every server and its proxy),
    killing what is left after a grace period."""
    if hub.process.poll() is None:
        os.killpg(hub.process.pid, signal.SIGTERM)
    try:
        hub.process.wait(timeout=HUB_STOP_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(hub.process.pid, signal.SIGKILL)
        hub.process.wait()
        # The proxy runs in a session of its own; the hub could not stop it.
        proxy_pid = hub.hub_class.state / "hub" / "proxy.pid"
        if proxy_pid.is_file():
            pid = int(proxy_pid.read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline")
            if cmdline.exists() and b"configurable-http-proxy" in cmdline.read_bytes():
                os.kill(pid, signal.SIGKILL)
