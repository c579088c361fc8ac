"""LMS bulk-download archives into ``submitted/<student>/<assignment>/``, via nbgrader's ZipCollect.

nbgrader's ``zip_collect`` extracts an archive (``ExtractorPlugin``) and asks a
``FileNameCollectorPlugin`` who each file belongs to. This module provides both plugins for
the archives of Canvas's "Download Submissions" and Moodle's "Download all submissions":

* Canvas (instructure/canvas-lms ``lib/content_zipper.rb``): flat entries
  ``<sortable name>[_LATE]_<user id>_<attachment id>_<file name>``, the name lower-cased with
  every non-word character removed; ``<name>[_LATE]_<user id>_text.html`` (``_link.html``) for
  a text (URL) entry; ``[LATE_]anon_<anonymous id>_...`` under anonymous grading. Canvas
  appends ``-1``, ``-2``... to a file uploaded under a name the student had used before.
* Moodle (moodle/moodle ``mod/assign/locallib.php`` ``download_submissions``): a folder
  ``<prefix>_assignsubmission_file_/`` per student holding the files (and subfolders) as
  uploaded, or (without folders) files ``<prefix>_assignsubmission_file_<file name>``, where
  ``<prefix>`` is ``clean_filename("<full name>_<participant id>")`` with the name's ``_``
  turned into spaces; ``Participant_<id>`` under blind marking; ``<group>-<full name>_<id>``
  for a team submission.

Attribution comes only from what the LMS wrote: Canvas's user id (its name part checked
against the roster, since a student controls the rest of the entry name), or the Moodle
folder a file is in. A file name a student chose never decides whose a file is. Entry times are
not submission times: Canvas stamps each entry when it adds it to the zip, and Moodle's are when
a file was stored, in the server's local time (``LmsCollector.moodle_time_zone`` opts in to
them). Every file that is not collected is reported with the reason; files a student's
submission cannot be told from (two notebooks) are kept for the instructor, never guessed at.
What was not collected is remembered (``CollectRecord``), so that an export never turns it
into a 0. ``nbgrader zip_collect ASSIGNMENT`` uses the same plugins under the course config.
"""

from __future__ import annotations

import datetime as dt
import filecmp
import hashlib
import json
import os
import re
import shutil
import unicodedata
import uuid
import zipfile
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps.zipcollectapp import ZipCollectApp
from nbgrader.coursedir import CourseDirectory
from nbgrader.plugins import ExtractorPlugin, FileNameCollectorPlugin
from traitlets import Enum, Float, Unicode
from traitlets.config import Config

from dlmath.course import CourseError, load_config, write_atomically
from dlmath.grading.pipeline import submission_digest
from dlmath.lms.roster import LmsIds

# Where Canvas's "<name>[_LATE]_<user id>_" ends and its "<attachment id>_<file>" (or
# "text.html") begins. The name may itself hold "_<digits>_" (Canvas only strips some), so every
# position is tried and the roster decides (``StudentDirectory.canvas_owner``).
CANVAS_SPLIT = re.compile(r"_(?:(?P<late>(?i:late))_)?(?P<user_id>\d+)_(?:(?P<attachment_id>\d+)_"
                          r"(?P<filename>.+)|(?P<entry>text|link)\.html)$", re.DOTALL)
CANVAS_ANONYMOUS = re.compile(r"^(?:(?i:late)_)?anon_[A-Za-z0-9]+_")
# Moodle's prefix never holds "_" in the name part (download_submissions replaces it by " ").
MOODLE_FOLDER = re.compile(r"^(?P<name>[^_]*)_(?P<participant>\d+)_assignsubmission_"
                           r"(?P<plugin>[a-z]+)_$")
MOODLE_FILE = re.compile(r"^(?P<name>[^_]*)_(?P<participant>\d+)_assignsubmission_"
                         r"(?P<plugin>[a-z]+)_(?P<filename>.+)$", re.DOTALL)
