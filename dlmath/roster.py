"""Roster import: the students of an LMS course into nbgrader's gradebook, with their LMS ids.

Two kinds of file are read, both as the LMS writes them:

* a Canvas gradebook export (Grades -> Export): ``Student,ID,SIS User ID,SIS Login ID,...,
  Section`` then one ``<title> (<canvas id>)`` column per assignment;
* a Moodle participants or grades export: ``"First name","Last name",...`` with
  ``"ID number"``, ``Username`` and/or ``"Email address"``, grade items titled
  ``Assignment: <title>``.

Where the mapping lives (see README, "Grades to your LMS"):

* the Canvas user id of a student goes into the gradebook's own ``Student.lms_user_id``;
* everything else (SIS ids, section, Moodle ID number, and which LMS column is which nbgrader
  assignment) goes into ``.dlmath/lms/ids.json`` in the course folder. ``.dlmath/`` is never
  committed: like the gradebook it holds personal data.
"""

from __future__ import annotations

import csv
import io
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook

from dlmath.course import CourseError, write_atomically

IDS_FILE = Path(".dlmath") / "lms" / "ids.json"

# Canvas identity columns, in the order Canvas writes them; "Section" is always the last one.
CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Integration ID",
                   "Root Account", "Section")
# Canvas writes its test student ("Student, Test") into every export; it is no real student.
CANVAS_TEST_STUDENT = "Student, Test"
CANVAS_ASSIGNMENT = re.compile(r"^(?P<title>.*\S)\s*\((?P<id>\d+)\)$")
MOODLE_ITEM = re.compile(r"^(?P<module>[^:]+):\s*(?P<title>.*?)(?:\s*\((?:Real|Percentage|"
                         r"Letter)\))?$")
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
    """A gradable item (assignment) of the LMS: its title and, for Canvas, its id."""

    title: str
    lms_id: str | None = None


@dataclass
class Roster:
    """A parsed roster file: which LMS wrote it, its students and its assignment columns."""

    lms: str
    students: list[RosterStudent]
    columns: list[LmsColumn]
    skipped: list[str] = field(default_factory=list)


# --- reading files -----------------------------------------------------------------------------

def read_rows(path: Path) -> list[list[str]]:
    """The CSV rows of ``path``: UTF-8 (with or without BOM) or, failing that, Windows-1252.

    The delimiter is sniffed among comma, semicolon and tab, since a file re-saved by a
    spreadsheet in many locales uses semicolons.
    """
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    return [row for row in csv.reader(io.StringIO(text), delimiter=delimiter)
            if any(cell.strip() for cell in row)]


