"""Roster import from the files Canvas and Moodle export, idempotently, with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from lms_course import DATA, EX1, EX2, db_url, new_course
from nbgrader.api import Gradebook

from dlmath.cli import EXIT_OK, EXIT_USAGE, main
from dlmath.roster import (
    LmsColumn,
    LmsIds,
    RosterError,
    assignment_key,
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
    matched, unmatched = match_columns(columns, [EX1, "ex3_gradient_checking"])
    assert matched == {EX1: columns[0]} and unmatched == [columns[1]]
    matched, _ = match_columns(columns, [EX1, "ex3_gradient_checking"],
                               {"ex3_gradient_checking": "Gradient checks"})
    assert matched["ex3_gradient_checking"] == columns[1]
    with pytest.raises(RosterError, match="several LMS columns"):
        match_columns([LmsColumn("Ex1 part A"), LmsColumn("Ex 1 part B")], [EX1])


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
    assert "'Reading quiz 1'" in out
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