MOODLE_PARTICIPANT = "Participant"  # get_string('participant', 'assign'): blind marking
# Moodle's clean_filename (PARAM_FILE, lib/moodlelib.php): control characters and these go.
MOODLE_UNSAFE = re.compile(r"[\x00-\x1f\x7f&<>\"`|':\\/]")
CANVAS_COPY = re.compile(r"-(?P<n>\d+)$")    # Canvas: a re-upload under a name used before
BROWSER_COPY = re.compile(r" ?\((?P<n>\d+)\)$")  # browsers and OSes: a second download
WORK_DIR = Path(".dlmath") / "lms"
RECORD_DIR = WORK_DIR / "not_collected"
ZIP_UTF8_FLAG = 0x800


def entry_name(info: zipfile.ZipInfo) -> str:
    """An archive entry's name as the LMS wrote it.

    Canvas's rubyzip writes UTF-8 names without the zip's UTF-8 flag (rubyzip/rubyzip
    ``lib/zip/entry.rb``, unless ``Zip.unicode_names``), which Python then reads as code page
    437 ("m├╝llerlukas"); such a name is read as UTF-8 when it is valid UTF-8.
    """
    if info.flag_bits & ZIP_UTF8_FLAG:
        return info.filename
    try:
        return info.filename.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return info.filename


def loose_key(text: str) -> str:
    """Letters and digits of ``text``, case-folded: how a name is compared with the one an LMS
    wrote into a file name (Canvas drops every non-word character, Moodle some)."""
    return "".join(ch for ch in unicodedata.normalize("NFC", text).casefold() if ch.isalnum())


def moodle_name_key(text: str) -> str:
    """A full name as Moodle writes it into file names, compared loosely: ``_`` as a space,
    ``clean_filename``'s characters removed, case and spacing ignored."""
    cleaned = MOODLE_UNSAFE.sub("", unicodedata.normalize("NFC", text).replace("_", " "))
    return " ".join(cleaned.casefold().split())


@dataclass(frozen=True)
class Placement:
    """Where one file of the archive goes, or why it goes nowhere.

    ``name`` is the file's path inside the archive; ``owner`` the student the LMS says the
    file is from, also when it is not collected; ``ignored`` marks a file that needs nobody's
    attention (the Canvas test student's, an earlier upload superseded by a later one).
    """

    path: str
    student_id: str | None = None
    file_id: str | None = None
    timestamp: str | None = None
    late: bool = False
    note: str = ""
    owner: str | None = None
    ignored: bool = False
    name: str = ""

    @property
    def rejected(self) -> bool:
        """Not collected, and someone should look at it."""
        return self.student_id is None and not self.ignored


@dataclass(frozen=True)
class ArchiveFile:
    """One extracted file and what the LMS's name (or folder) for it says.

    ``name`` is its path inside the archive; ``filename`` the student's own file name (for a
    Moodle folder, its path inside the folder); ``problem`` why it cannot be collected.
    """

    path: str
    name: str
    owner: str | None = None
    filename: str = ""
    lms: str = ""
    late: bool = False
    upload_id: int | None = None
    problem: str = ""
    ignored: bool = False
    note: str = ""


class ArchiveExtractor(ExtractorPlugin):
    """nbgrader's extractor, safer: refuses paths outside the folder, reads Canvas's UTF-8 names
    right, and keeps entry times (as file times, for ``LmsCollector.moodle_time_zone``)."""

    def extract(self, archive_path: str, extracted_path: str) -> None:
        """Extract every archive in ``archive_path`` into its own folder of ``extracted_path``."""
        for archive in sorted(Path(archive_path).iterdir()):
            if not zipfile.is_zipfile(archive):
                shutil.copy2(archive, extracted_path)
                continue
            target = Path(extracted_path) / archive.stem
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    name = entry_name(info)
                    parts = PurePosixPath(name).parts
                    if info.is_dir() or not parts:
                        continue
                    if name.startswith("/") or ".." in parts:
                        self.log.warning("Refusing to extract %s: it points outside the folder",
                                         name)
                        continue
                    dest = target.joinpath(*parts)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(dest, "wb") as out:
                        shutil.copyfileobj(src, out)
                    stamp = dt.datetime(*info.date_time).timestamp()
                    os.utime(dest, (stamp, stamp))


