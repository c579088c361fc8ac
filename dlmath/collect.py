"""LMS bulk-download archives into ``submitted/<student>/<assignment>/``, via nbgrader's ZipCollect.

nbgrader's ``zip_collect`` extracts an archive (``ExtractorPlugin``) and asks a
``FileNameCollectorPlugin`` who each file belongs to. This module provides both plugins for
the names Canvas and Moodle give the files of a "download all submissions" archive:

* Canvas: ``<sortable name>[_LATE]_<canvas user id>_<attachment id>_<file name>`` (the name
  lower-cased and stripped of everything but letters and digits; ``-1``, ``-2`` appended to a
  re-uploaded file name);
* Moodle: ``<Full name>_<participant id>_assignsubmission_file_<file name>``, or the same as a
  folder holding the file ("download submissions in folders").

Students are found by Canvas user id (the roster import stores it), else by name. Every file
that cannot be placed is reported with the reason; ``dlmath collect`` never drops one silently
and never overwrites an existing, different submission unless asked to (the old one is kept).
``nbgrader zip_collect ASSIGNMENT`` uses the same plugins under the course configuration.
"""

from __future__ import annotations

import datetime as dt
import filecmp
import os
import re
import shutil
import unicodedata
import uuid
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo

from nbgrader.api import Gradebook
from nbgrader.apps.zipcollectapp import ZipCollectApp
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins import ExtractorPlugin, FileNameCollectorPlugin
from traitlets import Enum, Unicode
from traitlets.config import Config

from dlmath.course import CourseError, load_config
from dlmath.roster import LmsIds

CANVAS_FILE = re.compile(r"^(?P<name>.*?)_(?:(?P<late>(?i:late))_)?(?P<user_id>\d+)_"
                         r"(?P<attachment_id>\d+)_(?P<filename>.+)$")
CANVAS_ANONYMOUS = re.compile(r"^(?:(?i:late)_)?anon_\w+?_\d+_")
MOODLE_FILE = re.compile(r"^(?P<name>.+?)_(?P<participant>\d+)_assignsubmission_"
                         r"(?P<plugin>[a-z]+)_/?(?P<filename>.*)$")
# Canvas appends -1, -2 ... to a re-uploaded file name; browsers and OSes append " (1)".
COPY_SUFFIX = re.compile(r"(?:-\d+| ?\(\d+\))$")
WORK_DIR = Path(".dlmath") / "lms"


def canvas_name_key(text: str) -> str:
    """A name as Canvas writes it into file names: lower case, letters and digits only."""
    return "".join(ch for ch in unicodedata.normalize("NFC", text).lower()
                   if ch.isalnum() or ch == "_")


