"""Roster import: the students of an LMS course into nbgrader's gradebook, with their LMS ids.

Two kinds of file are read, both as the LMS writes them (CSV, or Moodle's Excel export):

* a Canvas gradebook export (Grades -> Export): ``Student,ID,SIS User ID,SIS Login ID,...,
  Section`` (or ``LastName,FirstName,ID,...`` when the course shows first and last names),
  custom columns, one ``<title> (<canvas id>)`` column per assignment, and a
  ``Points Possible`` row (instructure/canvas-lms ``lib/gradebook_exporter.rb``). Canvas writes
  semicolons and decimal commas in some locales (``lib/csv_with_i18n.rb``);
* a Moodle participants or grades export: ``"First name","Last name"`` (older versions:
  ``Surname``) with ``"ID number"``, ``Username`` and/or ``"Email address"``, then one column
  per grade item and display type, ``<Module>: <title> (Real)``, ``(Percentage)``,
  ``(Feedback)``... (moodle/moodle ``grade/export/lib.php`` ``format_column_name``).

Where the mapping lives (see README, "Grades to your LMS"):

* the Canvas user id of a student goes into the gradebook's own ``Student.lms_user_id``;
* everything else (SIS ids, section, Moodle ID number, which LMS column is which nbgrader
  assignment and what Canvas says it is worth) goes into ``.dlmath/lms/ids.json`` in the course
  folder. ``.dlmath/`` is never committed: like the gradebook it holds personal data.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook

from dlmath.course import CourseError, write_atomically

IDS_FILE = Path(".dlmath") / "lms" / "ids.json"

# Canvas identity columns, in the order Canvas writes them; "Section" is always the last one.
CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Integration ID",
                   "Root Account", "Section")
# Canvas writes its test student ("Student, Test", the Student View user) into every export,
# last (GradebookExporter#enrollments_for_csv); it is no real student.
CANVAS_TEST_STUDENT = ("Student", "Test")
CANVAS_ASSIGNMENT = re.compile(r"^(?P<title>.*\S)\s*\((?P<id>\d+)\)$")
# Canvas's own importer reads a cell made of digits, "." and "," with the last separator as the
# decimal point (GradebookImporter, converter :decimal_comma_to_period): "12,00" is 12.
CANVAS_NUMBER = re.compile(r"^-?[0-9.,]+$")
# A Moodle grade export column: "<item name> (<display type>)", one per display type chosen
# (gradeexportcolumntype); an activity's item name is "<Module>: <title>" (format_column_name).
MOODLE_COLUMN = re.compile(r"^(?P<name>.*?)\s*\((?P<kind>Real|Percentage|Letter|Feedback)\)$")
# Moodle's names of its gradable activity modules (get_string('modulename', ...)); a name with
# another prefix before ": " is a manual grade item whose own title has a colon.
MOODLE_MODULES = ("Assignment", "Quiz", "Forum", "Lesson", "Workshop", "Database", "Glossary",
                  "SCORM package", "External tool", "H5P", "BigBlueButton", "Attendance")
# The assignment module: the grade item a notebook exercise is, where a quiz may share its title.
MOODLE_ASSIGNMENT = "Assignment"
# nbgrader ids become folder names (submitted/<id>/...): no separators, no whitespace.
VALID_ID = re.compile(r"^[^/\\\s]+$")


class RosterError(CourseError):
    """A roster file that cannot be read as any supported LMS format; the message says why."""


@dataclass
class RosterStudent:
    """One student of an LMS roster."""

    student_id: str
    first_name: str
    last_name: str
    email: str | None = None
    lms_user_id: str | None = None
    ids: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class LmsColumn:
    """A gradable item (assignment) of the LMS.

    ``lms_id`` is Canvas's assignment id; ``points_possible`` what Canvas says it is worth;
    ``module`` Moodle's module name of the grade item ("Assignment", "Quiz"...); ``kinds`` the
    display types (Real, Percentage, Feedback...) Moodle's export has a column for.
    """

    title: str
    lms_id: str | None = None
    points_possible: float | None = field(default=None, compare=False)
    module: str | None = None
    kinds: tuple[str, ...] = field(default=(), compare=False)

    @property
    def label(self) -> str:
        """The column as the LMS names it: ``Title (id)`` (Canvas), ``Module: Title`` (Moodle)."""
        if self.lms_id:
            return f"{self.title} ({self.lms_id})"
        return f"{self.module}: {self.title}" if self.module else self.title


@dataclass
class Roster:
    """A parsed roster file: which LMS wrote it, its students and its assignment columns.

    ``skipped`` lists rows that gave no student (with why), ``notes`` what the instructor
    should know about rows that did (an id taken from another column, the test student).
    """

    lms: str
    students: list[RosterStudent]
    columns: list[LmsColumn]
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    test_student_ids: list[str] = field(default_factory=list)


# --- reading files -----------------------------------------------------------------------------

def read_rows(path: Path) -> list[list[str]]:
    """The rows of ``path``, each a list of strings, without blank rows.

    CSV in UTF-8 (with or without BOM) or, failing that, Windows-1252, with the delimiter
    sniffed by ``csv.Sniffer`` among comma, semicolon and tab (Canvas writes semicolons in
    decimal-comma locales, and spreadsheets re-save CSV so too); or an Excel workbook (.xlsx,
    Moodle's "Excel spreadsheet" export), whose first sheet is read with openpyxl.
    """
    raw = path.read_bytes()
    if raw.startswith(b"PK\x03\x04"):
        return _workbook_rows(path)
    if raw.startswith(b"\xd0\xcf\x11\xe0"):
        raise RosterError(f"{path} is an old Excel (.xls) workbook: export the roster from the "
                          "LMS as CSV (Moodle: 'Plain text file') or as .xlsx instead")
    text = None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        raise RosterError(f"{path} is neither UTF-8 nor Windows-1252 text: export the roster "
                          "from the LMS again as CSV and pass that file unchanged")
    sample = "\n".join(text.splitlines()[:5])
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:  # a single column, or nothing to tell from: plain CSV
        delimiter = ","
    return [row for row in csv.reader(io.StringIO(text), delimiter=delimiter)
            if any(cell.strip() for cell in row)]


def _workbook_rows(path: Path) -> list[list[str]]:
    with zipfile.ZipFile(path) as zf:
        names = set(zf.namelist())
    if "xl/workbook.xml" not in names:
        kind = "an OpenDocument spreadsheet" if "content.xml" in names else "a zip archive"
        raise RosterError(f"{path} is {kind}, not a roster this course reads: export it from "
                          "the LMS as CSV (Moodle: 'Plain text file') or Excel (.xlsx)")
    import openpyxl  # only for workbooks: it takes a while to import

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise RosterError(f"{path}: cannot read this Excel workbook ({error}); export the "
                          "roster from the LMS again as CSV") from error
    try:
        rows = [[_cell_text(value) for value in row]
                for row in workbook.worksheets[0].iter_rows(values_only=True)]
    finally:
        workbook.close()
    return [row for row in rows if any(cell.strip() for cell in row)]


def _cell_text(value: object) -> str:
    """A workbook cell as the CSV export would write it (12.0 -> "12", None -> "")."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def lms_number(text: str) -> float | None:
    """A number as Canvas's importer reads it ("12.00", "12,00", "1.234,5"), else None."""
    text = text.strip()
    if not CANVAS_NUMBER.match(text) or not any(ch.isdigit() for ch in text):
        return None
    *whole, decimals = re.split(r"[,.]", text)
    return float(f"{''.join(whole)}.{decimals}" if whole else decimals)


def read_roster(path: Path, id_column: str | None = None) -> Roster:
    """Parse a Canvas gradebook export or a Moodle participants/grades export.

    ``id_column`` names the column whose values become nbgrader student ids (default: Canvas
    ``SIS Login ID``, else ``SIS User ID``, else ``ID``; Moodle ``ID number``, else
    ``Username``, else the email address before ``@``).
    """
    if not path.is_file():
        raise RosterError(f"{path}: no such file")
    rows = read_rows(path)
    if not rows:
        raise RosterError(f"{path} is empty")
    header = [h.strip() for h in rows[0]]
    if is_canvas_header(header):
        return parse_canvas(header, rows[1:], id_column)
    if is_moodle_header(header):
        return parse_moodle(header, rows[1:], id_column)
    raise RosterError(
        f"{path} is neither a Canvas gradebook export nor a Moodle participants or grades "
        f"export: its header starts {', '.join(header[:4])!r}. Canvas files start "
        "'Student,ID,...,Section' or 'LastName,FirstName,ID,...'; Moodle files have "
        "'First name' and 'Last name' (or 'Surname') columns. Export the roster from the LMS "
        "again and pass that file unchanged.")


def is_canvas_header(header: Sequence[str]) -> bool:
    """Whether ``header`` is a Canvas gradebook header: ``Student,ID,...`` or
    ``LastName,FirstName,ID,...`` (GradebookImporter#row_has_student_headers?)."""
    return (list(header[:2]) == ["Student", "ID"]
            or list(header[:3]) == ["LastName", "FirstName", "ID"])


def is_moodle_header(header: Sequence[str]) -> bool:
    """Whether ``header`` is a Moodle participants or grades export header.

    Moodle writes "First name" and "Last name" (before 3.x and in some language packs
    "Surname"); Blackboard's "Last Name" and "First Name" (capital N) is another format, with
    other ids, and is not taken for it.
    """
    return "First name" in header and ("Last name" in header or "Surname" in header)


def _pick_id(row: Mapping[str, str], candidates: Sequence[str]) -> tuple[str, str]:
    """The first non-empty id among ``candidates`` and the column it came from."""
    for column in candidates:
        value = row.get(column, "").strip()
        if value:
            return value, column
    return "", ""


def _check_id(student_id: str, line: int, name: str, skipped: list[str]) -> bool:
    if not student_id:
        skipped.append(f"line {line}: {name}: no id")
        return False
    if not VALID_ID.match(student_id):
        skipped.append(f"line {line}: {name}: id {student_id!r} contains a space or a slash")
        return False
    return True


def _require_column(header: Sequence[str], column: str | None) -> None:
    if column is not None and column not in header:
        raise RosterError(f"--id-column {column!r} is not a column of this file; it has: "
                          + ", ".join(header))


def parse_canvas(header: list[str], rows: Iterable[list[str]],
                 id_column: str | None = None) -> Roster:
    """Students and assignment columns of a Canvas gradebook export (header already split)."""
    _require_column(header, id_column)
    if "Section" not in header:
        raise RosterError("this Canvas export has no 'Section' column; export the gradebook "
                          "from Canvas again (Grades > Export > Export Entire Gradebook)")
    first_last = header[0] == "LastName"
    id_candidates = [id_column] if id_column else ["SIS Login ID", "SIS User ID", "ID"]
    assignment_at = {i: m for i, h in enumerate(header)
                     if i > header.index("Section") and (m := CANVAS_ASSIGNMENT.match(h))}
    points: dict[int, float | None] = {}
    students, skipped, notes, test_ids = [], [], [], []
    for line, values in enumerate(rows, start=2):
        row = dict(zip(header, values, strict=False))
        if values and values[0].strip() == "Points Possible":
            points = {i: lms_number(values[i]) for i in assignment_at if i < len(values)}
            continue
        canvas_id = row.get("ID", "").strip()
        if first_last:
            last, first = row.get("LastName", "").strip(), row.get("FirstName", "").strip()
        else:
            last, _, first = (part.strip() for part in row.get("Student", "").partition(","))
        # The "Manual Posting" row and blank lines have no user id.
        if not canvas_id:
            continue
        if (last, first) == CANVAS_TEST_STUDENT:
            test_ids.append(canvas_id)
            continue
        name = f"{first} {last}".strip()
        student_id, source = _pick_id(row, id_candidates)
        if not _check_id(student_id, line, name, skipped):
            continue
        if not id_column and source != id_candidates[0]:
            notes.append(f"{name} has no {id_candidates[0]}: id {student_id!r} from {source}")
        ids = {key: row[col].strip() for key, col in
               (("sis_user_id", "SIS User ID"), ("sis_login_id", "SIS Login ID"),
                ("section", "Section")) if row.get(col, "").strip()}
        students.append(RosterStudent(student_id, first, last, lms_user_id=canvas_id, ids=ids))
    columns = [LmsColumn(m["title"], m["id"], points.get(i)) for i, m in assignment_at.items()]
    return Roster("canvas", students, columns, skipped, notes, test_ids)


def moodle_items(header: Sequence[str]) -> list[LmsColumn]:
    """The grade items of a Moodle export header, one per item whatever its display types.

    "Assignment: Ex1 (Real)", "Assignment: Ex1 (Percentage)" and "Assignment: Ex1 (Feedback)"
    are one item, ``LmsColumn("Ex1", module="Assignment", kinds=("Real", "Percentage",
    "Feedback"))``; the course total is none. A participants export has none.
    """
    items: dict[tuple[str | None, str], list[str]] = {}
    for h in header:
        m = MOODLE_COLUMN.match(h)
        if not m or m["name"] in ("", "Course total"):
            continue
        module, sep, title = m["name"].partition(": ")
        key = (module, title.strip()) if sep and module in MOODLE_MODULES else (None, m["name"])
        items.setdefault(key, []).append(m["kind"])
    return [LmsColumn(title, module=module, kinds=tuple(kinds))
            for (module, title), kinds in items.items()]


def parse_moodle(header: list[str], rows: Iterable[list[str]],
                 id_column: str | None = None) -> Roster:
    """Students and grade items of a Moodle participants or grades export."""
    _require_column(header, id_column)
    by_lower = {h.lower(): h for h in header}
    email_col = by_lower.get("email address")
    last_col = by_lower.get("last name") or by_lower["surname"]
    id_candidates = ([id_column] if id_column else
                     [c for c in (by_lower.get("id number"), by_lower.get("username")) if c])
    students, skipped, notes = [], [], []
    for line, values in enumerate(rows, start=2):
        row = dict(zip(header, values, strict=False))
        first, last = row.get(by_lower["first name"], "").strip(), row.get(last_col, "").strip()
        email = row.get(email_col, "").strip() if email_col else ""
        name = f"{first} {last}"
        student_id, source = _pick_id(row, id_candidates)
        if not student_id and email and not id_column:
            student_id, source = email.split("@")[0], email_col or ""
        if not _check_id(student_id, line, name, skipped):
            continue
        if not id_column and id_candidates and source != id_candidates[0]:
            notes.append(f"{name} has no {id_candidates[0]}: id {student_id!r} from {source}")
        ids = {key: row[by_lower[col]].strip() for key, col in
               (("moodle_id_number", "id number"), ("moodle_username", "username"))
               if by_lower.get(col) and row.get(by_lower[col], "").strip()}
        students.append(RosterStudent(student_id, first, last, email or None, ids=ids))
    return Roster("moodle", students, moodle_items(header), skipped, notes)


# --- matching LMS columns to nbgrader assignments ----------------------------------------------

def _tokens(text: str) -> list[str]:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.findall(r"[a-z]+|\d+", plain)


def assignment_key(text: str) -> str:
    """The exercise key of a title or assignment id: ``ex1`` for "Ex 1: ...",
    "Exercise 1 - ..." and ``ex1_ill_conditioned_gd``; else all its words joined."""
    tokens = _tokens(text)
    if len(tokens) >= 2 and tokens[0] in ("ex", "exercise") and tokens[1].isdigit():
        return f"ex{int(tokens[1])}"
    return "".join(tokens)


@dataclass
class ColumnMatch:
    """Which LMS column is which nbgrader assignment (``match_columns``)."""

    matched: dict[str, LmsColumn] = field(default_factory=dict)
    unmatched: list[LmsColumn] = field(default_factory=list)
    # assignment -> the columns with the same exercise number that were passed over
    passed_over: dict[str, list[LmsColumn]] = field(default_factory=dict)


def match_columns(columns: Sequence[LmsColumn], assignments: Sequence[str],
                  explicit: Mapping[str, str] | None = None) -> ColumnMatch:
    """Which LMS column is which nbgrader assignment.

    ``explicit`` maps assignment ids to a column (its title, its label ``Title (id)`` or
    ``Module: Title``, or its Canvas id) and wins; otherwise a column matches an assignment
    when their exercise keys are equal (``assignment_key``). When several do, a Moodle
    assignment is preferred over other modules (a quiz titled "Ex1 warm-up" is not the
    exercise); any other tie is an error that says how to settle it.
    """
    result = ColumnMatch()
    for assignment, wanted in (explicit or {}).items():
        found = [c for c in columns if wanted in (c.title, c.label, c.lms_id)]
        if len(found) != 1:
            what = "no column" if not found else f"{len(found)} columns"
            raise RosterError(f"--assignment-map {assignment}={wanted!r}: the file has {what} "
                              f"called {wanted!r}; its columns are "
                              + ", ".join(repr(c.label) for c in columns))
        result.matched[assignment] = found[0]
    for assignment in assignments:
        if assignment in result.matched:
            continue
        found = [c for c in columns if assignment_key(c.title) == assignment_key(assignment)
                 and c not in result.matched.values()]
        preferred = [c for c in found if c.module == MOODLE_ASSIGNMENT]
        if len(found) > 1 and len(preferred) == 1:
            result.passed_over[assignment] = [c for c in found if c is not preferred[0]]
            found = preferred
        if len(found) > 1:
            raise RosterError(
                f"{assignment} matches several LMS columns ({', '.join(c.label for c in found)})"
                f"; say which with --assignment-map {assignment}=TITLE")
        if found:
            result.matched[assignment] = found[0]
    result.unmatched = [c for c in columns if c not in result.matched.values()]
    return result


# --- the stored mapping ------------------------------------------------------------------------

@dataclass
class LmsIds:
    """The course's LMS ids, as ``.dlmath/lms/ids.json`` keeps them.

    ``{"students": {id: {...}}, "assignments": {id: {"canvas": {"title", "id",
    "points_possible"}, "moodle": {"title", "module"}}}, "canvas_test_students": [...]}``.
    """

    students: dict[str, dict[str, str]] = field(default_factory=dict)
    assignments: dict[str, dict[str, dict]] = field(default_factory=dict)
    canvas_test_students: list[str] = field(default_factory=list)

    @classmethod
    def load(cls, course_root: Path) -> LmsIds:
        """The stored ids, or none if no roster was imported yet."""
        path = course_root / IDS_FILE
        if not path.is_file():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data.get("students", {}), data.get("assignments", {}),
                   data.get("canvas_test_students", []))

    def save(self, course_root: Path) -> Path:
        """Write the ids atomically (a crash leaves the previous file intact)."""
        path = course_root / IDS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, json.dumps({"students": self.students,
                                           "assignments": self.assignments,
                                           "canvas_test_students": self.canvas_test_students},
                                          indent=1, sort_keys=True, ensure_ascii=False))
        return path

    def column(self, assignment: str, lms: str) -> LmsColumn | None:
        """The LMS column recorded for ``assignment`` in ``lms``, if any."""
        entry = self.assignments.get(assignment, {}).get(lms)
        if not entry:
            return None
        return LmsColumn(entry["title"], entry.get("id"), entry.get("points_possible"),
                         entry.get("module"))

    def record_column(self, assignment: str, lms: str, column: LmsColumn) -> None:
        """Remember that ``column`` of ``lms`` is ``assignment``."""
        entry = {"title": column.title, "id": column.lms_id,
                 "points_possible": column.points_possible, "module": column.module}
        self.assignments.setdefault(assignment, {})[lms] = {
            k: v for k, v in entry.items() if v is not None}


