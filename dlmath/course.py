"""The course directory: where it is, its nbgrader configuration, and nbgrader's API on it."""

from __future__ import annotations

import os
import re
import shutil
import sys
import uuid
from collections.abc import MutableMapping
from pathlib import Path

from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

CONFIG_FILE = "nbgrader_config.py"


class CourseError(Exception):
    """A problem with the course directory that the user can fix; the message says how."""


# Student ids as LMSs write them (logins, SIS ids, e-mail addresses). Anything else in a
# folder name of submitted/ (quotes, angle brackets, spaces, slashes) would reach file paths
# and the formgrader's pages, so it is refused.
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,99}")


def check_student_id(student: str) -> None:
    """Raise CourseError, naming the folder and the fix, if ``student`` is no valid id."""
    if not STUDENT_ID.fullmatch(student):
        raise CourseError(
            f"submitted/{student!r} is not a student id this course accepts (letters, digits "
            "and . _ @ + -, at most 100): rename the folder to the student's id (dlmath collect "
            "and nbgrader collect name folders so)")


def repository_root() -> Path:
    """The checkout this package was installed from (editable install), holding the course."""
    return Path(__file__).resolve().parents[1]


def find_course_root(explicit: Path | None = None) -> Path:
    """The course folder: ``explicit`` if given, else the nearest one at or above the cwd.

    Without ``explicit`` it falls back to the repository this package lives in, so
    ``dlmath`` works from anywhere inside or outside the checkout.
    """
    if explicit is not None:
        if not (explicit / CONFIG_FILE).is_file() or not (explicit / "source").is_dir():
            raise CourseError(f"{explicit} is not a course folder: it needs {CONFIG_FILE} and "
                              "source/. Pass the folder that holds them.")
        return explicit.resolve()
    here = Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / CONFIG_FILE).is_file() and (candidate / "source").is_dir():
            return candidate
    fallback = repository_root()
    if (fallback / CONFIG_FILE).is_file():
        return fallback
    raise CourseError(
        f"no course found: no {CONFIG_FILE} with a source/ folder at or above {here}. "
        "Run dlmath from inside the course repository or pass --course DIR."
    )


def load_config(course_root: Path) -> Config:
    """Load the course's nbgrader_config.py, rooted at ``course_root``."""
    config_path = course_root / CONFIG_FILE
    if not config_path.is_file():
        raise CourseError(f"{config_path} is missing: copy it from the course repository.")
    config = PyFileConfigLoader(CONFIG_FILE, path=str(course_root)).load_config()
    config.CourseDirectory.root = str(course_root)
    return config


def tools_on_path(environ: MutableMapping[str, str]) -> None:
    """Put this interpreter's ``bin`` folder first on ``environ["PATH"]``, as activating its
    virtual environment would, so that commands nbgrader runs by name (``alembic``) are the
    ones installed with it. Called once by the ``dlmath`` command at start-up, never as a
    side effect of a library call.
    """
    bin_dir = str(Path(sys.executable).parent)
    path = environ.get("PATH", "")
    if bin_dir not in path.split(os.pathsep):
        environ["PATH"] = os.pathsep.join(filter(None, [bin_dir, path]))


def open_api(course_root: Path, extra: Config | None = None) -> NbGraderAPI:
    """nbgrader's Python API on the course, configured exactly as the nbgrader CLI would be.

    nbgrader creates a new gradebook by running the ``alembic`` command by name: the process
    needs this interpreter's tools on ``PATH`` (see ``tools_on_path``).
    """
    config = load_config(course_root)
    if extra is not None:
        config.merge(extra)
    coursedir = CourseDirectory(config=config)
    return NbGraderAPI(coursedir=coursedir, config=config)


def assignment_ids(course_root: Path) -> list[str]:
    """The assignments in ``source/``, in course order."""
    source = course_root / "source"
    return sorted(p.name for p in source.iterdir() if (p / f"{p.name}.ipynb").is_file())


def check_assignment(course_root: Path, assignment: str) -> None:
    """Raise a CourseError naming the valid assignments if ``assignment`` is unknown."""
    known = assignment_ids(course_root)
    if assignment not in known:
        raise CourseError(f"unknown assignment {assignment!r}; the course has: {', '.join(known)}")


def copy_course(course_root: Path, destination: Path) -> Path:
    """Copy the course's config and sources into a fresh course directory ``destination``."""
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    shutil.copy2(course_root / CONFIG_FILE, destination / CONFIG_FILE)
    shutil.copytree(course_root / "source", destination / "source")
    return destination


def write_atomically(path: Path, text: str) -> None:
    """Write ``path`` through a uniquely named temporary file beside it, so a crash leaves
    either the old file or the new one, never a partial one."""
    unfinished = path.with_name(f"{path.stem}.{uuid.uuid4().hex}.partial")
    unfinished.write_text(text, encoding="utf-8")
    unfinished.replace(path)