def full_name_key(text: str) -> str:
    """A full name compared loosely: case, accents' encoding and spacing do not matter."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


@dataclass(frozen=True)
class Placement:
    """Where one file of the archive goes, or why it goes nowhere."""

    path: str
    student_id: str | None = None
    file_id: str | None = None
    timestamp: str | None = None
    late: bool = False
    note: str = ""


class ArchiveExtractor(ExtractorPlugin):
    """nbgrader's extractor, safer: refuses paths outside the folder and keeps entry times.

    Each file's modification time is set to the time its archive entry records, which the
    collector may take as the submission time (see ``LmsCollector.archive_times``).
    """

    def extract(self, archive_path: str, extracted_path: str) -> None:
        """Extract every archive in ``archive_path`` into its own folder of ``extracted_path``."""
        for archive in sorted(Path(archive_path).iterdir()):
            if not zipfile.is_zipfile(archive):
                shutil.copy2(archive, extracted_path)
                continue
            target = Path(extracted_path) / archive.stem
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    parts = PurePosixPath(info.filename).parts
                    if info.is_dir() or not parts:
                        continue
                    if info.filename.startswith("/") or ".." in parts:
                        self.log.warning("Refusing to extract %s: it points outside the folder",
                                         info.filename)
                        continue
                    dest = target.joinpath(*parts)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(dest, "wb") as out:
                        shutil.copyfileobj(src, out)
                    stamp = dt.datetime(*info.date_time).timestamp()
                    os.utime(dest, (stamp, stamp))


class LmsCollector(FileNameCollectorPlugin):
    """Says whose notebook each file of a Canvas or Moodle submissions archive is.

    nbgrader calls ``collect`` once per extracted file. On the first call this plugin looks at
    the whole extracted folder, so it can tell a renamed notebook from a second file and whether
    the archive's entry times are submission times. Files it cannot place are in ``rejected``.
    """

    lms = Enum(["auto", "canvas", "moodle"], "auto",
               help="Which LMS wrote the archive; 'auto' decides per file name.").tag(config=True)
    archive_times = Enum(
        ["auto", "always", "never"], "auto",
        help="Use each archive entry's time as the submission time (timestamp.txt). 'auto' "
             "uses them unless every entry has the same time, which means the LMS stamped "
             "the time it built the archive rather than the upload time.").tag(config=True)
    timezone = Unicode("UTC", help="Time zone of the archive's entry times (zip files store "
                                   "local times without a zone).").tag(config=True)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.placements: dict[str, Placement] | None = None

    @property
    def rejected(self) -> list[Placement]:
        """The files that were not placed, each with the reason."""
        return [p for p in (self.placements or {}).values() if p.student_id is None]

    def collect(self, submitted_file: str) -> dict | None:
        """nbgrader's hook: ``{student_id, file_id[, timestamp]}`` for a file, or None."""
        if self.placements is None:
            self.placements = self.place_all(submitted_file)
        placement = self.placements.get(submitted_file)
        if placement is None or placement.student_id is None:
            if placement is not None:
                self.log.warning("Not collected: %s: %s", placement.path, placement.note)
            return None
        info = {"student_id": placement.student_id, "file_id": placement.file_id}
        if placement.timestamp:
            info["timestamp"] = placement.timestamp
        return info

    # -- deciding every file at once ---------------------------------------------------------

    def _coursedir(self) -> CourseDirectory:
        return self.parent.coursedir

    def place_all(self, one_file: str) -> dict[str, Placement]:
        """Decide where every file of the extracted folder holding ``one_file`` goes."""
        root = self._extracted_root(one_file)
        files = sorted(str(p) for p in root.rglob("*") if p.is_file())
        coursedir = self._coursedir()
        released = sorted(p.name for p in Path(coursedir.format_path(
            coursedir.release_directory, ".", coursedir.assignment_id)).glob("*.ipynb"))
        directory = StudentDirectory.load(Path(coursedir.root), coursedir.db_url)
        parsed = {f: self.parse(f, directory) for f in files}
        trusted = self._times_trusted([f for f, p in parsed.items() if p.student_id])
        placements = {}
        per_student = Counter(p.student_id for p in parsed.values()
                              if p.student_id and p.file_id and p.file_id.endswith(".ipynb"))
        taken: set[tuple[str, str]] = set()
        for path, p in parsed.items():
            if p.student_id is None:
                placements[path] = p
                continue
            placements[path] = placement = self._finish(p, released, per_student[p.student_id],
                                                        trusted)
            if placement.student_id is None:
                continue
            key = (placement.student_id, placement.file_id)
            if key in taken and not placement.timestamp:
                placements[path] = Placement(path, note=f"a second {placement.file_id} of "
                                             f"{placement.student_id}; the first one was kept")
            taken.add(key)
        return placements

    def _extracted_root(self, one_file: str) -> Path:
        app = self.parent
        if isinstance(app, ZipCollectApp):
            return Path(app._format_collect_path(app.extracted_directory))
        return Path(one_file).parent

    def _times_trusted(self, files: list[str]) -> bool:
        if self.archive_times != "auto":
            return self.archive_times == "always"
        times = [os.stat(f).st_mtime for f in files]
        # One entry, or all within two seconds of each other: the archive's build time.
        return len(times) >= 2 and max(times) - min(times) > 2

    def _finish(self, p: Placement, released: list[str], notebooks_of_student: int,
                trusted: bool) -> Placement:
        name = p.file_id or ""
        stem, ext = os.path.splitext(name)
        if ext != ".ipynb":
            return Placement(p.path, note=f"not a notebook ({name or 'empty name'})")
        file_id, note = f"{COPY_SUFFIX.sub('', stem)}{ext}", p.note
        if file_id not in released:
            if len(released) == 1 and notebooks_of_student == 1:
                note = f"{note}; renamed {name!r} to {released[0]}".lstrip("; ")
                file_id = released[0]
            else:
                return Placement(p.path, note=f"{name!r} is not a notebook of this assignment "
                                 f"({', '.join(released) or 'nothing released'})")
        timestamp = None
        if trusted:
            local = dt.datetime.fromtimestamp(os.stat(p.path).st_mtime)
            timestamp = local.replace(tzinfo=ZoneInfo(self.timezone)).isoformat(" ")
        elif p.late:
            note += ("; the archive holds no submission time, so no late penalty is computed "
                     "here (set a late policy in Canvas to deduct for it there)")
        return Placement(p.path, p.student_id, file_id, timestamp, p.late, note)

    def parse(self, path: str, directory: StudentDirectory) -> Placement:
        """Whose file ``path`` is, from its name (and its folder's, for Moodle)."""
        base = os.path.basename(path)
        in_folder = f"{os.path.basename(os.path.dirname(path))}/{base}"
        if self.lms in ("auto", "moodle"):
            match = MOODLE_FILE.match(base) or MOODLE_FILE.match(in_folder)
            if match:
                if match["plugin"] != "file":
                    return Placement(path, note=f"Moodle {match['plugin']} submission, "
                                     "not an uploaded file")
                full_name = match["name"]
                student = directory.by_full_name(full_name)
                if student is None:
                    return Placement(path, note=f"no student named {full_name!r} in the "
                                     "gradebook (import the roster first)")
                return Placement(path, student, match["filename"])
        if self.lms in ("auto", "canvas"):
            if CANVAS_ANONYMOUS.match(base):
                return Placement(path, note="anonymous grading hides the student; download "
                                 "the submissions with anonymous grading turned off")
            match = CANVAS_FILE.match(base)
            if match:
                student = (directory.by_canvas_id(match["user_id"])
                           or directory.by_canvas_name(match["name"]))
                if student is None:
                    return Placement(path, note=f"no student with Canvas id {match['user_id']} "
                                     f"or name {match['name']!r} (import the Canvas roster)")
                late = match["late"] is not None
                return Placement(path, student, match["filename"], late=late,
                                 note="late (Canvas marks it LATE)" if late else "")
        return Placement(path, note="the name is neither a Canvas nor a Moodle submission name")


