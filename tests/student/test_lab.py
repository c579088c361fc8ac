"""``dlmath lab``: the student working copy, its settings, and the Validate kernel hook.

The browser test (tests/browser/test_student_lab.py) drives the whole thing in Chromium;
these check the parts quickly and without a browser.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbgrader.auth import Authenticator
from nbgrader.coursedir import CourseDirectory
from nbgrader.exchange.default import ExchangeList
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from dlmath.cli.main import EXIT_OK, EXIT_USAGE, main
from dlmath.course import load_config, repository_root
from dlmath.student.lab import (
    VALIDATE_KERNEL_ARGUMENTS,
    lab_command,
    lab_environment,
    prepare_student_copy,
    released_assignments,
)

REPO = repository_root()
ASSIGNMENT = "ex1_ill_conditioned_gd"


def student_config(copy_root: Path) -> Config:
    """The student's nbgrader_config.py, loaded the way nbgrader loads it."""
    return PyFileConfigLoader("nbgrader_config.py", path=str(copy_root)).load_config()


def test_help_explains_the_student_workflow(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["lab", "--help"])
    assert exit_info.value.code == 0
    out = " ".join(capsys.readouterr().out.split())
    for words in ("Assignments tab", "Fetch", "Validate", "Submit", "--dir", "--prepare-only"):
        assert words in out


def test_the_exchange_lists_every_released_assignment(tmp_path: Path) -> None:
    copy = prepare_student_copy(REPO, tmp_path / "student")
    assert copy.released == tuple(released_assignments(REPO))
    assert ASSIGNMENT in copy.released
    # What the Assignments tab asks nbgrader: the exchange's list, with the student's config.
    config = student_config(copy.root)
    lister = ExchangeList(coursedir=CourseDirectory(config=config),
                          authenticator=Authenticator(config=config), config=config)
    listed = {a["assignment_id"]: a["status"] for a in lister.start()}
    assert listed == dict.fromkeys(copy.released, "released")


def test_validate_runs_with_the_graders_execute_settings(tmp_path: Path) -> None:
    copy = prepare_student_copy(REPO, tmp_path / "student")
    course = load_config(REPO).Execute
    student = student_config(copy.root)
    assert student.CourseDirectory.course_id == load_config(REPO).CourseDirectory.course_id
    assert student.Execute.timeout == course.timeout
    arguments = student.Execute.extra_arguments
    assert arguments[:len(course.get("extra_arguments", []))] == course.get("extra_arguments", [])
    assert set(VALIDATE_KERNEL_ARGUMENTS) <= set(arguments)
    assert len(arguments) == len(set(arguments))


def test_running_again_keeps_the_students_work(tmp_path: Path) -> None:
    copy = prepare_student_copy(REPO, tmp_path / "student")
    work = copy.root / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    work.parent.mkdir()
    work.write_text("my answers", encoding="utf-8")
    prepare_student_copy(REPO, copy.root)
    assert work.read_text(encoding="utf-8") == "my answers"


def test_a_foreign_nbgrader_config_is_never_replaced(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "nbgrader_config.py").write_text("c = get_config()\n", encoding="utf-8")
    assert main(["lab", "--dir", str(folder), "--prepare-only"]) == EXIT_USAGE
    assert "not written by dlmath lab" in capsys.readouterr().err
    assert (folder / "nbgrader_config.py").read_text(encoding="utf-8") == "c = get_config()\n"


