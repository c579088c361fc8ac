"""Grade exports: the exact files Canvas and Moodle document, and honest statuses."""

from __future__ import annotations

from pathlib import Path

import pytest
from lms_course import EX1, EX2, db_url, graded_course
from nbgrader.api import Gradebook
from nbgrader.plugins import CsvExportPlugin

from dlmath.cli import EXIT_ATTENTION, main
from dlmath.exports import (
    CanvasExportPlugin,
    MoodleExportPlugin,
    NbgraderCsvExportPlugin,
    php_csv_line,
    points,
)


def export(course: Path, plugin_class: type, **kwargs: object) -> str:
    dest = course / "out.csv"
    with Gradebook(db_url(course)) as gb:
        plugin_class(to=str(dest), course_root=str(course), **kwargs).export(gb)
    return dest.read_text(encoding="utf-8")


def test_canvas_csv_is_the_documented_gradebook_import(tmp_path: Path) -> None:
    course = graded_course(tmp_path)
    assert export(course, CanvasExportPlugin).splitlines() == [
        "Student,ID,SIS User ID,SIS Login ID,Section,Ex1: Ill-conditioned GD (120451),"
        "Exercise 2 - Eigenvalue spectra (120452)",
        "Points Possible,,,,,12,12",
        "\"O'Brien, Aoife\",4712,S2600002,aobrien,MATH 4420 Section 1,,8",
        "\"Lefèvre, Chloé\",4713,S2600003,clefevre,MATH 4420 Section 2,0,",
        "\"Doe, Jane\",4711,S2600001,jdoe,MATH 4420 Section 1,9,0",
        "\"Núñez, José \"\"Pepe\"\"\",4715,S2600005,jnunez,MATH 4420 Section 1,,",
        "\"van der Berg, Liam\",4714,S2600004,lvanderberg,MATH 4420 Section 2,0,0",
        "\"Yılmaz, Zeynep\",4716,S2600006,zyilmaz,MATH 4420 Section 2,0,0",
    ]


def test_canvas_status_file_says_why_each_cell_is_blank(tmp_path: Path) -> None:
    course = graded_course(tmp_path)
    export(course, CanvasExportPlugin)
    rows = [line.split(",")[:4] for line in
            (course / "out-status.csv").read_text(encoding="utf-8").splitlines()]
    assert rows[0] == ["assignment", "student_id", "name", "status"]
    assert sorted((r[0], r[1], r[3]) for r in rows[1:]) == [
        (EX1, "aobrien", "written answer not graded yet"),
        (EX1, "jnunez", "autograding failed"),
        (EX2, "clefevre", "resubmitted since grading"),
        (EX2, "jnunez", "not graded yet"),
    ]


def test_provisional_scores_only_on_request(tmp_path: Path) -> None:
    course = graded_course(tmp_path)
    text = export(course, CanvasExportPlugin, include_provisional=True)
    assert "aobrien,MATH 4420 Section 1,10,8" in text  # auto points, written answer pending
    assert "clefevre,MATH 4420 Section 2,0,7" in text
    # A failed or ungraded submission has no score at all, provisional or not.
    assert "jnunez,MATH 4420 Section 1,," in text


def test_moodle_csv_is_shaped_and_quoted_like_moodles_export(tmp_path: Path) -> None:
    course = graded_course(tmp_path, roster="moodle_grades_export.csv")
    assert export(course, MoodleExportPlugin).splitlines() == [
        '"First name","Last name","ID number",Institution,Department,"Email address",'
        '"Assignment: Ex1: Ill-conditioned GD","Assignment: Ex2: Eigenvalue spectra"',
        "Jane,Doe,S2600001,,,jane.doe@students.example.edu,9,0",
        "Aoife,O'Brien,S2600002,,,aoife.obrien@students.example.edu,-,8",
        "Chloé,Lefèvre,S2600003,,,chloe.lefevre@students.example.edu,0,-",
        'Liam,"van der Berg",S2600004,,,liam.vanderberg@students.example.edu,0,0',
        '"José ""Pepe""","Núñez, Jr.",S2600005,,,jose.nunez@students.example.edu,-,-',
        "Zeynep,Yılmaz,S2600006,,,zeynep.yilmaz@students.example.edu,0,0",
    ]


def test_nbgrader_csv_keeps_nbgraders_columns_and_adds_the_status(tmp_path: Path) -> None:
    course = graded_course(tmp_path)
    lines = export(course, NbgraderCsvExportPlugin).splitlines()
    assert lines[0] == ("assignment,duedate,timestamp,student_id,last_name,first_name,email,"
                        "raw_score,late_submission_penalty,score,max_score,status")
    rows = {tuple(line.split(",")[i] for i in (0, 3)): line for line in lines[1:]}
    assert rows[(EX1, "jnunez")].endswith(",,0.0,,12.0,autograding failed")
    assert rows[(EX2, "jnunez")].endswith(",,0.0,,12.0,not graded yet")
    assert rows[(EX2, "jdoe")].endswith(",0.0,0.0,0.0,12.0,no submission")
    assert rows[(EX2, "aobrien")].endswith(",10.0,2.0,8.0,12.0,graded")


def test_plain_nbgrader_export_reports_the_failed_submission_as_zero(tmp_path: Path) -> None:
    """The gap this module closes, measured: nbgrader's CSV says 0.0 for a failed autograde."""
    course = graded_course(tmp_path)
    text = export(course, CsvExportPlugin)
    failed = next(line for line in text.splitlines() if line.startswith(EX1)
                  and ",jnunez," in line)
    assert failed.endswith(",0.0,0.0,0.0,12.0")


def test_export_command_exits_1_and_summarises_what_is_not_final(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course = graded_course(tmp_path)
    dest = tmp_path / "canvas.csv"
    assert main(["--course", str(course), "export", "--format", "canvas", "--to",
                 str(dest)]) == EXIT_ATTENTION
    err = capsys.readouterr().err
    assert "4 of 12 grades are not final (left blank)" in err
    assert "1 autograding failed" in err and "1 written answer not graded yet" in err
    assert (tmp_path / "canvas-status.csv").is_file()


def test_export_without_canvas_ids_falls_back_to_titles_and_says_so(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course = graded_course(tmp_path, roster="moodle_grades_export.csv")
    dest = tmp_path / "canvas.csv"
    main(["--course", str(course), "export", "--format", "canvas", "--to", str(dest), EX1])
    header = dest.read_text(encoding="utf-8").splitlines()[0]
    assert header == "Student,ID,SIS User ID,SIS Login ID,Section,Ex1: Ill-conditioned GD"
    assert "No Canvas assignment id for ex1_ill_conditioned_gd" in capsys.readouterr().err


def test_all_final_grades_exit_0_and_remove_a_stale_status_file(tmp_path: Path) -> None:
    course = graded_course(tmp_path)
    dest = tmp_path / "grades.csv"
    (tmp_path / "grades-status.csv").write_text("stale")
    assert main(["--course", str(course), "export", "--to", str(dest), EX1, EX2]) == 1
    assert main(["--course", str(course), "export", "--to", str(dest), "ex3_gradient_checking"
                 ]) == 0
    assert not (tmp_path / "grades-status.csv").exists()


def test_number_and_quoting_helpers() -> None:
    assert [points(x) for x in (8.5, 12.0, 0.0, 7.333333)] == ["8.5", "12", "0", "7.33"]
    assert php_csv_line(["First name", "O'Brien", 'say "hi"', "a,b", "plain"]) == (
        '"First name",O\'Brien,"say ""hi""","a,b",plain\n')
