"""Fixtures for the browser tests: JupyterLab servers on loopback and headless Chromium.

Test modules import them (``from lab_fixtures import page_fixture, ...``); each fixture's
name is the one without ``_fixture``. This is not a
conftest.py on purpose: grader_tests/ imports its own conftest as a plain module, and a
second module named conftest would shadow it.

The browser is Debian's Chromium (``/usr/bin/chromium``, installed by ``bin/setup --test``)
driven by Playwright from PyPI; Playwright's own browser downloads are never used. A missing
Chromium fails the tests with the fix, so CI cannot pass by skipping them.

Every server gets a private Jupyter config, data, runtime and settings folder, so the tests
see exactly what a fresh clone's ``.venv`` provides, not the settings of whoever runs them.
Screenshots go to ``test-artifacts/browser/`` (git-ignored), also on failure.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # Playwright is imported at run time by browser_context, with a clear error.
    from playwright.sync_api import BrowserContext, Page

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
# No GPU, no network beyond the test server, no first-run or background work.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
TOKEN = "dlmath-browser-test"
VIEWPORT = {"width": 1400, "height": 1000}
SERVER_START_SECONDS = 90

# JupyterLab settings for the tests: no news or update check (a toast over the page and a
# request to the internet), and the notebook's default windowing pinned, so every cell stays
# in the page and can be found by its position.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings":
        {"windowingMode": "contentVisibility"},
}


@dataclass
class LabServer:
    """A running JupyterLab."""

    url: str
    root: Path
    log: Path

    def lab_url(self, path: str = "lab") -> str:
        """A URL of the server, logged in with the test token."""
        return f"{self.url}/{path}?token={TOKEN}"

    def log_tail(self, lines: int = 40) -> str:
        """The end of the server's log, for failure messages."""
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


StartLab = Callable[..., LabServer]


def free_port() -> int:
    """A TCP port on loopback that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def jupyter_environment(home: Path) -> dict[str, str]:
    """The environment of a test server: private Jupyter folders and the test token."""
    env = dict(os.environ)
    for variable, folder in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                             ("JUPYTER_RUNTIME_DIR", "runtime"), ("IPYTHONDIR", "ipython"),
                             ("JUPYTERLAB_SETTINGS_DIR", "lab-settings"),
                             ("JUPYTERLAB_WORKSPACES_DIR", "lab-workspaces")):
        (home / folder).mkdir(parents=True, exist_ok=True)
        env[variable] = str(home / folder)
    for name, settings in LAB_SETTINGS.items():
        path = home / "lab-settings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(settings), encoding="utf-8")
    env.pop("JUPYTER_CONFIG_PATH", None)
    env["JUPYTER_TOKEN"] = TOKEN
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def launch(command: Callable[[int], list[str]], cwd: Path, home: Path, log: IO[str],
           server_config: dict | None = None) -> tuple[subprocess.Popen, LabServer]:
    """Start ``command(port)`` (a Jupyter server on 127.0.0.1:port) in ``cwd`` in its own
    process group, with private Jupyter folders under ``home`` and ``server_config`` in its
    ``jupyter_server_config.json``; wait until it answers (pytest.fail if it does not)."""
    port = free_port()
    env = jupyter_environment(home)
    if server_config:
        (home / "config" / "jupyter_server_config.json").write_text(
            json.dumps(server_config), encoding="utf-8")
    process = subprocess.Popen(command(port), cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = LabServer(f"http://127.0.0.1:{port}", cwd, Path(log.name))
    deadline = time.monotonic() + SERVER_START_SECONDS
    while True:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited with {process.returncode} before answering:\n"
                        f"{server.log_tail()}")
        try:
            with urllib.request.urlopen(server.lab_url("api/status"), timeout=5):
                return process, server
        except OSError:
            if time.monotonic() > deadline:
                stop(process)
                pytest.fail(f"JupyterLab did not answer within {SERVER_START_SECONDS} s:\n"
                            f"{server.log_tail()}")
            time.sleep(0.5)


def stop(process: subprocess.Popen) -> None:
    """Stop a server started by :func:`launch`, and the kernels it started (its group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@pytest.fixture(scope="module", name="start_lab")
def start_lab_fixture(tmp_path_factory: pytest.TempPathFactory,
                      request: pytest.FixtureRequest) -> Iterator[StartLab]:
    """A function that starts a JupyterLab command and waits until it answers.

    ``start(command, cwd, server_config=None)``: :func:`launch`, with a log per server in
    test-artifacts/browser/. All servers are stopped at the end of the module.
    """
    processes: list[subprocess.Popen] = []
    logs: list[IO[str]] = []

    def start(command: Callable[[int], list[str]], cwd: Path,
              server_config: dict | None = None) -> LabServer:
        # One log per test module and server, replaced on the next run.
        log_path = ARTIFACTS / f"{request.module.__name__}-server{len(processes) + 1}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(log_path, "w", encoding="utf-8")  # closed at teardown
        logs.append(log)
        process, server = launch(command, cwd, tmp_path_factory.mktemp("jupyter-home"), log,
                                 server_config)
        processes.append(process)
        return server

    yield start

    for process in processes:
        stop(process)
    for log in logs:
        log.close()


@pytest.fixture(scope="module", name="browser_context")
def browser_context_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """A headless Debian Chromium with a fresh profile, driven by Playwright."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's Chromium. "
                    "Run bin/setup --test (it installs the chromium package).")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Playwright is not installed in this environment: run bin/setup --test "
                    "(it installs the test extras of pyproject.toml).")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM),
            headless=True, args=CHROMIUM_ARGS, viewport=VIEWPORT)
        # Generous: CI has two cores shared with everything else.
        context.set_default_timeout(60_000)
        yield context
        context.close()


@pytest.fixture(name="page")
def page_fixture(browser_context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A new tab; a screenshot of it is saved if the test fails."""
    failure_shot = ARTIFACTS / f"FAILED-{request.node.name}.png"
    failure_shot.unlink(missing_ok=True)  # from an earlier run
    tab = browser_context.new_page()
    failed_before = request.session.testsfailed
    yield tab
    # pytest counts a failed test before its fixtures are torn down.
    if request.session.testsfailed > failed_before:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(failure_shot))
    tab.close()


@pytest.fixture(name="screenshot")
def screenshot_fixture() -> Callable[[Page, str], Path]:
    """``screenshot(page, name)`` saves test-artifacts/browser/<name>.png and returns its path."""
    def take(tab: Page, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        tab.screenshot(path=str(path))
        return path
    return take