def read_roster(path: Path, id_column: str | None = None) -> Roster:
    """Parse a Canvas gradebook export or a Moodle participants/grades export.

    ``id_column`` names the column whose values become nbgrader student ids (default: Canvas
    ``SIS Login ID``, else ``SIS User ID``, else ``ID``; Moodle ``ID number``, else
    ``Username``, else the email address).
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
        "'Student,ID,...,Section'; Moodle files have 'First name' and 'Last name' columns. "
        "Export the roster from the LMS again and pass that file unchanged.")


def is_canvas_header(header: Sequence[str]) -> bool:
    """Whether ``header`` is a Canvas gradebook header (``Student``, ``ID``, ..., ``Section``)."""
    return len(header) >= 2 and header[0] == "Student" and header[1] == "ID"


def is_moodle_header(header: Sequence[str]) -> bool:
    """Whether ``header`` is a Moodle participants or grades export header.

    Moodle writes exactly "First name" and "Last name"; Blackboard's "Last Name" and
    "First Name" (capital N) is another format, with other ids, and is not taken for it.
    """
    return {"First name", "Last name"} <= set(header)


def _pick_id(row: Mapping[str, str], candidates: Sequence[str]) -> str:
    return next((row[c].strip() for c in candidates if row.get(c, "").strip()), "")


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
    id_candidates = [id_column] if id_column else ["SIS Login ID", "SIS User ID", "ID"]
    columns = [LmsColumn(m["title"], m["id"]) for h in header[header.index("Section") + 1:]
               if (m := CANVAS_ASSIGNMENT.match(h))]
    students, skipped = [], []
    for line, values in enumerate(rows, start=2):
        row = dict(zip(header, values, strict=False))
        name = row.get("Student", "").strip()
        canvas_id = row.get("ID", "").strip()
        # "Points Possible" and the posting-policy row have no user id; nor do blank lines.
        if not canvas_id or name == CANVAS_TEST_STUDENT:
            continue
        student_id = _pick_id(row, id_candidates)
        if not _check_id(student_id, line, name, skipped):
            continue
        last, _, first = name.partition(",")
        ids = {key: row[col].strip() for key, col in
               (("sis_user_id", "SIS User ID"), ("sis_login_id", "SIS Login ID"),
                ("section", "Section")) if row.get(col, "").strip()}
        students.append(RosterStudent(student_id, first.strip(), last.strip(),
                                      lms_user_id=canvas_id, ids=ids))
    return Roster("canvas", students, columns, skipped)


def parse_moodle(header: list[str], rows: Iterable[list[str]],
                 id_column: str | None = None) -> Roster:
    """Students and grade-item columns of a Moodle participants or grades export."""
    _require_column(header, id_column)
    by_lower = {h.lower(): h for h in header}
    email_col = by_lower.get("email address")
    id_candidates = ([id_column] if id_column else
                     [c for c in (by_lower.get("id number"), by_lower.get("username")) if c])
    columns = [LmsColumn(m["title"]) for h in header
               if (m := MOODLE_ITEM.match(h)) and m["module"] != "Course total"]
    students, skipped = [], []
    for line, values in enumerate(rows, start=2):
        row = dict(zip(header, values, strict=False))
        first, last = row.get(by_lower["first name"], "").strip(), row.get(
            by_lower["last name"], "").strip()
        email = row.get(email_col, "").strip() if email_col else ""
        student_id = _pick_id(row, id_candidates) or (email.split("@")[0] if email else "")
        if not _check_id(student_id, line, f"{first} {last}", skipped):
            continue
        ids = {key: row[by_lower[col]].strip() for key, col in
               (("moodle_id_number", "id number"), ("moodle_username", "username"))
               if by_lower.get(col) and row.get(by_lower[col], "").strip()}
        students.append(RosterStudent(student_id, first, last, email or None, ids=ids))
    return Roster("moodle", students, columns, skipped)


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


def match_columns(columns: Sequence[LmsColumn], assignments: Sequence[str],
                  explicit: Mapping[str, str] | None = None,
                  ) -> tuple[dict[str, LmsColumn], list[LmsColumn]]:
    """Which LMS column is which nbgrader assignment.

    ``explicit`` maps assignment ids to column titles and wins; otherwise a column matches an
    assignment when their exercise keys are equal (``assignment_key``). Returns the matches
    and the LMS columns left unmatched. Two columns matching one assignment is an error.
    """
    explicit = dict(explicit or {})
    matched: dict[str, LmsColumn] = {}
    for assignment, title in explicit.items():
        found = [c for c in columns if c.title == title]
        if not found:
            raise RosterError(f"--assignment-map {assignment}={title!r}: the file has no "
                              f"column titled {title!r}")
        matched[assignment] = found[0]
    for assignment in assignments:
        if assignment in matched:
            continue
        found = [c for c in columns if assignment_key(c.title) == assignment_key(assignment)
                 and c not in matched.values()]
        if len(found) > 1:
            raise RosterError(
                f"{assignment} matches several LMS columns ({', '.join(c.title for c in found)});"
                f" say which with --assignment-map {assignment}=TITLE")
        if found:
            matched[assignment] = found[0]
    unmatched = [c for c in columns if c not in matched.values()]
    return matched, unmatched


# --- the stored mapping ------------------------------------------------------------------------

@dataclass
class LmsIds:
    """The course's LMS ids: per student and per assignment, as ``.dlmath/lms/ids.json`` keeps
    them (``{"students": {id: {...}}, "assignments": {id: {"canvas": {...}, ...}}}``)."""

    students: dict[str, dict[str, str]] = field(default_factory=dict)
    assignments: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)

    @classmethod
    def load(cls, course_root: Path) -> LmsIds:
        """The stored ids, or none if no roster was imported yet."""
        path = course_root / IDS_FILE
        if not path.is_file():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(data.get("students", {}), data.get("assignments", {}))

    def save(self, course_root: Path) -> Path:
        """Write the ids atomically (a crash leaves the previous file intact)."""
        path = course_root / IDS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, json.dumps({"students": self.students,
                                           "assignments": self.assignments},
                                          indent=1, sort_keys=True, ensure_ascii=False))
        return path

    def column(self, assignment: str, lms: str) -> LmsColumn | None:
        """The LMS column recorded for ``assignment`` in ``lms``, if any."""
        entry = self.assignments.get(assignment, {}).get(lms)
        return LmsColumn(entry["title"], entry.get("id")) if entry else None


@dataclass
class ImportSummary:
    """What a roster import changed."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    matched: dict[str, LmsColumn] = field(default_factory=dict)
    unmatched: list[LmsColumn] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def import_roster(course_root: Path, db_url: str, roster: Roster, assignments: Sequence[str],
                  explicit: Mapping[str, str] | None = None) -> ImportSummary:
    """Create or update the roster's students in the gradebook and record their LMS ids.

    Idempotent: importing the same file twice changes nothing the second time. Students
    already in the gradebook but not in the file are left alone (never deleted).
    """
    seen: dict[str, RosterStudent] = {}
    for student in roster.students:
        if student.student_id in seen:
            raise RosterError(f"two students of the file get the id {student.student_id!r}; "
                              "choose a unique column with --id-column")
        seen[student.student_id] = student
    summary = ImportSummary(skipped=list(roster.skipped))
    summary.matched, summary.unmatched = match_columns(roster.columns, assignments, explicit)
    ids = LmsIds.load(course_root)
    with Gradebook(db_url) as gradebook:
        existing = {s.id: s for s in gradebook.students}
        for student in roster.students:
            fields = {"first_name": student.first_name, "last_name": student.last_name}
            if student.email:
                fields["email"] = student.email
            if student.lms_user_id:
                fields["lms_user_id"] = student.lms_user_id
            old = existing.get(student.student_id)
            if old is None:
                summary.created.append(student.student_id)
            elif all(getattr(old, k) == v for k, v in fields.items()):
                summary.unchanged.append(student.student_id)
            else:
                summary.updated.append(student.student_id)
            gradebook.update_or_create_student(student.student_id, **fields)
            ids.students.setdefault(student.student_id, {}).update(student.ids)
    for assignment, column in summary.matched.items():
        entry = {"title": column.title} | ({"id": column.lms_id} if column.lms_id else {})
        ids.assignments.setdefault(assignment, {})[roster.lms] = entry
    ids.save(course_root)
    return summary