@dataclass
class StudentDirectory:
    """The gradebook's students, findable by Canvas user id and by name."""

    canvas_ids: dict[str, str] = field(default_factory=dict)
    canvas_names: dict[str, list[str]] = field(default_factory=dict)
    full_names: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, course_root: Path, db_url: str) -> StudentDirectory:
        """Read the students from the gradebook (and Canvas ids from the roster import)."""
        directory = cls()
        ids = LmsIds.load(course_root)
        with Gradebook(db_url) as gradebook:
            for s in gradebook.students:
                first, last = s.first_name or "", s.last_name or ""
                canvas_id = s.lms_user_id or ids.students.get(s.id, {}).get("canvas_user_id")
                if canvas_id:
                    directory.canvas_ids[str(canvas_id)] = s.id
                directory.canvas_names.setdefault(canvas_name_key(f"{last}, {first}"),
                                                  []).append(s.id)
                directory.full_names.setdefault(full_name_key(f"{first} {last}"), []).append(s.id)
        return directory

    @staticmethod
    def _unique(candidates: list[str] | None) -> str | None:
        return candidates[0] if candidates and len(candidates) == 1 else None

    def by_canvas_id(self, user_id: str) -> str | None:
        """The student with this Canvas user id."""
        return self.canvas_ids.get(user_id)

    def by_canvas_name(self, name: str) -> str | None:
        """The only student whose Canvas file-name form of "Last, First" is ``name``."""
        return self._unique(self.canvas_names.get(name))

    def by_full_name(self, name: str) -> str | None:
        """The only student called ``name`` ("First Last"; Moodle writes _ as a space)."""
        return self._unique(self.full_names.get(full_name_key(name.replace("_", " "))))


# --- dlmath collect ----------------------------------------------------------------------------