@dataclass
class StudentDirectory:
    """The gradebook's students, findable by what Canvas and Moodle write about them."""

    names: dict[str, str] = field(default_factory=dict)
    canvas_ids: dict[str, str] = field(default_factory=dict)
    canvas_test_ids: set[str] = field(default_factory=set)
    canvas_names: dict[str, list[str]] = field(default_factory=dict)
    moodle_names: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def load(cls, course_root: Path, db_url: str) -> StudentDirectory:
        """Read the students from the gradebook (and Canvas ids from the roster import)."""
        directory = cls()
        ids = LmsIds.load(course_root)
        directory.canvas_test_ids = set(ids.canvas_test_students)
        with Gradebook(db_url) as gradebook:
            for s in gradebook.students:
                first, last = s.first_name or "", s.last_name or ""
                directory.names[s.id] = " ".join(filter(None, [first, last])) or s.id
                canvas_id = s.lms_user_id or ids.students.get(s.id, {}).get("canvas_user_id")
                if canvas_id:
                    directory.canvas_ids[str(canvas_id)] = s.id
                directory.canvas_names.setdefault(loose_key(f"{last}{first}"), []).append(s.id)
                # Moodle's fullname() is "First Last" unless the site shows "Last First".
                for order in {f"{first} {last}", f"{last} {first}"}:
                    directory.moodle_names.setdefault(moodle_name_key(order), []).append(s.id)
        return directory

    def describe(self, student: str) -> str:
        """``Name (id)`` for messages."""
        return f"{self.names.get(student, student)} ({student})"

    @staticmethod
    def _unique(candidates: list[str] | None) -> str | None:
        return candidates[0] if candidates and len(set(candidates)) == 1 else None

    def by_canvas_id(self, user_id: str) -> str | None:
        """The student with this Canvas user id."""
        return self.canvas_ids.get(user_id)

    def by_canvas_name(self, name: str) -> str | None:
        """The only student whose "Last, First" is ``name`` as Canvas writes it in file names."""
        return self._unique(self.canvas_names.get(loose_key(name)))

    def by_moodle_name(self, name: str) -> str | None:
        """The only student called ``name`` as Moodle writes full names into file names."""
        return self._unique(self.moodle_names.get(moodle_name_key(name)))


@dataclass
class CollectRecord:
    """What LMS archives held but could not be collected, for one assignment.

    ``students``: student id -> ``{"reason", "archive", "submitted"}``, the reason their file
    was not collected and the digest of ``submitted/<student>/<assignment>/`` then; it holds
    until that folder changes (the instructor puts the right file there, or a later archive
    does). ``unplaced``: each file no student could be found for (its name in the archive) ->
    ``{"sha256", "reason", "archive"}``; it holds until an identical file is in some student's
    submission.
    Kept in ``.dlmath/lms/not_collected/<assignment>.json``; ``grade_status`` reads it.
    """

    students: dict[str, dict[str, str]] = field(default_factory=dict)
    unplaced: dict[str, dict[str, str]] = field(default_factory=dict)

    @staticmethod
    def path(course_root: Path, assignment: str) -> Path:
        """Where the record of ``assignment`` is kept."""
        return course_root / RECORD_DIR / f"{assignment}.json"

    @classmethod
    def load(cls, course_root: Path, assignment: str) -> CollectRecord:
        """The record of ``assignment`` (empty if nothing was ever left out)."""
        path = cls.path(course_root, assignment)
        if not path.is_file():
            return cls()
        return cls(**json.loads(path.read_text(encoding="utf-8")))

    def save(self, course_root: Path, assignment: str) -> None:
        """Write the record atomically (or remove it when it holds nothing)."""
        path = self.path(course_root, assignment)
        if not self.students and not self.unplaced:
            path.unlink(missing_ok=True)
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, json.dumps(asdict(self), indent=1, sort_keys=True,
                                          ensure_ascii=False))

    def open_students(self, course_root: Path, assignment: str) -> dict[str, str]:
        """Student id -> reason, for the students whose files are still not collected."""
        return {student: entry["reason"] for student, entry in self.students.items()
                if submission_digest(course_root, assignment, student) == entry["submitted"]}

    def open_unplaced(self, course_root: Path, assignment: str) -> list[str]:
        """The files no student was found for and no submission holds a copy of."""
        held = {_sha256(p) for p in (course_root / "submitted").glob(f"*/{assignment}/**/*")
                if p.is_file()}
        return sorted(name for name, entry in self.unplaced.items()
                      if entry["sha256"] not in held)


