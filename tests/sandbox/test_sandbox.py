"""Sandboxed kernels see nothing of the machine, reach no network, and live within limits.

Each test starts real kernels: one from scratch in its own bubblewrap sandbox, one forked by
a zygote (the way `dlmath grade`'s workers get theirs), and one without bubblewrap.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest
from jupyter_client.utils import run_sync
from traitlets.config import Config

from dlmath.cli.main import EXIT_ATTENTION, EXIT_USAGE, main
from dlmath.course import copy_course, open_api, repository_root
from dlmath.judge.integrity import findings
from dlmath.sandbox.bubblewrap import sandbox_status
from dlmath.sandbox.kernels import SandboxedKernelManager, ZygoteKernelManager
from dlmath.sandbox.policy import SandboxUnavailable
from dlmath.sandbox.processes import child_pids, descendant_pids
from dlmath.sandbox.zygote import start_zygote
from grader_tests.students import load_variants, write_submission

PROBE = """
import os, resource, socket
print("uid", os.getuid())
print("repo", os.path.exists({repo!r}))
print("home", os.path.exists({secret!r}))
print("processes", len([p for p in os.listdir("/proc") if p.isdigit()]))
print("as", resource.getrlimit(resource.RLIMIT_AS)[0])
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=1)
    print("network yes")
except OSError:
    print("network no")
"""


async def run(client, code: str) -> str:  # noqa: ANN001 - a jupyter_client AsyncKernelClient
    """Execute ``code``; return what it printed."""
    msg_id = client.execute(code)
    text = []
    while True:
        msg = await client.get_iopub_msg(timeout=30)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            text.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            text.append(msg["content"]["evalue"])
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(text)


@contextmanager
def started(manager: SandboxedKernelManager) -> Iterator[object]:
    """A started kernel's client; the kernel is stopped afterwards."""
    run_sync(manager.start_kernel)(extra_arguments=["--HistoryManager.hist_file=:memory:"])
    client = manager.client()
    client.start_channels()
    run_sync(client.wait_for_ready)(timeout=60)
    try:
        yield client
    finally:
        client.stop_channels()
        run_sync(manager.shutdown_kernel)(now=True)
        run_sync(manager.cleanup_resources)()


@pytest.fixture(scope="module")
def zygote():
    if not sandbox_status().available or os.getuid() != 0:
        pytest.fail("these tests need bubblewrap and root (CI runs as root): run bin/setup")
    zygote = start_zygote(["numpy"], "/tmp/dlmath-test-zygote.log")
    yield zygote
    zygote.close()


@pytest.fixture(params=["bubblewrap", "zygote", "limits only"])
def kernel(request: pytest.FixtureRequest, zygote) -> Iterator[tuple[str, object]]:  # noqa: ANN001
    config = Config({"SandboxedKernelManager": {"memory_limit": 2 * 2**30}})
    if request.param == "zygote":
        manager = ZygoteKernelManager(zygote, kernel_name="python3", config=config)
    else:
        config.SandboxedKernelManager.bubblewrap = request.param == "bubblewrap"
        manager = SandboxedKernelManager(kernel_name="python3", config=config)
    with started(manager) as client:
        yield request.param, client


def probe(client) -> dict[str, str]:  # noqa: ANN001
    secret = Path.home() / f".dlmath-test-secret-{os.getpid()}"
    secret.write_text("the grader's own file")
    listener = socket.create_server(("127.0.0.1", 0))  # the grading machine's loopback
    try:
        text = run_sync(run)(client, PROBE.format(repo=str(repository_root() / "source"),
                                                  secret=str(secret),
                                                  port=listener.getsockname()[1]))
    finally:
        secret.unlink()
        listener.close()
    return dict(line.split(" ", 1) for line in text.strip().splitlines())


def test_the_kernel_is_confined(kernel) -> None:  # noqa: ANN001
    mode, client = kernel
    seen = probe(client)
    assert seen["as"] == str(2 * 2**30)
    if mode == "limits only":
        return  # without bubblewrap it can read what others can, and use the network
    assert seen["uid"] != "0"  # a user id of its own (this runs as root)
    assert seen["repo"] == "False", "the course folder is visible"
    assert seen["home"] == "False", "a file in the grader's home folder is visible"
    assert seen["network"] == "no"
    assert int(seen["processes"]) <= 3, "other processes are visible"


def test_two_zygote_kernels_cannot_see_each_other(zygote) -> None:  # noqa: ANN001
    with started(ZygoteKernelManager(zygote, kernel_name="python3")) as one, \
            started(ZygoteKernelManager(zygote, kernel_name="python3")) as two:
        run_sync(run)(one, "open('/tmp/work/secret.txt', 'w').write('mine')")
        assert run_sync(run)(two, "import os; print(os.listdir('/tmp/work'))").strip() == "[]"


def test_a_memory_bomb_raises_memory_error(kernel) -> None:  # noqa: ANN001
    _, client = kernel
    assert "MemoryError" in run_sync(run)(
        client, "try:\n    x = bytearray(8 * 2**30)\nexcept MemoryError:\n    print('MemoryError')")


