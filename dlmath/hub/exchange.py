"""nbgrader's filesystem exchange for a class of OS users that do not trust each other.

Two nbgrader exchange plugins (``c.ExchangeFactory.collect`` / ``.submit``), used by the course's
JupyterHub (dlmath/hub/launch.py) and by plain ``nbgrader collect`` with the course's config:

:class:`TrustedCollect` (the instructor's side) takes nothing about a submission from what the
student wrote. nbgrader's own collect takes the student from the submission folder's name, the
time from the name and ``timestamp.txt`` (both written by the student's process, which can also
set file times), and copies what symbolic links point at with the grader's rights. Here:

* **whose**: the folder's OS owner. A folder named after another student is not collected.
* **when**: the latest inode change time (ctime) of the folder and everything in it, read after
  copying. The kernel sets ctime to the current time on every change, and no process but root
  can set it back, so a student cannot date a submission, or a later change to it, earlier.
  It is written to ``submitted/<student>/<assignment>/timestamp.txt``, where autograding and the
  late policy read it; a claim in the folder's name that is earlier is reported by name.
* **what**: regular files of that owner only. Symbolic links (to ``source/`` or the gradebook,
  which the grader can read), devices, pipes and files of other users are left out, by name.

:class:`PrivateSubmit` (the student's side) makes a submission readable by the grader's group
only. nbgrader leaves submissions world-readable and writable in the inbound folder, protected
only by their unguessable names; with this, a student who learns another's folder name still
cannot read or change it. It needs the inbound folder to be set-group-id to the grader's group
(``dlmath hub`` makes it so) and keeps nbgrader's permissions otherwise.
"""

from __future__ import annotations

import fnmatch
import os
import pwd
import shutil
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from nbgrader.exchange.default import Exchange
from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.exchange.default.submit import ExchangeSubmit
from nbgrader.utils import ignore_patterns, parse_utc

# nbgrader's submit writes timestamp.txt before copying the files and fixing their permissions,
# which the exchange sees as changes: an honest claim is this much older than the change time.
CLAIM_TOLERANCE = timedelta(minutes=2)
TIMESTAMP_FILE = "timestamp.txt"
# Group: read, and for folders enter; the grader's group deletes the folder after collecting.
SUBMISSION_DIR_MODE = 0o2770
SUBMISSION_FILE_MODE = 0o640


def _owner_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def change_time(path: Path) -> datetime:
    """The latest inode change time (naive UTC, as nbgrader stores times) of ``path`` and,
    for a folder, everything in it; symbolic links are not followed."""
    latest = path.lstat().st_ctime
    if path.is_dir() and not path.is_symlink():
        for folder, dirs, files in os.walk(path):
            for name in dirs + files:
                latest = max(latest, os.lstat(os.path.join(folder, name)).st_ctime)
    return datetime.fromtimestamp(latest, UTC).replace(tzinfo=None)


def copy_folder(exchange: Exchange, src: Path, dest: Path, *,
                accept: Callable[[Path, bool], bool],
                copy: Callable[[Path, Path], object] = shutil.copyfile) -> None:
    """Copy ``src`` to ``dest`` as nbgrader's ``Exchange.do_copy`` does (its size limits and
    ignore and include patterns), keeping only what ``accept(path, is_folder)`` accepts, and
    without copying modes: folders get those of where they are made."""
    coursedir = exchange.coursedir
    if exchange.get_size(str(src)) > 1000 * coursedir.max_dir_size:
        raise RuntimeError(f"Directory size is too big: {src}")
    ignore = ignore_patterns(exclude=coursedir.ignore, include=coursedir.include,
                             max_file_size=coursedir.max_file_size, log=exchange.log)
    for folder, dirs, files in os.walk(src):
        here = Path(folder)
        ignored = set(ignore(folder, dirs + files))
        dirs[:] = [d for d in dirs if d not in ignored and accept(here / d, True)]
        target = dest / here.relative_to(src)
        target.mkdir(parents=True, exist_ok=True)
        for name in files:
            if name not in ignored and accept(here / name, False):
                copy(here / name, target / name)


