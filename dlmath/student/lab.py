"""``dlmath lab``: JupyterLab for a student working copy of the released assignments.

The working copy is set up the nbgrader way, so nbgrader's own student tools work in it:

``DIR/.exchange/``
    a course-local nbgrader exchange. Every start releases the committed ``release/<id>/``
    notebooks into it with nbgrader's ``release_assignment``, so the *Assignments* tab lists
    them and *Fetch* copies one into ``DIR/<id>/`` (never overwriting work already fetched).
    *Submit* puts a timestamped copy into the exchange's inbound folder.
``DIR/nbgrader_config.py``
    the student's nbgrader settings: the course id, the exchange, and the instructor's
    ``Execute`` settings (timeout, kernel arguments), so *Validate* runs the notebook the way
    the autograder will. Rewritten on every start.
``DIR/.jupyter/``
    Jupyter settings for this working copy only (its ``JUPYTER_CONFIG_DIR``; the usual ones
    still apply after it): the student-side nbgrader extensions on, the instructor's
    formgrader and *Create Assignment* tools off, and ``custom/custom.css``, which makes
    Validate's "Success! Your notebook passes all the tests." say that only the visible
    checks ran. The instructor's own ``jupyter lab`` in the course folder is unaffected.

JupyterLab must run *in* ``DIR``: nbgrader's Validate and Assignments handlers read
``nbgrader_config.py`` from the server's current directory.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from textwrap import fill

from nbgrader.validator import Validator
from traitlets.config import Config

from dlmath.course import CONFIG_FILE, CourseError, assignment_ids, load_config, open_api
from dlmath.student.kernel_hooks import PLOTS_INLINE
from dlmath.variants import identity

# The first line of the student config; a file without it is not ours and is never replaced.
CONFIG_MARKER = "# Written by `dlmath lab`"
EXCHANGE_DIR = ".exchange"
CACHE_DIR = ".nbgrader_cache"
JUPYTER_CONFIG_DIR = ".jupyter"

# Run at the start of Validate's kernel: failed checks then read as their message alone.
VALIDATE_KERNEL_HOOK = ("--IPKernelApp.exec_lines=from dlmath.student.kernel_hooks import "
                        "show_check_failures_plainly; show_check_failures_plainly()")
# nbgrader fails a test cell that writes to stderr, where Python warnings go, but the grader
# ignores warnings while it checks: so does Validate, or a correct answer that warns (say
# np.log(0) in an np.where) would fail Validate and pass grading.
# Figures are drawn inline whichever backend the student picked, as when grading.
VALIDATE_KERNEL_ARGUMENTS = (
    "--IPKernelApp.exec_lines=import warnings",
    "--IPKernelApp.exec_lines=warnings.simplefilter('ignore')",
    VALIDATE_KERNEL_HOOK,
    PLOTS_INLINE,
)
# Notebooks in JupyterLab draw inline. Set explicitly: dlmath's grading modules set
# MPLBACKEND=Agg for their own process when imported (the dlmath command imports them), and
# JupyterLab and its kernels would inherit that and show no plots.
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"

# nbgrader's server extensions a student needs (and the one a student must not have: the
# formgrader would turn the working copy into a course folder with its own gradebook).
STUDENT_SERVER_EXTENSIONS = {
    "nbgrader.server_extensions.assignment_list": True,
    "nbgrader.server_extensions.course_list": True,
    "nbgrader.server_extensions.validate_assignment": True,
    "nbgrader.server_extensions.formgrader": False,
}
# nbgrader's JupyterLab plugins that are instructor tools.
INSTRUCTOR_LAB_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment")


@dataclass(frozen=True)
class StudentCopy:
    """A prepared student working copy."""

    root: Path
    course_id: str
    released: tuple[str, ...]

    @property
    def exchange(self) -> Path:
        """The course-local nbgrader exchange."""
        return self.root / EXCHANGE_DIR

    @property
    def jupyter_config(self) -> Path:
        """The Jupyter config folder added to ``JUPYTER_CONFIG_PATH``."""
        return self.root / JUPYTER_CONFIG_DIR


# What a student reads when every visible check passes. nbgrader's own sentence, "Success! Your
# notebook passes all the tests.", reads as full marks, but hidden checks run at grading time.
# (Plain ASCII without quotes or backslashes: it also goes into a CSS string.)
VISIBLE_CHECKS_PASSED = (
    "All the visible checks pass. This is not your grade yet: when your notebook is graded, "
    "hidden checks also run, on inputs you have not seen. Make sure your functions work for "
    "any valid input, not only for the examples in the notebook.")
# nbgrader's Validate dialog is built in its JupyterLab extension, with that sentence fixed in
# its code; JupyterLab's custom CSS (LabApp.custom_css) shows ours in its place.
VALIDATE_CSS = f"""/* Written by `dlmath lab` on every start (see dlmath/student/lab.py). */
#validation-message.validation-success p {{ display: none; }}
#validation-message.validation-success::after {{ content: "{VISIBLE_CHECKS_PASSED}"; }}
"""


class CourseValidator(Validator):
    """nbgrader's Validator (``nbgrader validate``), but a pass says that only the visible
    checks ran: :data:`VISIBLE_CHECKS_PASSED` instead of "Success! Your notebook passes all
    the tests." (which nbgrader 0.9.6 does not let a setting change)."""

    problems: dict[str, list] = {}

    def validate(self, filename: str) -> dict[str, list]:
        """nbgrader's results (cells changed or failing; empty: every visible check passes),
        kept in ``problems`` for the caller of ``validate_and_print``."""
        self.problems = super().validate(filename)
        return self.problems

    def _print_num_failed(self, num_failed: int) -> None:
        if num_failed:
            super()._print_num_failed(num_failed)
        else:
            self.stream.write(fill(VISIBLE_CHECKS_PASSED, width=self.width) + "\n")