@dataclass
class ImportSummary:
    """What a roster import changed, and what it could not do."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    columns: ColumnMatch = field(default_factory=ColumnMatch)
    skipped: list[str] = field(default_factory=list)
    # "<name>: ... kept as <existing id>" for a student the gradebook has under another id
    kept_ids: list[str] = field(default_factory=list)
    # assignment -> (Canvas's points possible, the gradebook's max score) where they differ
    points_differ: dict[str, tuple[float, float]] = field(default_factory=dict)


def _same_person(student: RosterStudent, others: Iterable, ids: LmsIds) -> list:
    """The gradebook students who are ``student`` under another id: the same Canvas user id,
    email address, Moodle ID number or Moodle username."""
    keys = {("canvas", student.lms_user_id), ("email", (student.email or "").casefold()),
            *((k, v) for k, v in student.ids.items()
              if k in ("moodle_id_number", "moodle_username"))}
    keys = {(k, v) for k, v in keys if v}
    found = []
    for other in others:
        theirs = {("canvas", other.lms_user_id), ("email", (other.email or "").casefold()),
                  *ids.students.get(other.id, {}).items()}
        if keys & theirs:
            found.append(other)
    return found


def import_roster(course_root: Path, db_url: str, roster: Roster, assignments: Sequence[str],
                  explicit: Mapping[str, str] | None = None) -> ImportSummary:
    """Create or update the roster's students in the gradebook and record their LMS ids.

    Idempotent: importing the same file twice changes nothing the second time. Students
    already in the gradebook but not in the file are left alone (never deleted). A student the
    gradebook already has under another id (same Canvas user id, email, Moodle ID number or
    username: say Moodle now has an ID number where the first import took the email) keeps
    that id and is reported in ``kept_ids``; a new student is never made of them.
    """
    seen: dict[str, RosterStudent] = {}
    for student in roster.students:
        if student.student_id in seen:
            raise RosterError(f"two students of the file get the id {student.student_id!r}; "
                              "choose a unique column with --id-column")
        seen[student.student_id] = student
    summary = ImportSummary(skipped=list(roster.skipped))
    summary.columns = match_columns(roster.columns, assignments, explicit)
    ids = LmsIds.load(course_root)
    with Gradebook(db_url) as gradebook:
        existing = {s.id: s for s in gradebook.students}
        for student in roster.students:
            if student.student_id not in existing:
                same = _same_person(student, existing.values(), ids)
                if len(same) == 1:
                    name = f"{student.first_name} {student.last_name}"
                    summary.kept_ids.append(f"{name}: the file gives the id "
                                            f"{student.student_id!r}; kept as {same[0].id!r}, "
                                            "the gradebook's student with the same LMS ids")
                    student.student_id = same[0].id
                elif len(same) > 1:
                    summary.skipped.append(
                        f"{student.first_name} {student.last_name} ({student.student_id}): the "
                        "gradebook has several students with this person's LMS ids: "
                        + ", ".join(s.id for s in same))
                    continue
            fields = {"first_name": student.first_name, "last_name": student.last_name}
            if student.email:
                fields["email"] = student.email
            if student.lms_user_id:
                fields["lms_user_id"] = student.lms_user_id
            old = existing.get(student.student_id)
            stored = ids.students.get(student.student_id, {})
            if old is None:
                summary.created.append(student.student_id)
            elif (all(getattr(old, k) == v for k, v in fields.items())
                  and all(stored.get(k) == v for k, v in student.ids.items())):
                summary.unchanged.append(student.student_id)
            else:
                summary.updated.append(student.student_id)
            gradebook.update_or_create_student(student.student_id, **fields)
            ids.students.setdefault(student.student_id, {}).update(student.ids)
        max_scores = {a.name: float(a.max_score) for a in gradebook.assignments}
    for assignment, column in summary.columns.matched.items():
        ids.record_column(assignment, roster.lms, column)
        points, max_score = column.points_possible, max_scores.get(assignment)
        if points is not None and max_score and points != max_score:
            summary.points_differ[assignment] = (points, max_score)
    ids.canvas_test_students = sorted(set(ids.canvas_test_students)
                                      | set(roster.test_student_ids))
    ids.save(course_root)
    return summary
