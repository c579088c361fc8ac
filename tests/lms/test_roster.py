"""Roster import from the files Canvas and Moodle export, idempotently, with clear errors."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import openpyxl
import pytest
from lms_course import DATA, EX1, EX2, LMS_FIELD, add_assignments, db_url, new_course
from nbgrader.api import Gradebook

from dlmath.cli.main import EXIT_OK, EXIT_USAGE, main
from dlmath.lms.roster import (
    LmsColumn,
    LmsIds,
    RosterError,
    assignment_key,
    lms_number,
    match_columns,
    read_roster,
)


def test_canvas_export_gives_names_ids_and_assignment_columns() -> None:
    roster = read_roster(DATA / "canvas_gradebook_export.csv")
    assert roster.lms == "canvas"
    # The Points Possible row and Canvas's test student are no students.
    assert [s.student_id for s in roster.students] == [
        "jdoe", "aobrien", "clefevre", "lvanderberg", "jnunez", "zyilmaz"]
    jose = roster.students[4]
    assert (jose.first_name, jose.last_name, jose.lms_user_id) == ('José "Pepe"', "Núñez", "4715")
    assert jose.ids == {"sis_user_id": "S2600005", "sis_login_id": "jnunez",
                        "section": "MATH 4420 Section 1"}
    assert roster.columns == [LmsColumn("Ex1: Ill-conditioned GD", "120451"),
                              LmsColumn("Exercise 2 - Eigenvalue spectra", "120452"),
                              LmsColumn("Reading quiz 1", "120460")]
    assert [c.points_possible for c in roster.columns] == [12, 12, 5]


def test_moodle_grades_and_participants_exports() -> None:
    grades = read_roster(DATA / "moodle_grades_export.csv")
    assert grades.lms == "moodle"
    jose = grades.students[4]
    assert (jose.student_id, jose.first_name, jose.last_name, jose.email) == (
        "S2600005", 'José "Pepe"', "Núñez, Jr.", "jose.nunez@students.example.edu")
    assert [c.title for c in grades.columns] == [
        "Ex1: Ill-conditioned GD", "Ex2: Eigenvalue spectra", "Reading quiz 1"]
    participants = read_roster(DATA / "moodle_participants.csv")  # no ID numbers: usernames
    assert [s.student_id for s in participants.students] == ["jdoe", "aobrien", "clefevre",
                                                             "hpark"]
    by_email = read_roster(DATA / "moodle_participants.csv", id_column="Email address")
    assert by_email.students[0].student_id == "jane.doe@students.example.edu"


def test_unknown_format_is_refused_with_what_was_expected() -> None:
    with pytest.raises(RosterError, match="neither a Canvas gradebook export nor a Moodle"):
        read_roster(DATA / "blackboard_grade_center.csv")


def test_unknown_id_column_lists_the_columns() -> None:
    with pytest.raises(RosterError, match="'Matrikel' is not a column.*SIS Login ID"):
        read_roster(DATA / "canvas_gradebook_export.csv", id_column="Matrikel")


def test_columns_match_assignments_by_exercise_number() -> None:
    assert assignment_key("Exercise 2 - Eigenvalue spectra") == assignment_key(EX2) == "ex2"
    columns = [LmsColumn("Ex1: Ill-conditioned GD", "1"), LmsColumn("Gradient checks", "3")]
    found = match_columns(columns, [EX1, "ex3_gradient_checking"])
    assert found.matched == {EX1: columns[0]} and found.unmatched == [columns[1]]
    found = match_columns(columns, [EX1, "ex3_gradient_checking"],
                          {"ex3_gradient_checking": "Gradient checks"})
    assert found.matched["ex3_gradient_checking"] == columns[1]
    with pytest.raises(RosterError, match="several LMS columns"):
        match_columns([LmsColumn("Ex1 part A"), LmsColumn("Ex 1 part B")], [EX1])
    # Moodle: the assignment wins over a quiz of the same exercise number, and says so.
    quiz, assignment = LmsColumn("Ex1 quiz", module="Quiz"), LmsColumn("Ex1", module="Assignment")
    found = match_columns([quiz, assignment], [EX1])
    assert found.matched == {EX1: assignment} and found.passed_over == {EX1: [quiz]}


def test_import_is_idempotent_and_stores_the_mapping(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course = new_course(tmp_path)
    args = ["--course", str(course), "roster", "import",
            str(DATA / "canvas_gradebook_export.csv")]
    assert main(args) == EXIT_OK
    assert "6 students added, 0 updated, 0 unchanged" in capsys.readouterr().out
    assert main(args) == EXIT_OK
    out = capsys.readouterr().out
    assert "0 students added, 0 updated, 6 unchanged" in out
    assert "ex1_ill_conditioned_gd <- Ex1: Ill-conditioned GD (120451)" in out
    assert "'Reading quiz 1 (120460)'" in out
    with Gradebook(db_url(course)) as gb:
        students = {s.id: s for s in gb.students}
        assert len(students) == 6
        assert students["zyilmaz"].last_name == "Yılmaz"
        assert students["zyilmaz"].lms_user_id == "4716"
    ids = LmsIds.load(course)
    assert ids.column(EX1, "canvas") == LmsColumn("Ex1: Ill-conditioned GD", "120451")
    assert ids.students["jdoe"]["sis_user_id"] == "S2600001"


def test_a_second_lms_adds_to_students_without_losing_the_first(tmp_path: Path) -> None:
    course = new_course(tmp_path)
    main(["--course", str(course), "roster", "import", str(DATA / "canvas_gradebook_export.csv")])
    main(["--course", str(course), "roster", "import", str(DATA / "moodle_participants.csv")])
    with Gradebook(db_url(course)) as gb:
        jane = gb.find_student("jdoe")
        assert (jane.email, jane.lms_user_id) == ("jane.doe@students.example.edu", "4711")
        assert gb.find_student("hpark").first_name == "Hye-jin"
    assert LmsIds.load(course).students["jdoe"] == {
        "sis_user_id": "S2600001", "sis_login_id": "jdoe", "section": "MATH 4420 Section 1",
        "moodle_username": "jdoe"}


def test_cli_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course = new_course(tmp_path)
    assert main(["--course", str(course), "roster", "import",
                 str(DATA / "blackboard_grade_center.csv")]) == EXIT_USAGE
    assert "Export the roster from the LMS again" in capsys.readouterr().err
    assert main(["--course", str(course), "roster", "import", str(tmp_path / "nope.csv")]
                ) == EXIT_USAGE


# --- the files Canvas and Moodle really write (tests/data/field/lms/*/README.md) ---------------

def roster_import(course: Path, file: Path, *extra: str) -> list[str]:
    return ["--course", str(course), "roster", "import", str(file), *extra]


def test_canvas_gradebook_export_as_canvas_writes_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """BOM, custom column, Manual Posting row, indented Points Possible row, the test student,
    two sections, EX and N/A cells, a login that is an email, a title with parentheses."""
    file = LMS_FIELD / "canvas_gradebook_export" / "canvas_gradebook_export.csv"
    roster = read_roster(file)
    assert [(s.student_id, s.first_name, s.last_name, s.lms_user_id) for s in roster.students] == [
        ("s2600001", "Amara", "Okafor", "5101"), ("s2600002", "Lukas", "Müller", "5102"),
        ("s2600003", "Siobhán", "O'Brien", "5103"),
        ("s2600004", "José María", "García López", "5104"),
        ("s2600005", "An", "Nguyen Van", "5105"),
        ("wei.zhang@students.example.edu", "Wei", "Zhang", "5106")]
    assert roster.students[3].ids["section"] == "MATH 4420 Lab B and MATH 4420 Section 1"
    assert roster.test_student_ids == ["5199"] and not roster.skipped
    assert [(c.label, c.points_possible) for c in roster.columns] == [
        ("Ex1: Ill-conditioned GD (120451)", 12), ("Ex2: Eigenvalue spectra (120452)", 12),
        ("Ex3: Gradient checking (part 1) (120453)", 12),
        ("Ex4 - Entropy over epochs (120454)", 12), ("Ex5: Condition numbers (120455)", 12),
        ("Reading quiz 1 (120460)", 5)]
    course = new_course(tmp_path)
    assert main(roster_import(course, file)) == EXIT_OK
    out = capsys.readouterr().out
    assert "6 students added, 0 updated, 0 unchanged" in out
    assert "ex3_gradient_checking <- Ex3: Gradient checking (part 1) (120453)" in out
    assert "Canvas's test student (Student View, Canvas id 5199) is no student" in out
    assert LmsIds.load(course).canvas_test_students == ["5199"]


def test_canvas_first_and_last_name_columns(tmp_path: Path) -> None:
    file = LMS_FIELD / "canvas_first_last_names" / "canvas_first_last.csv"
    roster = read_roster(file)
    assert roster.lms == "canvas"
    assert [(s.student_id, s.first_name, s.last_name, s.lms_user_id) for s in roster.students] == [
        ("s2600001", "Amara", "Okafor", "5101"), ("s2600002", "Lukas", "Müller", "5102")]
    assert [c.label for c in roster.columns] == ["Ex1: Ill-conditioned GD (120451)",
                                                 "Ex2: Eigenvalue spectra (120452)"]
    course = new_course(tmp_path)
    assert main(roster_import(course, file)) == EXIT_OK
    with Gradebook(db_url(course)) as gb:
        assert gb.find_student("s2600002").last_name == "Müller"


def test_canvas_duplicated_assignment_is_refused_until_mapped(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = LMS_FIELD / "canvas_duplicated_assignment" / "canvas_duplicate.csv"
    course = new_course(tmp_path)
    assert main(roster_import(course, file)) == EXIT_USAGE
    assert ("ex1_ill_conditioned_gd matches several LMS columns (Ex1: Ill-conditioned GD "
            "(120451), Ex1: Ill-conditioned GD Copy (120499)); say which with --assignment-map"
            ) in capsys.readouterr().err
    assert not (course / ".dlmath" / "lms" / "ids.json").exists()
    assert main(roster_import(course, file, "--assignment-map",
                              f"{EX1}=Ex1: Ill-conditioned GD Copy (120499)")) == EXIT_OK
    assert LmsIds.load(course).column(EX1, "canvas").lms_id == "120499"


def test_canvas_semicolons_and_decimal_commas(tmp_path: Path) -> None:
    file = LMS_FIELD / "canvas_semicolon_locale" / "canvas_semicolon.csv"
    roster = read_roster(file)
    assert [(s.student_id, s.first_name, s.last_name) for s in roster.students] == [
        ("s2600001", "Amara", "Okafor"), ("s2600002", "Lukas", "Müller")]
    assert [(c.label, c.points_possible) for c in roster.columns] == [
        ("Ex1: Ill-conditioned GD (120451)", 12.0), ("Ex2: Eigenvalue spectra (120452)", 12.0)]
    assert [lms_number(t) for t in ("12,00", "10,50", "12.00", "1.234,5", "(read only)", "",
                                    "N/A")] == [12, 10.5, 12, 1234.5, None, None, None]


def test_canvas_points_possible_is_read_and_compared(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course = new_course(tmp_path)
    add_assignments(course)  # each worth 12 in the gradebook
    file = LMS_FIELD / "canvas_points_possible_100" / "canvas_points_100.csv"
    assert main(roster_import(course, file)) == EXIT_OK
    assert (f"{EX1} is worth 100 points in Canvas and 12 here: Canvas exports scale scores by "
            "100/12") in capsys.readouterr().out
    assert LmsIds.load(course).column(EX1, "canvas").points_possible == 100


def test_moodle_export_with_a_quiz_named_like_the_exercise(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = LMS_FIELD / "moodle_grades_export" / "moodle_grades.csv"
    roster = read_roster(file)
    assert [(s.student_id, s.email) for s in roster.students] == [
        ("S2600001", "amara.okafor@students.example.edu"),
        ("S2600003", "siobhan.obrien@students.example.edu"),
        ("S2600004", "jm.garcia@students.example.edu"),
        ("an.nguyenvan", "an.nguyenvan@students.example.edu")]
    course = new_course(tmp_path)
    assert main(roster_import(course, file)) == EXIT_OK
    out = capsys.readouterr().out
    assert f"{EX1} <- Assignment: Ex1: Ill-conditioned GD\n" in out
    assert "(the assignment, chosen over Quiz: Ex1 warm-up quiz;" in out
    assert "An Nguyen Van has no ID number: id 'an.nguyenvan' from Email address" in out
    assert LmsIds.load(course).column(EX1, "moodle") == LmsColumn(
        "Ex1: Ill-conditioned GD", module="Assignment")


def test_moodle_export_with_real_percentage_and_feedback_columns(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = LMS_FIELD / "moodle_grades_export_feedback" / "moodle_grades_real_pct_feedback.csv"
    roster = read_roster(file)
    assert [(c.label, c.kinds) for c in roster.columns] == [
        ("Assignment: Ex1: Ill-conditioned GD", ("Real", "Percentage", "Feedback")),
        ("Assignment: Ex2: Eigenvalue spectra", ("Real", "Percentage", "Feedback"))]
    course = new_course(tmp_path)
    assert main(roster_import(course, file)) == EXIT_OK
    assert (f"{EX1} <- Assignment: Ex1: Ill-conditioned GD (Real; also exported as "
            "Percentage, Feedback)") in capsys.readouterr().out


def test_moodle_export_that_says_surname(tmp_path: Path) -> None:
    file = LMS_FIELD / "moodle_grades_export_surname" / "moodle_grades_surname.csv"
    roster = read_roster(file)
    assert roster.lms == "moodle"
    assert [(s.student_id, s.first_name, s.last_name) for s in roster.students] == [
        ("S2600001", "Amara", "Okafor"), ("S2600003", "Siobhán", "O'Brien")]
    assert main(roster_import(new_course(tmp_path), file)) == EXIT_OK


def test_a_new_moodle_id_number_keeps_the_student(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An had no ID number (id from the email); now Moodle has one: still one An."""
    course = new_course(tmp_path)
    first = LMS_FIELD / "moodle_grades_export" / "moodle_grades.csv"
    main(roster_import(course, first))
    later = tmp_path / "later.csv"
    later.write_text(first.read_text(encoding="utf-8").replace(
        'An,"Nguyen Van",,', 'An,"Nguyen Van",S2600005,'), encoding="utf-8")
    capsys.readouterr()
    assert main(roster_import(course, later)) == EXIT_OK
    out = capsys.readouterr().out
    assert "0 students added, 1 updated, 3 unchanged" in out
    assert ("An Nguyen Van: the file gives the id 'S2600005'; kept as 'an.nguyenvan'") in out
    with Gradebook(db_url(course)) as gb:
        assert sorted(s.id for s in gb.students) == ["S2600001", "S2600003", "S2600004",
                                                     "an.nguyenvan"]
    assert LmsIds.load(course).students["an.nguyenvan"]["moodle_id_number"] == "S2600005"