def test_stray_processes_are_stopped() -> None:
    manager = SandboxedKernelManager(kernel_name="python3")
    with started(manager) as client:
        run_sync(run)(client, "import subprocess\nsubprocess.Popen(['sleep', '60'], "
                              "start_new_session=True)")
        time.sleep(0.2)
        assert manager.stop_strays() == 1
        assert manager.stop_strays() == 0


def test_process_tree_walk_agrees_with_psutil() -> None:
    import subprocess

    import psutil

    parent = subprocess.Popen(["bash", "-c", "sleep 30 & sleep 30 & (sleep 30 & wait) & wait"])
    try:
        time.sleep(0.3)
        below = psutil.Process(parent.pid).children(recursive=True)
        assert len(below) == 4, "bash, three sleeps: the test's own process tree is not as meant"
        assert sorted(descendant_pids(parent.pid)) == sorted(p.pid for p in below)
        assert sorted(child_pids(parent.pid)) == sorted(
            p.pid for p in psutil.Process(parent.pid).children())
    finally:
        for process in psutil.Process(parent.pid).children(recursive=True):
            process.kill()
        parent.kill()
        parent.wait()
    assert child_pids(parent.pid) == [], "an ended process has no children"


def test_no_kernel_starts_without_bubblewrap_unless_the_instructor_opts_out(
        tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-bwrap")
    with pytest.raises(SandboxUnavailable) as refused:
        SandboxedKernelManager(kernel_name="python3", config=Config(
            {"SandboxedKernelManager": {"bwrap": missing}}))
    message = str(refused.value)
    assert "not installed" in message and "apt-get install bubblewrap" in message
    assert "--no-sandbox" in message and "bubblewrap = False" in message
    opted_out = SandboxedKernelManager(kernel_name="python3", config=Config(
        {"SandboxedKernelManager": {"bwrap": missing, "bubblewrap": False}}))
    assert not opted_out.sandboxed
    run_sync(opted_out.cleanup_resources)()


def test_grade_refuses_without_bubblewrap_and_reports_an_opted_out_run(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course = copy_course(repository_root(), tmp_path / "course")
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as config:
        config.write(f"\nc.SandboxedKernelManager.bwrap = {str(tmp_path / 'no-bwrap')!r}\n")
    assignment = "ex1_ill_conditioned_gd"
    assert open_api(course).generate_assignment(assignment)["success"]
    reference = next(v for v in load_variants(repository_root() / "grader_tests" / "variants",
                                              assignment) if v.name == "reference")
    write_submission(course, "s1", reference)

    assert main(["--course", str(course), "grade"]) == EXIT_USAGE
    assert "apt-get install bubblewrap" in capsys.readouterr().err
    assert not (course / "autograded" / "s1").exists(), "student code ran unsandboxed"

    assert main(["--course", str(course), "grade", "--no-sandbox"]) == EXIT_ATTENTION
    out = capsys.readouterr().out
    assert "WITHOUT SANDBOX: 1 submission" in out and "--no-sandbox" in out
    autograded = nbformat.read(course / "autograded" / "s1" / assignment / f"{assignment}.ipynb",
                               as_version=4)
    assert [f.kind for f in findings(autograded)] == ["sandbox"]


def test_kernels_run_the_graders_own_dlmath_whatever_the_environment_points_at(
        tmp_path: Path) -> None:
    # A copy of the course, with its own (slightly different) dlmath, graded by `python -m
    # dlmath.cli.main` from that copy with this checkout's environment, whose editable install
    # points back here: the kernels must run the copy's agent, the grader's. (Run from another
    # folder, so that nothing finds the copy's package by the current folder.)
    course = copy_course(repository_root(), tmp_path / "course")
    shutil.copytree(repository_root() / "dlmath", course / "dlmath",
                    ignore=shutil.ignore_patterns("__pycache__"))
    with open(course / "dlmath" / "agent.py", "a", encoding="utf-8") as agent_file:
        agent_file.write("\n# this copy's own version\n")
    assignment = "ex1_ill_conditioned_gd"
    assert open_api(course).generate_assignment(assignment)["success"]
    reference = next(v for v in load_variants(repository_root() / "grader_tests" / "variants",
                                              assignment) if v.name == "reference")
    write_submission(course, "s1", reference)
    env = {**os.environ, "PYTHONPATH": str(course)}
    done = subprocess.run([sys.executable, "-m", "dlmath.cli.main", "--course", str(course),
                           "grade"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"s1\s.*\b10\b", done.stdout), done.stdout


def test_a_zygote_leaves_no_log_behind_unless_it_died(zygote, tmp_path: Path) -> None:  # noqa: ANN001
    healthy = start_zygote(["json"])
    assert os.path.isfile(healthy.log_file), "a zygote logs to a file of its own"
    healthy.close()
    assert not os.path.exists(healthy.log_file), \
        f"{healthy.log_file} was left in the temporary folder by a zygote that ran fine"
    died = start_zygote(["json"])
    died.process.kill()
    died.process.wait()
    died.close()
    try:
        assert os.path.isfile(died.log_file), "the log of a zygote that died must be kept"
    finally:
        os.remove(died.log_file)
    given = start_zygote(["json"], str(tmp_path / "mine.log"))
    given.close()
    assert (tmp_path / "mine.log").is_file(), "a log file the caller named is the caller's"