def test_the_course_folder_is_not_a_working_copy(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lab", "--dir", str(REPO), "--prepare-only"]) == EXIT_USAGE
    assert "pick a separate folder" in capsys.readouterr().err


def test_prepare_only_sets_up_and_says_how_to_start(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "student"
    assert main(["lab", "--dir", str(folder), "--prepare-only"]) == EXIT_OK
    out = capsys.readouterr().out
    assert f"dlmath lab --dir {folder}" in out and ASSIGNMENT in out
    assert (folder / ".exchange" / "dlmath" / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
            ).is_file()


def test_jupyterlab_runs_in_the_copy_on_loopback(tmp_path: Path) -> None:
    copy = prepare_student_copy(REPO, tmp_path / "student")
    command = lab_command(copy, ip="127.0.0.1", port=8999, open_browser=False)
    assert command[:3] == [sys.executable, "-m", "jupyterlab"]
    assert f"--ServerApp.root_dir={copy.root}" in command
    assert "--ServerApp.ip=127.0.0.1" in command and "--no-browser" in command
    assert "--allow-root" not in command
    assert "--LabApp.custom_css=True" in command  # Validate's message (VALIDATE_CSS)
    env = lab_environment(copy, {"JUPYTER_CONFIG_PATH": "/elsewhere", "PATH": "/usr/bin",
                                 "JUPYTER_CONFIG_DIR": "/mine"}, variant_key="ab" * 32)
    # The student's kernels compute with the student's own numbers (dlmath/variants).
    assert env["DLMATH_VARIANT_KEY"] == "ab" * 32
    # The copy's settings first (JupyterLab reads custom CSS from there only), then the usual.
    assert env["JUPYTER_CONFIG_DIR"] == str(copy.jupyter_config)
    assert env["JUPYTER_CONFIG_PATH"].split(os.pathsep) == ["/mine", "/elsewhere"]
    # Validate's dialog: nbgrader's "Success! Your notebook passes all the tests." hidden, the
    # course's sentence (only the visible checks ran) shown in its place.
    css = (copy.jupyter_config / "custom" / "custom.css").read_text()
    assert re.search(r"#validation-message\.validation-success p\s*\{\s*display:\s*none;", css)
    assert re.search(r"#validation-message\.validation-success::after\s*\{\s*content:\s*"
                     r"\"[^\"]*hidden checks also run, on inputs you have not seen", css)
    # Plots show in the notebook even though importing dlmath.cli.main sets MPLBACKEND=Agg.
    assert env["MPLBACKEND"] == "module://matplotlib_inline.backend_inline"


def _jupyter(args: list[str], env: dict[str, str]) -> str:
    result = subprocess.run([sys.executable, "-m", "jupyter", *args], env=env, check=True,
                            capture_output=True, text=True, timeout=120)
    return re.sub(r"\x1b\[[0-9;]*m", "", result.stdout + result.stderr)  # no colours


def test_the_venv_enables_nbgraders_extensions(tmp_path: Path) -> None:
    """What bin/setup installs enables nbgrader's server and lab extensions by itself.

    (The student copy then turns the instructor's tools off for its own server; the browser
    test checks that in the running JupyterLab.)
    """
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / "user-config"))
    env.pop("JUPYTER_CONFIG_PATH", None)
    servers = _jupyter(["server", "extension", "list"], env)
    for name in ("assignment_list", "course_list", "validate_assignment", "formgrader"):
        assert re.search(rf"nbgrader\.server_extensions\.{name}\s+enabled", servers), servers
    lab = _jupyter(["labextension", "list"], env)
    assert re.search(r"@jupyter/nbgrader v\S+\s+enabled\s+OK", lab), lab

    copy = prepare_student_copy(REPO, tmp_path / "student")
    # What JupyterLab itself reads from the copy's settings: the instructor's tools are off.
    lab = _jupyter(["labextension", "list"], lab_environment(copy, env))
    disabled = lab.split("Disabled extensions:")[1].split()
    assert {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"} <= set(disabled)
    server = json.loads((copy.jupyter_config / "jupyter_server_config.json").read_text())
    extensions = server["ServerApp"]["jpserver_extensions"]
    assert extensions["nbgrader.server_extensions.formgrader"] is False
    for name in ("assignment_list", "course_list", "validate_assignment"):
        assert extensions[f"nbgrader.server_extensions.{name}"] is True


def test_validate_kernel_shows_a_failed_check_as_its_message() -> None:
    """Validate's kernel: a failed check's output is its message, other errors keep their
    traceback, warnings are ignored."""
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell('from dlmath.checks import check_integer\n'
                                  'check_integer("steps(path)", 73, 72, hint="count from 0.")'),
        nbformat.v4.new_code_cell("1 / 0"),
        nbformat.v4.new_code_cell("import numpy as np\nnp.log(0.0)"),
    ])
    NotebookClient(notebook, kernel_name="python3", allow_errors=True, timeout=60,
                   extra_arguments=list(VALIDATE_KERNEL_ARGUMENTS)).execute()
    check, other, warning = (cell.outputs for cell in notebook.cells)
    assert [o.output_type for o in check] == ["error"] and check[0].ename == "CheckFailed"
    assert check[0].traceback == ["Check failed: steps(path)", "  expected: 72",
                                  "  got:      73", "  hint:     count from 0."]
    assert other[0].ename == "ZeroDivisionError" and len(other[0].traceback) > 1
    # A warning (np.log(0.0) warns "divide by zero") writes nothing to stderr, as in grading.
    assert not [o for o in warning if o.output_type == "stream" and o.name == "stderr"]


def test_root_needs_allow_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert main(["lab", "--dir", str(tmp_path / "student"), "--no-browser"]) == EXIT_USAGE
    assert "--allow-root" in capsys.readouterr().err