def _sha256(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


class LmsCollector(FileNameCollectorPlugin):
    """Says whose notebook each file of a Canvas or Moodle submissions archive is.

    nbgrader calls ``collect`` once per extracted file. On the first call this plugin looks at
    the whole extracted folder, so that it can tell a renamed notebook from a second one and
    order a student's uploads. Files it does not collect are in ``rejected`` (someone should
    look) and ``ignored`` (the Canvas test student's, earlier uploads); what was not collected
    is written to the assignment's ``CollectRecord``.
    """

    lms = Enum(["auto", "canvas", "moodle"], "auto",
               help="Which LMS wrote the archive; 'auto' tells from its names.").tag(config=True)
    canvas_late_days = Float(
        0.0, help="Canvas marks late work LATE but its archive holds no submission time. 0: no "
                  "late penalty from here (set one in Canvas, or grade by hand). More: a LATE "
                  "submission counts as this many days late (its timestamp.txt is the due date "
                  "plus that), so the course's late policy deducts for it.").tag(config=True)
    moodle_time_zone = Unicode(
        "", help="Moodle's archive entries carry the time each file was stored, in the Moodle "
                 "server's local time, not when the student submitted. Empty (default): no "
                 "submission time is taken from them. A time zone such as 'Europe/Berlin' (the "
                 "server's): each student's latest file time becomes timestamp.txt, and late "
                 "penalties follow from it.").tag(config=True)

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.placements: dict[str, Placement] | None = None
        self.directory = StudentDirectory()

    @property
    def rejected(self) -> list[Placement]:
        """The files that were not collected and need someone's attention, with the reason."""
        return sorted((p for p in (self.placements or {}).values() if p.rejected),
                      key=lambda p: p.name)

    @property
    def ignored(self) -> list[Placement]:
        """The files that were not collected and need nobody's attention, with the reason."""
        return sorted((p for p in (self.placements or {}).values() if p.ignored),
                      key=lambda p: p.name)

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

    def place_all(self, one_file: str) -> dict[str, Placement]:
        """Decide where every file of the extracted folder holding ``one_file`` goes."""
        root = self._extracted_root(one_file)
        coursedir = self.parent.coursedir
        course_root = Path(coursedir.root)
        assignment = coursedir.assignment_id
        released = sorted(p.name for p in Path(coursedir.format_path(
            coursedir.release_directory, ".", assignment)).glob("*.ipynb"))
        self.directory = StudentDirectory.load(course_root, coursedir.db_url)
        files = [self.parse(str(p), _archive_path(p, root), self.directory)
                 for p in sorted(root.rglob("*")) if p.is_file()]
        placements: dict[str, Placement] = {}
        owned: dict[str, list[ArchiveFile]] = {}
        for f in files:
            if f.problem or f.owner is None:
                placements[f.path] = Placement(f.path, note=f.problem, owner=f.owner,
                                               ignored=f.ignored)
            else:
                owned.setdefault(f.owner, []).append(f)
        due = self._due_date(coursedir.db_url, assignment)
        zone = _zone(self.moodle_time_zone) if self.moodle_time_zone else None
        by_path = {f.path: f for f in files}
        for owner, their_files in owned.items():
            for placement in self._place_student(owner, their_files, released, course_root,
                                                  assignment):
                placements[placement.path] = self._with_time(
                    placement, by_path[placement.path].lms, due, zone)
        names = {f.path: f.name for f in files}
        placements = {path: replace(p, name=names[path]) for path, p in placements.items()}
        self._record(course_root, assignment, placements, root)
        return placements

    def _extracted_root(self, one_file: str) -> Path:
        app = self.parent
        if isinstance(app, ZipCollectApp):
            return Path(app._format_collect_path(app.extracted_directory))
        return Path(one_file).parent

    def parse(self, path: str, name: str, directory: StudentDirectory) -> ArchiveFile:
        """Whose file ``path`` is, from its name ``name`` inside the archive.

        A file in a folder is the folder's: only a Moodle submission folder names its owner.
        A file at the top is named by Canvas or (without folders) by Moodle.
        """
        parts = PurePosixPath(name).parts
        if len(parts) > 1:
            folder = MOODLE_FOLDER.match(parts[0]) if self.lms != "canvas" else None
            if folder is None:
                return ArchiveFile(path, name, problem=f"in the folder {parts[0]}/, which is no "
                                   "Moodle submission folder (Canvas writes no folders): pass "
                                   "the archive the LMS gave you, unchanged")
            return self._moodle(path, name, folder["name"], folder["participant"],
                                folder["plugin"], "/".join(parts[1:]), directory)
        moodle = MOODLE_FILE.match(name) if self.lms != "canvas" else None
        if moodle:
            return self._moodle(path, name, moodle["name"], moodle["participant"],
                                moodle["plugin"], moodle["filename"], directory)
        if self.lms != "moodle":
            return self._canvas(path, name, directory)
        return ArchiveFile(path, name, problem="the name is no Moodle submission name "
                           "(<full name>_<participant id>_assignsubmission_file_...)")

    def _moodle(self, path: str, name: str, full_name: str, participant: str, plugin: str,
                filename: str, directory: StudentDirectory) -> ArchiveFile:
        if MOODLE_PARTICIPANT in (full_name, full_name.rpartition("-")[2]):
            return ArchiveFile(path, name, problem=f"Moodle blind marking hides whose it is "
                               f"(Participant {participant}): reveal student identities in "
                               "the assignment, download again and collect that archive")
        owner = directory.by_moodle_name(full_name)
        if owner is None:
            for i, ch in enumerate(full_name):  # "<group>-<full name>": a team submission
                member_id = directory.by_moodle_name(full_name[i + 1:]) if ch == "-" else None
                if member_id:
                    # Every member's work, so no one's alone: it blocks the class's zeros.
                    return ArchiveFile(path, name, problem=(
                        f"a Moodle group submission of {full_name[:i]!r}, downloaded under "
                        f"{directory.describe(member_id)}: nbgrader grades each student, so copy"
                        f" it into submitted/<student>/{self.parent.coursedir.assignment_id}/ "
                        "of every member"))
            return ArchiveFile(path, name, problem=(
                f"no student named {full_name!r} in the gradebook (Moodle writes 'First Last',"
                " or 'Last First' on some sites, without ' \" & < > | : ` \\ /): import the "
                "Moodle roster; a group submission (Moodle 4.x names it '<group>_<group id>')"
                " also looks like this"))
        if plugin != "file":
            return ArchiveFile(path, name, owner, problem=f"a Moodle {plugin} submission "
                               "(typed into Moodle), not an uploaded notebook")
        return ArchiveFile(path, name, owner, filename, "moodle")

    def _canvas(self, path: str, name: str, directory: StudentDirectory) -> ArchiveFile:
        if CANVAS_ANONYMOUS.match(name):
            return ArchiveFile(path, name, problem="Canvas's anonymous grading hides whose it "
                               "is: download the submissions once anonymity is lifted (or "
                               "grading is not anonymous) and collect that archive")
        splits = [(name[:i], m, directory.by_canvas_id(m["user_id"])) for i in range(len(name))
                  if name[i] == "_" and (m := CANVAS_SPLIT.match(name, i))]
        if not splits:
            return ArchiveFile(path, name, problem="the name is neither a Canvas nor a Moodle "
                               "submission name")
        test_student = ArchiveFile(path, name, problem="Canvas's test student (Student View), "
                                   "no student", ignored=True)
        if any(m["user_id"] in directory.canvas_test_ids for _, m, _ in splits):
            return test_student
        known = [split for split in splits if split[2]]
        # The name part must be the owner's when several splits name a known student.
        named = [split for split in known if directory.by_canvas_name(split[0]) == split[2]]
        candidates = named or known
        note = ""
        if len({owner for _, _, owner in candidates}) > 1:
            return ArchiveFile(path, name, problem="the name holds the Canvas ids of several "
                               "students (" + ", ".join(sorted(directory.describe(owner) for
                                                               _, _, owner in candidates))
                               + ") and cannot be told apart by their names")
        if not candidates:
            if any(loose_key(who) == "studenttest" for who, _, _ in splits):
                return test_student
            # No known Canvas id (a roster from elsewhere): Canvas's name part, if one student's.
            candidates = [(who, m, directory.by_canvas_name(who)) for who, m, _ in splits
                          if directory.by_canvas_name(who)]
            if len({owner for _, _, owner in candidates}) != 1:
                who, m, _ = splits[0]
                return ArchiveFile(path, name, problem=f"no student with Canvas id "
                                   f"{m['user_id']} or name {who!r}: import the Canvas roster")
            note = f"Canvas id {candidates[0][1]['user_id']} is not in the roster: found by name"
        _, m, owner = candidates[0]
        late = m["late"] is not None
        if m["entry"]:
            kind = "text entry" if m["entry"] == "text" else "website URL"
            return ArchiveFile(path, name, owner, late=late, problem=f"a Canvas {kind} (typed "
                               "into Canvas), not an uploaded notebook")
        return ArchiveFile(path, name, owner, m["filename"], "canvas", late,
                           int(m["attachment_id"]), note=note)

    # -- one student's files --------------------------------------------------------------

    def _place_student(self, owner: str, files: list[ArchiveFile], released: list[str],
                       course_root: Path, assignment: str) -> list[Placement]:
        """Which of one student's files is which released notebook.

        A notebook named as released (or with a copy suffix) is that notebook; a student's only
        notebooks are the assignment's only one, however named. Several for one notebook: the
        latest when Canvas's attachment ids and ``-N`` suffixes agree on the order, else none
        (all are kept for the instructor and reported).
        """
        who = self.directory.describe(owner)
        out, candidates, strays = [], {}, []
        for f in files:
            base = PurePosixPath(f.filename).name
            if not base.endswith(".ipynb"):
                out.append(Placement(f.path, owner=owner, note=f"not a notebook ({base})"))
                continue
            notebook = _released_name(f, released)
            if notebook:
                candidates.setdefault(notebook, []).append(f)
            else:
                strays.append(f)
        if not candidates and len(released) == 1 and strays:
            candidates[released[0]], strays = strays, []
        for f in strays:
            out.append(Placement(f.path, owner=owner, note=f"{f.filename!r} is not a notebook "
                                 f"of this assignment ({', '.join(released) or 'none released'})"))
        for notebook, found in candidates.items():
            latest = found[0] if len(found) == 1 else _latest_upload(found)
            if latest is None:
                kept = os.path.relpath(os.path.dirname(found[0].path), course_root)
                out.extend(Placement(f.path, owner=owner, note=(
                    f"one of {len(found)} files for {notebook} ("
                    + ", ".join(repr(g.filename) for g in found) + "), and nothing tells which "
                    f"is the submission: all are kept in {kept}/; copy the right one to "
                    f"submitted/{owner}/{assignment}/{notebook}")) for f in found)
                continue
            notes = [latest.note] if latest.note else []
            if "/" in latest.filename:
                notes.append(f"from the subfolder {PurePosixPath(latest.filename).parent}/")
            if _released_name(latest, released) is None:
                notes.append(f"renamed {PurePosixPath(latest.filename).name!r} to {notebook}")
            if len(found) > 1:
                notes.append(f"took {latest.filename!r} (Canvas attachment {latest.upload_id}), "
                             f"the latest of {len(found)} uploads")
            out.append(Placement(latest.path, owner, notebook, late=latest.late,
                                 note="; ".join(notes), owner=owner))
            out.extend(Placement(f.path, owner=owner, ignored=True, note=(
                f"an earlier upload of {who} (Canvas attachment {f.upload_id}), superseded by "
                f"{latest.filename!r} ({latest.upload_id})")) for f in found if f is not latest)
        return out

    def _with_time(self, p: Placement, lms: str, due: dt.datetime | None,
                   zone: ZoneInfo | None) -> Placement:
        """The placement with its submission time, where the course's settings give one:
        Canvas's LATE as ``canvas_late_days`` after ``due``; a Moodle file's time in ``zone``."""
        if p.student_id is None:
            return p
        notes = [p.note] if p.note else []
        timestamp = None
        if p.late:
            if self.canvas_late_days > 0 and due is not None:
                late_by = dt.timedelta(days=self.canvas_late_days)
                timestamp = (due + late_by).isoformat(" ")
                notes.append(f"LATE in Canvas: counted as {self.canvas_late_days:g} days late "
                             "(LmsCollector.canvas_late_days)")
            elif self.canvas_late_days > 0:
                notes.append("LATE in Canvas, but the assignment has no due date: no penalty")
            else:
                notes.append("LATE in Canvas; the archive holds no submission time, so no late "
                             "penalty is computed here (LmsCollector.canvas_late_days sets one)")
        elif zone is not None and lms == "moodle":
            # The extractor set the file's time from its entry's local time, read as this
            # machine's local time; read back the same way, it gets the Moodle server's zone.
            local = dt.datetime.fromtimestamp(os.stat(p.path).st_mtime)
            timestamp = local.replace(tzinfo=zone).isoformat(" ")
        return Placement(p.path, p.student_id, p.file_id, timestamp, p.late, "; ".join(notes),
                         p.owner)

    @staticmethod
    def _due_date(db_url: str, assignment: str) -> dt.datetime | None:
        with Gradebook(db_url) as gradebook:
            try:
                due = gradebook.find_assignment(assignment).duedate
            except MissingEntry:
                return None
        return due.replace(tzinfo=dt.UTC) if due else None  # nbgrader stores UTC

    def _record(self, course_root: Path, assignment: str, placements: dict[str, Placement],
                root: Path) -> None:
        """Update the assignment's ``CollectRecord`` with what this archive left out."""
        record = CollectRecord.load(course_root, assignment)
        archive = ", ".join(sorted(p.name for p in root.iterdir())) if root.is_dir() else ""
        placed = {p.student_id for p in placements.values() if p.student_id}
        for student in placed:
            record.students.pop(student, None)
        left_out: dict[str, list[str]] = {}
        for p in placements.values():
            if not p.rejected:
                continue
            if p.owner is None:
                record.unplaced[p.name] = {"sha256": _sha256(p.path), "reason": p.note,
                                           "archive": archive}
            elif p.owner not in placed:
                left_out.setdefault(p.owner, []).append(p.note)
        for student, reasons in left_out.items():
            record.students[student] = {
                "reason": "; ".join(dict.fromkeys(reasons)), "archive": archive,
                "submitted": submission_digest(course_root, assignment, student)}
        record.save(course_root, assignment)


def _archive_path(path: Path, root: Path) -> str:
    """``path``'s name inside its archive: relative to the archive's own extraction folder."""
    parts = path.relative_to(root).parts
    return "/".join(parts[1:] if len(parts) > 1 else parts)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise CourseError(f"LmsCollector.moodle_time_zone = {name!r} is no time zone; use a "
                          "name such as 'Europe/Berlin'") from error


def _released_name(f: ArchiveFile, released: list[str]) -> str | None:
    """The released notebook ``f`` is named after, allowing a copy suffix: " (1)" (browsers),
    or "-1" (Canvas's re-upload)."""
    stem, ext = os.path.splitext(PurePosixPath(f.filename).name)
    stems = [stem, BROWSER_COPY.sub("", stem)] + ([CANVAS_COPY.sub("", stem)]
                                                  if f.lms == "canvas" else [])
    return next((s + ext for s in stems if s + ext in released), None)


def _latest_upload(found: list[ArchiveFile]) -> ArchiveFile | None:
    """The later upload among Canvas files ``name``, ``name-1``, ``name-2``..., when Canvas's
    attachment ids and re-upload suffixes order them alike; None when they cannot be ordered
    (another LMS, names that are not all Canvas's re-upload names, or the orders disagree)."""
    if any(f.lms != "canvas" or f.upload_id is None for f in found):
        return None

    def suffix(f: ArchiveFile) -> int:
        m = CANVAS_COPY.search(os.path.splitext(PurePosixPath(f.filename).name)[0])
        return int(m["n"]) if m else 0

    by_id = sorted(found, key=lambda f: f.upload_id or 0)
    if len({f.upload_id for f in found}) != len(found) or len({suffix(f) for f in found}) \
            != len(found) or by_id != sorted(found, key=suffix):
        return None
    return by_id[-1]


# --- dlmath collect ----------------------------------------------------------------------------

@dataclass
class CollectResult:
    """What ``collect_archive`` did. ``names`` gives each student's "Name (id)" for messages."""

    assignment: str
    added: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    late: list[str] = field(default_factory=list)
    rejected: list[Placement] = field(default_factory=list)
    ignored: list[Placement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    backup: Path | None = None

    @property
    def needs_attention(self) -> bool:
        """Whether a file was left uncollected or a different submission was left alone."""
        return bool(self.rejected or self.conflicts)

    @property
    def not_collected(self) -> list[str]:
        """The students with files in the archive but nothing collected from it."""
        placed = set(self.added + self.unchanged + self.replaced + self.conflicts)
        return sorted({p.owner for p in self.rejected if p.owner and p.owner not in placed})


def guess_assignment(course_root: Path, archive: Path) -> str:
    """The assignment whose released notebook most of the archive's notebooks are named for."""
    released = {p.name: p.parent.name for p in (course_root / "release").glob("*/*.ipynb")}
    with zipfile.ZipFile(archive) as zf:
        names = [PurePosixPath(entry_name(info)).name for info in zf.infolist()]
    votes = Counter()
    for name in names:
        stem, ext = os.path.splitext(name)
        plain = {stem, BROWSER_COPY.sub("", stem), CANVAS_COPY.sub("", stem)}
        votes.update(assignment for notebook, assignment in released.items()
                     if any(s + ext == notebook or name.endswith("_" + notebook) for s in plain))
    if not votes:
        raise CourseError(f"cannot tell which assignment {archive.name} holds: none of its files "
                          "is named like a released notebook. Pass --assignment ID.")
    return votes.most_common(1)[0][0]


def collect_archive(course_root: Path, archive: Path, assignment: str | None = None, *,
                    lms: str = "auto", replace: bool = False,
                    canvas_late_days: float | None = None,
                    moodle_time_zone: str | None = None) -> CollectResult:
    """Place the notebooks of an LMS submissions archive into ``submitted/``.

    nbgrader's ZipCollect (with ``ArchiveExtractor`` and ``LmsCollector``) collects into a
    staging folder under ``.dlmath/lms/collect/``, which also keeps a copy of the archive and
    its extracted files. Each staged submission then goes to ``submitted/<student>/<assignment>/``:
    new ones are added, identical ones skipped, and a different existing one is kept and
    reported as a conflict, unless ``replace``, in which case it is moved to
    ``.dlmath/lms/replaced/`` first. ``canvas_late_days`` and ``moodle_time_zone`` override the
    course configuration's ``LmsCollector`` settings.
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
    collector: dict[str, object] = {"lms": lms}
    if canvas_late_days is not None:
        collector["canvas_late_days"] = canvas_late_days
    if moodle_time_zone is not None:
        collector["moodle_time_zone"] = moodle_time_zone
    config = load_config(course_root)
    config.merge(Config({
        # Only nbgrader's errors: every file it could not place is reported by dlmath collect.
        "ZipCollectApp": {"downloaded_directory": str(run / "downloaded"), "log_level": "ERROR",
                          "extractor_plugin": ArchiveExtractor,
                          "collector_plugin": LmsCollector},
        "CourseDirectory": {"submitted_directory": str(staging)},
        "LmsCollector": collector,
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
    plugin = app.collector_plugin_inst
    result = CollectResult(assignment, rejected=plugin.rejected, ignored=plugin.ignored,
                           names={s: plugin.directory.describe(s)
                                  for s in plugin.directory.names})
    placed = [p for p in (plugin.placements or {}).values() if p.student_id]
    result.late = sorted({p.student_id for p in placed if p.late})
    result.notes = [f"{result.names.get(p.student_id, p.student_id)}: {p.note}"
                    for p in sorted(placed, key=lambda p: p.student_id or "") if p.note]
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