def test_an_excel_roster_is_read(tmp_path: Path) -> None:
    """Moodle's "Excel spreadsheet" grade export: the same table as the CSV."""
    csv_file = LMS_FIELD / "moodle_grades_export" / "moodle_grades.csv"
    workbook = openpyxl.Workbook()
    for row in csv.reader(csv_file.read_text(encoding="utf-8").splitlines()):
        workbook.active.append([float(v) if v.replace(".", "").isdigit() else v for v in row])
    workbook.save(tmp_path / "grades.xlsx")
    from_excel, from_csv = read_roster(tmp_path / "grades.xlsx"), read_roster(csv_file)
    assert from_excel.students == from_csv.students
    assert from_excel.columns == from_csv.columns


@pytest.mark.parametrize(("name", "content", "message"), [
    ("grades.ods", None, "an OpenDocument spreadsheet"),
    ("grades.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64, "old Excel (.xls)"),
    ("grades.csv", b"\x81\x8d\x8f\x90\x9d" * 10, "neither UTF-8 nor Windows-1252"),
])
def test_other_spreadsheets_get_a_clear_message(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes | None,
        message: str) -> None:
    path = tmp_path / name
    if content is None:
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
            zf.writestr("content.xml", "<office:document-content/>")
    else:
        path.write_bytes(content)
    assert main(roster_import(new_course(tmp_path), path)) == EXIT_USAGE
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
