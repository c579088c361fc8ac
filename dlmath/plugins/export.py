"""Grade exports as nbgrader ExportPlugins: Canvas, Moodle, and nbgrader's CSV with a status.

Use them with ``dlmath export --format canvas|moodle|csv`` or with plain nbgrader::

    nbgrader export --exporter=dlmath.plugins.export.CanvasExportPlugin --to canvas_grades.csv

Every grade has a status (``grade_status``). A student without a submission gets 0. A grade
that is not final (autograding failed, not graded yet, resubmitted since grading, a written
answer not graded yet, a file the LMS archive held but collecting left out) is never written as
a number into an LMS file unless ``include_provisional`` is set: Canvas gets a blank cell and
Moodle ``-``, which both LMSs read as "no grade" and so clear a grade they already hold (Canvas
after showing it on its review page: canvas-lms ``process_gradebook_upload.js``; Moodle at once:
``gradeimport_csv_load_data::update_grade_item``). Canvas creates a new assignment for an
unknown column, so the LMS files get no status column; instead every non-final grade is listed
in a status file next to the export (``<name>-status.csv``) and by name in ``problems``.

An assignment nothing was collected or graded for is left out of the file (a column of zeros
would be a guess). A row the LMS could not match to a user is never written: Moodle aborts the
whole import at the first one (``load_data::prepare_import_grade_data``). Everything left out
is in ``problems`` (needs the instructor) or ``notices`` (for information), by name.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from nbgrader.api import Gradebook, Student
from nbgrader.plugins import ExportPlugin
from traitlets import Bool, Enum, Unicode

from dlmath.grading.status import ASSUMED_ON_TIME, NO_SUBMISSION, GradeEntry, grade_entries
from dlmath.lms.roster import LmsColumn, LmsIds

CANVAS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_IDENTITY = ["First name", "Last name", "ID number", "Institution", "Department",
                   "Email address"]
# Moodle's import maps users from one column to one user field (grade_import_mapping_form).
MOODLE_USER_FIELDS = {"email": "Email address", "idnumber": "ID number"}
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


def full_name(student: Student | None, student_id: str) -> str:
    """``First Last (id)`` for messages."""
    name = " ".join(filter(None, [student.first_name, student.last_name])) if student else ""
    return f"{name} ({student_id})" if name else student_id


class StatusExportPlugin(ExportPlugin):
    """Base of the course's exporters: grade statuses, the status file, what was left out."""

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
        self.problems: list[str] = []  # the instructor must act (exit 1), by name
        self.notices: list[str] = []   # worth knowing, nothing wrong

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
        """nbgrader's hook: write the export and, if any grade is not final or has a note (an
        extension, say), the status file."""
        entries = grade_entries(gradebook, self.root(), self.assignment or None,
                                [str(s) for s in self.student] or None, self.config)
        self.entries = self._collected(entries)
        self.problems += [f"ON TIME ASSUMED: {e.student} {e.assignment}: its timestamp.txt is "
                          f"unreadable; exported without a late penalty (see "
                          f"{self.status_path().name})"
                          for e in self.entries if e.status == ASSUMED_ON_TIME]
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
        for line in self.problems:
            self.log.warning("%s", line)
        self.log.info("Exported %d grades to %s", len(self.entries), dest)

    def _collected(self, entries: list[GradeEntry]) -> list[GradeEntry]:
        """``entries`` without the assignments nothing was collected or graded for.

        Such an assignment would be a column of zeros for the whole class. Asked for by name,
        that is a problem; in an export of everything, a notice.
        """
        present = list(dict.fromkeys(e.assignment for e in entries))
        empty = [a for a in present
                 if all(e.status == NO_SUBMISSION for e in entries if e.assignment == a)]
        empty += [a for a in self.assignment if a not in present]  # not even in the gradebook
        if empty:
            message = (f"nothing collected or graded yet for {', '.join(empty)}: left out of "
                       f"{self.destination().name} (not a column of zeros)")
            (self.problems if self.assignment else self.notices).append(message)
        return [e for e in entries if e.assignment not in empty]

    def status_csv(self, gradebook: Gradebook, pending: list[GradeEntry]) -> str:
        """The status file: one row per grade that is not final or has a note."""
        names = student_names(gradebook)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(STATUS_HEADER)
        for e in pending:
            score = "" if e.score is None else points(e.score)
            writer.writerow([e.assignment, e.student, " ".join(names.get(e.student, ("", ""))),
                             e.status, e.detail, score, points(e.max_score)])
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
    title (or its nbgrader id), which Canvas matches by exact title. Canvas keeps an existing
    assignment's points and takes an imported number as is (GradebookImporter#process_pp), so
    where Canvas's Points Possible (from the roster import) differs from the notebook's
    maximum, scores are scaled to Canvas's points (10 of 12 into an assignment worth 100 is
    83.33); an assignment worth 0 in Canvas is left out (it cannot be scaled).
    """

    default_name = "canvas_grades.csv"

    def column(self, assignment: str, ids: LmsIds) -> LmsColumn:
        """The Canvas column of ``assignment``: from the Canvas roster import, else titled as
        a Moodle roster has it, else by the nbgrader id (a problem: matched by title only)."""
        column = ids.column(assignment, "canvas")
        if column is None:
            title = (ids.column(assignment, "moodle") or LmsColumn(assignment)).title
            self.problems.append(
                f"no Canvas assignment id for {assignment}: Canvas matches the column "
                f"{title!r} by exact title or creates a new assignment (`dlmath roster import` "
                "with a Canvas gradebook export records the ids)")
            column = LmsColumn(title)
        return column

    def render(self, gradebook: Gradebook, entries: list[GradeEntry]) -> str:
        """The Canvas CSV text."""
        ids = LmsIds.load(self.root())
        max_scores = {e.assignment: e.max_score for e in entries}
        columns, scale = {}, {}
        for assignment in _assignments_in(entries):
            column = self.column(assignment, ids)
            worth, max_score = column.points_possible, max_scores[assignment]
            if worth == 0:
                self.problems.append(
                    f"{assignment}: Canvas's {column.label} is worth 0 points, so no score can "
                    f"be scaled to it; left out. Set its points to {points(max_score)} in "
                    "Canvas, export the gradebook and `dlmath roster import` it again")
                continue
            columns[assignment] = column
            scale[assignment] = 1.0
            if worth is not None and max_score and worth != max_score:
                scale[assignment] = worth / max_score
                self.notices.append(
                    f"{assignment}: Canvas's {column.label} is worth {points(worth)} points, "
                    f"the notebook {points(max_score)}: scores scaled by "
                    f"{points(worth)}/{points(max_score)}")
        by_key = {(e.assignment, e.student): e for e in entries}
        students = {s.id: s for s in gradebook.students}
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CANVAS_IDENTITY + [c.label for c in columns.values()])
        writer.writerow(["Points Possible", "", "", "", ""]
                        + [points(c.points_possible if c.points_possible is not None
                                  else max_scores[a]) for a, c in columns.items()])
        unmatched = []
        for student_id in _students_in(entries):
            student = students.get(student_id)
            first = (student.first_name or "") if student else ""
            last = (student.last_name or "") if student else ""
            sortable = ", ".join(filter(None, [last, first])) or student_id
            extra = ids.students.get(student_id, {})
            canvas_id = (student.lms_user_id if student else None) or ""
            if not (canvas_id or extra.get("sis_user_id") or extra.get("sis_login_id")):
                unmatched.append(full_name(student, student_id))
            cells = []
            for assignment in columns:
                score = self.shown_score(by_key[(assignment, student_id)])
                cells.append("" if score is None else points(score * scale[assignment]))
            writer.writerow([sortable, canvas_id, extra.get("sis_user_id", ""),
                             extra.get("sis_login_id", ""), extra.get("section", ""), *cells])
        if unmatched:
            self.problems.append(
                "no Canvas user id or SIS id for " + ", ".join(unmatched) + ": Canvas matches "
                "these rows by name only, or lists them as unknown students (import the Canvas "
                "gradebook export with `dlmath roster import`)")
        return out.getvalue()


class MoodleExportPlugin(StatusExportPlugin):
    """Moodle's grade import CSV, shaped like Moodle's own grade export.

    ``"First name","Last name","ID number",Institution,Department,"Email address",
    "Assignment: <title>"...``, quoted as Moodle quotes. At import, map users from the column
    ``identify_by`` names to the same user field. Moodle stops the whole import at the first
    row it cannot map to a user, so a student without that identifier (or sharing it) is left
    out of the file and named in ``problems``. Moodle reads both a blank and ``-`` as "no
    grade": it clears a grade Moodle has.
    """

    default_name = "moodle_grades.csv"
    identify_by = Enum(sorted(MOODLE_USER_FIELDS), "email",
                       help="The column Moodle's import maps users by: email ('Email address') "
                            "or idnumber ('ID number').").tag(config=True)

    def render(self, gradebook: Gradebook, entries: list[GradeEntry]) -> str:
        """The Moodle CSV text."""
        ids = LmsIds.load(self.root())
        assignments = _assignments_in(entries)
        by_key = {(e.assignment, e.student): e for e in entries}
        students = {s.id: s for s in gradebook.students}
        labels = [(column := ids.column(a, "moodle")) and column.label
                  or f"Assignment: {(ids.column(a, 'canvas') or LmsColumn(a)).title}"
                  for a in assignments]
        rows = {}
        for student_id in _students_in(entries):
            student = students.get(student_id)
            extra = ids.students.get(student_id, {})
            identity = [(student.first_name or "") if student else "",
                        (student.last_name or "") if student else "",
                        extra.get("moodle_id_number", ""), "", "",
                        (student.email or "") if student else ""]
            cells = []
            for assignment in assignments:
                score = self.shown_score(by_key[(assignment, student_id)])
                cells.append("-" if score is None else points(score))
            rows[student_id] = identity + cells
        key_at = MOODLE_IDENTITY.index(MOODLE_USER_FIELDS[self.identify_by])
        keys = Counter(row[key_at].casefold() for row in rows.values())
        missing = [full_name(students.get(s), s) for s, row in rows.items() if not row[key_at]]
        shared = [full_name(students.get(s), s) for s, row in rows.items()
                  if row[key_at] and keys[row[key_at].casefold()] > 1]
        field = MOODLE_USER_FIELDS[self.identify_by]
        for who, why in ((missing, f"no {field}"), (shared, f"an {field} another has too")):
            if who:
                self.problems.append(
                    f"left out of {self.destination().name}, with {why}: {', '.join(who)}. "
                    "Moodle would stop the whole import at such a row; enter their grades by "
                    "hand, or map users by the other identifier (--moodle-id email|idnumber)")
        lines = [php_csv_line(MOODLE_IDENTITY + labels)]
        lines += [php_csv_line(row) for row in rows.values()
                  if row[key_at] and keys[row[key_at].casefold()] == 1]
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
