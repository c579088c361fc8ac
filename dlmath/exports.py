"""Grade exports as nbgrader ExportPlugins: Canvas, Moodle, and nbgrader's CSV with a status.

Use them with ``dlmath export --format canvas|moodle|csv`` or with plain nbgrader::

    nbgrader export --exporter=dlmath.exports.CanvasExportPlugin --to canvas_grades.csv

Every grade has a status (``grade_status``). A student without a submission gets 0. A grade
that is not final (autograding failed, not graded yet, resubmitted since grading, a written
answer not graded yet) is never written as a number into an LMS file unless
``include_provisional`` is set: Canvas gets a blank cell and Moodle ``-`` (its "no grade").
Canvas creates a new assignment for an unknown column, so the LMS files get no status
column; instead every non-final grade is listed in a status file next to the export
(``<name>-status.csv``) and summarised in the log.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.plugins import ExportPlugin
from traitlets import Bool, Unicode

from dlmath.grade_status import NO_SUBMISSION, GradeEntry, grade_entries
from dlmath.roster import LmsColumn, LmsIds

CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_IDENTITY = ["First name", "Last name", "ID number", "Institution", "Department",
                   "Email address"]
NBGRADER_KEYS = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name",
                 "email", "raw_score", "late_submission_penalty", "score", "max_score"]
STATUS_HEADER = ["assignment", "student_id", "name", "status", "detail", "provisional_score",
                 "max_score"]


def points(value: float) -> str:
    """A score as LMS files write it: at most two decimals, no trailing zeros (8.5, 12)."""
    return f"{round(value, 2):g}"


def php_csv_line(fields: Sequence[str]) -> str:
    """One CSV line quoted as PHP's fputcsv (which Moodle uses) quotes it.

    fputcsv quotes a field holding a comma, a quote, a backslash, a space, a tab or a line
    break, so Moodle's own exports read ``"First name","Last name",Institution,...``.
    """
    def quote(text: str) -> str:
        if any(ch in text for ch in ',"\\ \t\r\n'):
            return '"' + text.replace('"', '""') + '"'
        return text
    return ",".join(quote(f) for f in fields) + "\n"


class StatusExportPlugin(ExportPlugin):
    """Base of the course's exporters: grade statuses, the status file, the summary."""

    course_root = Unicode(
        "", help="The course folder (default: nbgrader's course directory, else the current "
                 "directory); its submitted/ and .dlmath/ tell which grades are final."
    ).tag(config=True)
    include_provisional = Bool(
        False, help="Write provisional scores (written answer not graded yet, resubmitted "
                    "since grading) into the LMS file instead of leaving them out. They are "
                    "still listed in the status file.").tag(config=True)
    default_name = "grades.csv"

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.entries: list[GradeEntry] = []
        self.written: list[Path] = []

    # -- what subclasses provide -----------------------------------------------------------

    def render(self, gradebook: Gradebook, entries: list[GradeEntry]) -> str:
        """The file's text."""
        raise NotImplementedError

    # -- shared machinery ----------------------------------------------------------------------

    def root(self) -> Path:
        """The course folder this export reads statuses from."""
        if self.course_root:
            return Path(self.course_root)
        coursedir = getattr(self.parent, "coursedir", None)
        return Path(coursedir.root if coursedir is not None else ".")

    def destination(self) -> Path:
        """Where the export is written."""
        return Path(self.to or self.default_name)

    def status_path(self) -> Path:
        """The status file written beside the export."""
        dest = self.destination()
        return dest.with_name(f"{dest.stem}-status.csv")

    def shown_score(self, entry: GradeEntry) -> float | None:
        """The number to write for ``entry``, or None to leave the cell without one."""
        if entry.final or (self.include_provisional and entry.score is not None):
            return entry.score
        return None

    def export(self, gradebook: Gradebook) -> None:
        """nbgrader's hook: write the export and, if any grade is not final, the status file."""
        self.entries = grade_entries(gradebook, self.root(), self.assignment or None,
                                     [str(s) for s in self.student] or None, self.config)
        dest = self.destination()
        dest.write_text(self.render(gradebook, self.entries), encoding="utf-8")
        self.written = [dest]
        pending = [e for e in self.entries if not e.final]
        # Final grades with a note (an extension, an unreadable time graded as on time) too.
        listed = [e for e in self.entries if not e.final or e.detail]
        status = self.status_path()
        if listed:
            status.write_text(self.status_csv(gradebook, listed), encoding="utf-8")
            self.written.append(status)
        if pending:
            counts = Counter(e.status for e in pending)
            self.log.warning("%d of %d grades in %s are not final (%s); see %s", len(pending),
                             len(self.entries), dest, ", ".join(
                                 f"{n} {s}" for s, n in sorted(counts.items())), status)
        if not listed:
            # A status file left from an earlier export would describe grades that are final now.
            status.unlink(missing_ok=True)
        self.log.info("Exported %d grades to %s", len(self.entries), dest)

    def status_csv(self, gradebook: Gradebook, pending: list[GradeEntry]) -> str:
        """The status file: one row per grade that is not final or has a note."""
        names = student_names(gradebook)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(STATUS_HEADER)
        for e in pending:
            score = "" if e.score is None else points(e.score)
            writer.writerow([e.assignment, e.student, names.get(e.student, ("", ""))[0] + " "
                             + names.get(e.student, ("", ""))[1], e.status, e.detail, score,
                             points(e.max_score)])
        return out.getvalue()


def student_names(gradebook: Gradebook) -> dict[str, tuple[str, str]]:
    """Student id -> (first name, last name), empty strings where unknown."""
    return {s.id: (s.first_name or "", s.last_name or "") for s in gradebook.students}