def validate_notebooks(paths: list[Path]) -> int:
    """Validate notebooks as ``nbgrader validate`` does, with nbgrader's configuration from
    the current folder (the student's ``nbgrader_config.py``); how many failed."""
    from jupyter_core.paths import jupyter_config_path
    from nbgrader.apps import NbGrader

    app = NbGrader()  # reads nbgrader_config.py the way nbgrader's Validate handler does
    app.config_file_paths.append([os.getcwd(), *jupyter_config_path()])
    app.load_config_file()
    validator = CourseValidator(config=app.config)
    validator.stream = sys.stdout  # nbgrader's is the sys.stdout of when it was imported
    failed = 0
    for path in paths:
        validator.validate_and_print(str(path))
        failed += bool(validator.problems)
    return failed


def released_assignments(course_root: Path) -> list[str]:
    """The assignments whose student version ``release/<id>/<id>.ipynb`` exists, in order."""
    return [a for a in assignment_ids(course_root)
            if (course_root / "release" / a / f"{a}.ipynb").is_file()]


def _check_workdir(course_root: Path, workdir: Path) -> None:
    """Refuse working copies that would clobber the course or someone else's nbgrader setup."""
    if workdir.exists() and not workdir.is_dir():
        raise CourseError(f"{workdir} is a file; pass a folder for the student working copy.")
    if workdir == course_root or workdir in course_root.parents:
        raise CourseError(f"{workdir} holds the course itself; pick a separate folder for the "
                          "student working copy (the default is student/ in the course).")
    if (workdir / "source").is_dir() and (workdir / CONFIG_FILE).is_file():
        raise CourseError(f"{workdir} is an nbgrader course folder, not a student working "
                          "copy; pick another folder.")
    config = workdir / CONFIG_FILE
    if config.is_file() and not config.read_text(encoding="utf-8").startswith(CONFIG_MARKER):
        raise CourseError(f"{config} was not written by dlmath lab and would be replaced; "
                          "move it away or pick another folder.")


def _student_config(course_config: Config, copy: StudentCopy) -> str:
    """The text of the student's nbgrader_config.py."""
    lines = [
        CONFIG_MARKER + " on every start; edits here are lost.",
        '"""nbgrader settings for this student working copy (see dlmath/student/lab.py)."""',
        "",
        "c = get_config()  # noqa: F821 - provided by nbgrader's config loader",
        "",
        f"c.CourseDirectory.course_id = {copy.course_id!r}",
        "# A course-local exchange: the Assignments tab lists what `dlmath lab` released there,",
        "# Fetch copies an assignment into this folder and Submit hands a copy back.",
        f"c.Exchange.root = {str(copy.exchange)!r}",
        f"c.Exchange.assignment_dir = {str(copy.root)!r}",
        f"c.Exchange.cache = {str(copy.root / CACHE_DIR)!r}",
        *validate_settings(course_config),
    ]
    return "\n".join(lines) + "\n"