@dataclass
class CollectResult:
    """What ``collect_archive`` did."""

    assignment: str
    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    late: list[str] = field(default_factory=list)
    rejected: list[Placement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    backup: Path | None = None

    @property
    def needs_attention(self) -> bool:
        """Whether a file was left unplaced or a different submission was left alone."""
        return bool(self.rejected or self.conflicts)


def guess_assignment(course_root: Path, archive: Path) -> str:
    """The assignment whose released notebook most of the archive's notebooks are named for."""
    released = {p.name: p.parent.name for p in (course_root / "release").glob("*/*.ipynb")}
    with zipfile.ZipFile(archive) as zf:
        names = [PurePosixPath(n).name for n in zf.namelist()]
    votes = Counter(assignment for name in names for notebook, assignment in released.items()
                    if COPY_SUFFIX.sub("", os.path.splitext(name)[0]) + ".ipynb" == notebook
                    or name.endswith("_" + notebook))
    if not votes:
        raise CourseError(f"cannot tell which assignment {archive.name} holds: none of its files "
                          "is named like a released notebook. Pass --assignment ID.")
    return votes.most_common(1)[0][0]


def collect_archive(course_root: Path, archive: Path, assignment: str | None = None, *,
                    lms: str = "auto", replace: bool = False) -> CollectResult:
    """Place the notebooks of an LMS submissions archive into ``submitted/``.

    nbgrader's ZipCollect (with ``ArchiveExtractor`` and ``LmsCollector``) collects into a
    staging folder under ``.dlmath/lms/collect/``, which also keeps a copy of the archive. Each
    staged submission then goes to ``submitted/<student>/<assignment>/``: new ones are added,
    identical ones skipped, and a different existing one is kept and reported as a conflict,
    unless ``replace``, in which case it is moved to ``.dlmath/lms/replaced/`` first.
    """
    if not zipfile.is_zipfile(archive):
        raise CourseError(f"{archive} is not a zip archive; pass the file the LMS's "
                          "'Download submissions' gave you, unchanged")
    assignment = assignment or guess_assignment(course_root, archive)
    if not (course_root / "release" / assignment).is_dir():
        raise CourseError(f"{assignment} has no release/{assignment}/ folder: run "
                          "`dlmath release` first")
    run = WORK_DIR / "collect" / f"{dt.datetime.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    staging = run / "submitted"
    config = load_config(course_root)
    config.merge(Config({
        # Only nbgrader's errors: every file it could not place is reported by dlmath collect.
        "ZipCollectApp": {"downloaded_directory": str(run / "downloaded"), "log_level": "ERROR",
                          "extractor_plugin": ArchiveExtractor,
                          "collector_plugin": LmsCollector},
        "CourseDirectory": {"submitted_directory": str(staging)},
        "LmsCollector": {"lms": lms},
    }))
    app = ZipCollectApp(config=config)
    app.coursedir = CourseDirectory(config=config, parent=app)
    app.coursedir.assignment_id = assignment
    archive_dir = Path(app._format_collect_path(app.archive_directory))
    archive_dir.mkdir(parents=True)
    shutil.copy2(archive, archive_dir / archive.name)
    app.init_plugins()
    try:
        app.extract_archive_files()
        app.process_extracted_files()
    except SystemExit as stop:  # ZipCollectApp.fail() exits; report its logged reason instead
        raise CourseError(f"nbgrader zip_collect stopped while collecting {archive.name} "
                          "(see the log above)") from stop
    collector = app.collector_plugin_inst
    result = CollectResult(assignment, rejected=collector.rejected)
    placed = [p for p in (collector.placements or {}).values() if p.student_id]
    result.late = sorted({p.student_id for p in placed if p.late})
    result.notes = [f"{p.student_id}: {p.note}" for p in placed if p.note]
    _move_into_place(course_root, course_root / staging, assignment, replace, result)
    return result


def _move_into_place(course_root: Path, staging: Path, assignment: str, replace: bool,
                     result: CollectResult) -> None:
    submitted = course_root / "submitted"
    for folder in sorted(staging.glob(f"*/{assignment}")):
        student = folder.parent.name
        dest = submitted / student / assignment
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(folder, dest)
            result.added.append(student)
        elif _same_files(folder, dest):
            result.unchanged.append(student)
        elif replace:
            result.backup = course_root / WORK_DIR / "replaced" / staging.parent.name
            (result.backup / student).mkdir(parents=True, exist_ok=True)
            shutil.move(str(dest), str(result.backup / student / assignment))
            shutil.copytree(folder, dest)
            result.replaced.append(student)
        else:
            result.conflicts.append(student)


def _same_files(a: Path, b: Path) -> bool:
    names_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    names_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    return names_a == names_b and all(filecmp.cmp(a / n, b / n, shallow=False) for n in names_a)