def _assignments_in(entries: list[GradeEntry]) -> list[str]:
    return list(dict.fromkeys(e.assignment for e in entries))


def _students_in(entries: list[GradeEntry]) -> list[str]:
    return list(dict.fromkeys(e.student for e in entries))


class CanvasExportPlugin(StatusExportPlugin):
    """Canvas's gradebook import CSV.

    ``Student,ID,SIS User ID,SIS Login ID,Section,<title> (<canvas id>)...``, then a
    ``Points Possible`` row, then one row per student (sortable name "Last, First"). Ids come
    from the roster import; an assignment without a known Canvas id is titled by its Canvas
    title (or its nbgrader id), which Canvas matches by exact title.
    """

    default_name = "canvas_grades.csv"

    def column_title(self, assignment: str, ids: LmsIds) -> str:
        """``<title> (<id>)`` from the roster import; the bare title when no id is known
        (the title a Moodle roster gave, else the nbgrader id)."""
        column = (ids.column(assignment, "canvas") or ids.column(assignment, "moodle")
                  or LmsColumn(assignment))
        if column.lms_id is None:
            self.without_lms_id.append(assignment)
            self.log.warning("No Canvas id known for %s: Canvas will match the column %r by "
                             "exact title, or create a new assignment. Import the Canvas "
                             "gradebook export with `dlmath roster import` to fix.",
                             assignment, column.title)
            return column.title
        return f"{column.title} ({column.lms_id})"

    def render(self, gradebook: Gradebook, entries: list[GradeEntry]) -> str:
        """The Canvas CSV text."""
        ids = LmsIds.load(self.root())
        self.without_lms_id: list[str] = []
        assignments = _assignments_in(entries)
        max_scores = {e.assignment: e.max_score for e in entries}
        by_key = {(e.assignment, e.student): e for e in entries}
        students = {s.id: s for s in gradebook.students}
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CANVAS_IDENTITY + [self.column_title(a, ids) for a in assignments])
        writer.writerow(["Points Possible", "", "", "", ""]
                        + [points(max_scores[a]) for a in assignments])
        for student_id in _students_in(entries):
            student = students.get(student_id)
            first = (student.first_name or "") if student else ""
            last = (student.last_name or "") if student else ""
            sortable = ", ".join(filter(None, [last, first])) or student_id
            extra = ids.students.get(student_id, {})
            canvas_id = (student.lms_user_id if student else None) or ""
            cells = []
            for assignment in assignments:
                score = self.shown_score(by_key[(assignment, student_id)])
                cells.append("" if score is None else points(score))
            writer.writerow([sortable, canvas_id, extra.get("sis_user_id", ""),
                             extra.get("sis_login_id", ""), extra.get("section", ""), *cells])
        return out.getvalue()


class MoodleExportPlugin(StatusExportPlugin):
    """Moodle's grade import CSV, shaped like Moodle's own grade export.

    ``"First name","Last name","ID number",Institution,Department,"Email address",
    "Assignment: <title>"...``, quoted as Moodle quotes. At import choose "Email address" (or
    "ID number") to identify users; Moodle reads ``-`` as "no grade".
    """

    default_name = "moodle_grades.csv"

    def render(self, gradebook: Gradebook, entries: list[GradeEntry]) -> str:
        """The Moodle CSV text."""
        ids = LmsIds.load(self.root())
        assignments = _assignments_in(entries)
        by_key = {(e.assignment, e.student): e for e in entries}
        students = {s.id: s for s in gradebook.students}
        titles = [(ids.column(a, "moodle") or ids.column(a, "canvas") or LmsColumn(a)).title
                  for a in assignments]
        lines = [php_csv_line(MOODLE_IDENTITY + [f"Assignment: {t}" for t in titles])]
        for student_id in _students_in(entries):
            student = students.get(student_id)
            extra = ids.students.get(student_id, {})
            cells = []
            for assignment in assignments:
                score = self.shown_score(by_key[(assignment, student_id)])
                cells.append("-" if score is None else points(score))
            lines.append(php_csv_line([
                (student.first_name or "") if student else "",
                (student.last_name or "") if student else "",
                extra.get("moodle_id_number", ""), "", "",
                (student.email or "") if student else "", *cells]))
        return "".join(lines)


class NbgraderCsvExportPlugin(StatusExportPlugin):
    """nbgrader's CSV (same columns, same order) with a ``status`` column appended.

    Unlike nbgrader's, a submission that could not be graded or was never graded has empty
    scores instead of 0, and ``status`` says which of the statuses in ``grade_status`` applies.
    """

    default_name = "grades.csv"

    def render(self, gradebook: Gradebook, entries: list[GradeEntry]) -> str:
        """The CSV text."""
        students = {s.id: s for s in gradebook.students}
        duedates = {a.name: a.duedate for a in gradebook.assignments}
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(NBGRADER_KEYS + ["status"])
        for e in entries:
            student = students.get(e.student)
            score = e.score
            writer.writerow([
                e.assignment, duedates.get(e.assignment) or "", e.timestamp, e.student,
                (student.last_name or "") if student else "",
                (student.first_name or "") if student else "",
                (student.email or "") if student else "",
                "" if e.raw_score is None and e.status != NO_SUBMISSION
                else str(e.raw_score or 0.0),
                str(e.late_penalty), "" if score is None else str(score), str(e.max_score),
                e.status])
        return out.getvalue()


EXPORTERS = {"canvas": CanvasExportPlugin, "moodle": MoodleExportPlugin,
             "csv": NbgraderCsvExportPlugin}