def validate_settings(course_config: Config) -> list[str]:
    """Lines of a student's nbgrader_config.py that make Validate run a notebook as grading
    will: the instructor's ``Execute`` settings (time limit), warnings ignored as the grader
    does, and a failed check shown as its plain message (dlmath/student/kernel_hooks.py)."""
    lines = ["# The instructor's execution settings (time limit), and warnings ignored as the",
             "# grader does, so Validate runs the notebook as grading will; a failed check",
             "# shows as its plain message (dlmath/student/kernel_hooks.py)."]
    execute = dict(course_config.get("Execute", {}))
    arguments = [*execute.get("extra_arguments", []), *VALIDATE_KERNEL_ARGUMENTS]
    execute["extra_arguments"] = list(dict.fromkeys(arguments))  # each once, in order
    for key, value in sorted(execute.items()):
        lines.append(f"c.Execute.{key} = {value!r}")
    return lines


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` as indented JSON to ``path``, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def prepare_student_copy(course_root: Path, workdir: Path) -> StudentCopy:
    """Create or refresh the student working copy ``workdir`` of ``course_root``'s releases.

    Safe to run again: fetched notebooks (the student's work) are never touched; only the
    exchange, the generated config files and the released copies in the exchange change.
    """
    workdir = workdir.resolve()
    _check_workdir(course_root, workdir)
    assignments = released_assignments(course_root)
    if not assignments:
        raise CourseError(f"no released assignments in {course_root / 'release'}: run "
                          "`dlmath release` first (it writes release/<id>/<id>.ipynb).")
    course_config = load_config(course_root)
    course_id = course_config.CourseDirectory.course_id or "dlmath"
    copy = StudentCopy(workdir, course_id, tuple(assignments))
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / CONFIG_FILE).write_text(_student_config(course_config, copy), encoding="utf-8")
    write_json(copy.jupyter_config / "jupyter_server_config.json",
                {"ServerApp": {"jpserver_extensions": STUDENT_SERVER_EXTENSIONS}})
    write_json(copy.jupyter_config / "labconfig" / "page_config.json",
                {"disabledExtensions": {name: True for name in INSTRUCTOR_LAB_PLUGINS}})
    (copy.jupyter_config / "custom").mkdir(exist_ok=True)
    (copy.jupyter_config / "custom" / "custom.css").write_text(VALIDATE_CSS, encoding="utf-8")

    # Release with nbgrader itself (what an instructor's `nbgrader release_assignment` does),
    # from the committed release/ folder into the course-local exchange.
    extra = Config()
    extra.Exchange.root = str(copy.exchange)
    extra.ExchangeReleaseAssignment.force = True
    api = open_api(course_root, extra)
    for assignment in assignments:
        outcome = api.release_assignment(assignment)
        if not outcome or not outcome["success"]:
            log = (outcome or {}).get("log") or (outcome or {}).get("error") or ""
            raise CourseError(f"could not release {assignment} into {copy.exchange}:\n{log}")
    return copy


def lab_environment(copy: StudentCopy, base: dict[str, str] | None = None,
                    variant_key: str | None = None) -> dict[str, str]:
    """The environment JupyterLab runs in: the working copy's Jupyter config folder is its
    config folder (JupyterLab's custom CSS is read only there), then the usual ones; with
    ``variant_key``, the student's kernels compute with that student's numbers."""
    env = dict(os.environ if base is None else base)
    if variant_key is not None:
        env[identity.ENVIRONMENT] = variant_key
    usual = env.get("JUPYTER_CONFIG_DIR") or str(Path.home() / ".jupyter")
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(filter(None, [usual,
                                                               env.get("JUPYTER_CONFIG_PATH")]))
    env["JUPYTER_CONFIG_DIR"] = str(copy.jupyter_config)
    # Kernels and nbgrader's helpers (alembic) are found next to this interpreter even when
    # the virtual environment is not activated.
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "")])
    env["MPLBACKEND"] = INLINE_BACKEND
    return env


def lab_command(copy: StudentCopy, *, ip: str, port: int | None, open_browser: bool,
                allow_root: bool = False) -> list[str]:
    """The ``jupyter lab`` command line for the working copy."""
    command = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={copy.root}",
               f"--ServerApp.ip={ip}", "--LabApp.custom_css=True"]
    if port is not None:
        command.append(f"--ServerApp.port={port}")
    if not open_browser:
        command.append("--no-browser")
    if allow_root:
        command.append("--allow-root")
    return command


def check_jupyterlab() -> None:
    """Fail with a fix if JupyterLab or nbgrader's student extensions are not installed."""
    import importlib.util

    missing = [name for name in ("jupyterlab", *STUDENT_SERVER_EXTENSIONS)
               if importlib.util.find_spec(name) is None]
    lab_extension = Path(sys.prefix) / "share/jupyter/labextensions/@jupyter/nbgrader"
    if not (lab_extension / "package.json").is_file():
        missing.append(f"nbgrader's JupyterLab extension ({lab_extension})")
    if missing:
        raise CourseError(f"missing from this Python environment: {', '.join(missing)}. "
                          "Run bin/setup to install the course environment.")


def start_lab(copy: StudentCopy, *, ip: str, port: int | None, open_browser: bool,
              allow_root: bool = False, variant_key: str | None = None) -> None:
    """Replace this process by JupyterLab running in the working copy (does not return).

    exec rather than a child process: Ctrl+C, SIGTERM and the exit code then belong to
    JupyterLab alone, as if the student had typed ``jupyter lab`` there.
    """
    command = lab_command(copy, ip=ip, port=port, open_browser=open_browser,
                          allow_root=allow_root)
    env = lab_environment(copy, variant_key=variant_key)
    os.chdir(copy.root)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command[0], command, env)