class TrustedCollect(ExchangeCollect):
    """nbgrader's collect, with the student, the time and the files taken from the file system
    (see the module's docstring). Anything not collected is named in the log, and collect then
    fails (``nbgrader collect`` exits 1) after collecting everything else."""

    def init_src(self) -> None:
        """Find the submissions of the assignment: one record per folder the exchange holds,
        attributed to its owner and dated by its change time."""
        if self.coursedir.course_id == "":
            self.fail("No course id specified. Re-run with --course flag.")
        self.course_path = os.path.join(self.root, self.coursedir.course_id)
        self.inbound_path = os.path.join(self.course_path, "inbound")
        if not os.path.isdir(self.inbound_path):
            self.fail(f"Course not found: {self.inbound_path}")
        if not os.access(self.inbound_path, os.R_OK | os.X_OK):
            self.fail(f"You don't have read permissions for the directory: {self.inbound_path}")
        self.rejected: list[str] = []
        wanted = self.coursedir.student_id or "*"  # a glob, as in nbgrader's collect
        by_student: dict[str, list[dict]] = {}
        for entry in sorted(os.scandir(self.inbound_path), key=lambda e: e.name):
            record = self._record(entry)
            if record and fnmatch.fnmatchcase(record["username"], wanted):
                by_student.setdefault(record["username"], []).append(record)
        self.duedate = self._due_date()
        self.src_records = []
        for records in by_student.values():
            records = self._sort_by_timestamp(records)
            on_time = [r for r in records if self.duedate and r["timestamp"] <= self.duedate]
            take = on_time[0] if self.before_duedate and on_time else records[0]
            self.src_records.append(take)

    def _record(self, entry: os.DirEntry) -> dict | None:
        """The record of one entry of the inbound folder, or None (logged) if it is not a
        submission of this assignment that can be collected."""
        parts = entry.name.rsplit("+", 3)
        if len(parts) < 3 or parts[1] != self.coursedir.assignment_id:
            return None
        claimed_student = parts[0]
        info = entry.stat(follow_symlinks=False)
        owner = _owner_name(info.st_uid)
        if not stat.S_ISDIR(info.st_mode):
            return self._reject(entry.name, owner, "it is not a folder (a link or a file)")
        if claimed_student != owner:
            return self._reject(entry.name, owner, f"it is named for {claimed_student!r}")
        try:
            claimed = parse_utc(parts[2])
        except (ValueError, OverflowError):
            claimed = None
        return {"username": owner, "filename": entry.name, "claimed": claimed,
                "timestamp": change_time(Path(entry.path))}

    def _reject(self, name: str, owner: str, why: str) -> None:
        message = f"inbound/{name} (submitted by {owner}): not collected: {why}"
        self.log.error(message)
        self.rejected.append(message)
        return None

    def _due_date(self) -> datetime | None:
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gradebook:
            try:
                return gradebook.find_assignment(self.coursedir.assignment_id).duedate
            except MissingEntry:
                return None

    def copy_files(self) -> None:
        """Collect as nbgrader does (newest submission, ``--update``, ``--before-duedate``),
        then fail naming every folder that was not collected."""
        super().copy_files()
        if self.rejected:
            self.fail("Some submissions were not collected:\n" + "\n".join(self.rejected))

    def do_copy(self, src: str, dest: str) -> None:
        """Copy the submission folder ``src`` to ``dest``: its owner's regular files only, then
        ``timestamp.txt`` with the change time read after copying."""
        source = Path(src)
        owner = source.lstat().st_uid
        copy_folder(self, source, Path(dest),
                    accept=lambda path, is_dir: path.name != TIMESTAMP_FILE and self._collectable(
                        path, owner, stat.S_ISDIR if is_dir else stat.S_ISREG),
                    copy=lambda path, target: self._copy_file(path, target, owner))
        received = change_time(source)
        record = next(r for r in self.src_records if r["filename"] == source.name)
        claimed = record["claimed"]
        if claimed is not None and claimed < received - CLAIM_TOLERANCE:
            self.log.warning(
                "%s's submission of %s says %s UTC, but it was last changed in the exchange at %s "
                "UTC: the exchange's time is used", record["username"],
                self.coursedir.assignment_id, claimed, received)
        stamp = received.replace(tzinfo=UTC).strftime(self.timestamp_format)
        (Path(dest) / TIMESTAMP_FILE).write_text(stamp, encoding="utf-8")

    def _collectable(self, path: Path, owner: int, kind) -> bool:  # noqa: ANN001 - stat test
        info = path.lstat()
        why = None
        if not kind(info.st_mode):
            why = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a regular file"
        elif info.st_uid != owner:
            why = f"it belongs to {_owner_name(info.st_uid)}"
        if why:
            self._reject(str(path.relative_to(self.inbound_path)), _owner_name(owner), why)
        return why is None

    @staticmethod
    def _copy_file(src: Path, dest: Path, owner: int) -> None:
        # Opened without following links and checked again on the open file: the student may
        # swap the file for a link between the check above and this read.
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as source:
            info = os.fstat(source.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_uid != owner:
                raise RuntimeError(f"{src} changed while it was collected; collect again")
            dest.write_bytes(source.read())


class PrivateSubmit(ExchangeSubmit):
    """nbgrader's submit, leaving the submission readable by the inbound folder's group (the
    grader's) and by nobody else."""

    def do_copy(self, src: str, dest: str, log: object = None) -> None:
        """nbgrader's copy, without copying folder modes: a student copying a mode onto the
        submission folder drops the set-group-id bit it inherits from inbound, and the files
        nbgrader writes next (timestamp.txt, submission_secret.txt) would not be the grader's
        group's."""
        copy_folder(self, Path(src), Path(dest), accept=lambda path, is_dir: True)

    def copy_files(self) -> None:
        """Submit as nbgrader does, then restrict the submission's permissions."""
        super().copy_files()
        dest = Path(self.inbound_path) / self.assignment_filename
        inbound = Path(self.inbound_path).stat()
        if not inbound.st_mode & stat.S_ISGID or dest.stat().st_gid != inbound.st_gid:
            self.log.warning("%s is not set-group-id to the grader's group: the submission keeps "
                             "nbgrader's permissions", self.inbound_path)
            return
        for folder, _, files in os.walk(dest):
            for name in files:
                os.chmod(os.path.join(folder, name), SUBMISSION_FILE_MODE)
            os.chmod(folder, SUBMISSION_DIR_MODE)
