"""Grade exports: the exact files Canvas and Moodle document, and honest statuses."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from lms_course import (
    EX1,
    EX2,
    LMS_FIELD,
    add_assignments,
    db_url,
    field_course,
    grade,
    graded_course,
    hand_in,
    import_sample_roster,
    new_course,
)
from nbgrader.api import Gradebook
from nbgrader.plugins import CsvExportPlugin

from dlmath.cli.main import EXIT_ATTENTION, EXIT_OK, main
from dlmath.plugins.export import (
    CANVAS_IDENTITY,
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
    assert ("  José \"Pepe\" Núñez (jnunez), ex1_ill_conditioned_gd: autograding failed "
            "(nbclient.exceptions.DeadKernelError: Kernel died)") in err.splitlines()
    assert (tmp_path / "canvas-status.csv").is_file()


def test_export_without_canvas_ids_falls_back_to_titles_and_says_so(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course = graded_course(tmp_path, roster="moodle_grades_export.csv")
    dest = tmp_path / "canvas.csv"
    main(["--course", str(course), "export", "--format", "canvas", "--to", str(dest), EX1])
    header = dest.read_text(encoding="utf-8").splitlines()[0]
    assert header == "Student,ID,SIS User ID,SIS Login ID,Section,Ex1: Ill-conditioned GD"
    err = capsys.readouterr().err
    assert "no Canvas assignment id for ex1_ill_conditioned_gd" in err
    assert ("no Canvas user id or SIS id for Jane Doe (S2600001), Aoife O'Brien (S2600002), "
            "Chloé Lefèvre (S2600003), Liam van der Berg (S2600004), José \"Pepe\" Núñez, Jr. "
            "(S2600005), Zeynep Yılmaz (S2600006): Canvas matches these rows by name only") in err


def test_all_final_grades_exit_0_and_remove_a_stale_status_file(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course = graded_course(tmp_path)
    dest = tmp_path / "grades.csv"
    (tmp_path / "grades-status.csv").write_text("stale")
    assert main(["--course", str(course), "export", "--to", str(dest), EX1, EX2]) == 1
    assert (tmp_path / "grades-status.csv").is_file()
    final = new_course(tmp_path / "final")
    add_assignments(final)
    jane = import_sample_roster(final, "canvas_gradebook_export.csv")[0]
    hand_in(final, EX1, jane)
    grade(final, EX1, jane, {"test_a": 6, "test_b": 2, "written": 1})
    shutil.copy(tmp_path / "grades-status.csv", tmp_path / "final" / "grades-status.csv")
    capsys.readouterr()
    assert main(["--course", str(final), "export", "--format", "canvas", "--to",
                 str(tmp_path / "final" / "grades.csv")]) == EXIT_OK
    assert not (tmp_path / "final" / "grades-status.csv").exists()
    out, err = capsys.readouterr()
    # ex2: nobody handed anything in; not asked for by name, so it is only mentioned.
    assert out == ("nothing collected or graded yet for ex2_eigenvalue_spectra: left out of "
                   "grades.csv (not a column of zeros)\n") and err == ""
    rows = (tmp_path / "final" / "grades.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].endswith(",Section,Ex1: Ill-conditioned GD (120451)")
    assert rows[4] == '"Doe, Jane",4711,S2600001,jdoe,MATH 4420 Section 1,9'
    assert {row.rsplit(",", 1)[1] for row in rows[2:] if "jdoe" not in row} == {"0"}
    # Asked for by name, it is a problem: exit 1, and still no column of zeros.
    assert main(["--course", str(final), "export", "--format", "canvas", "--to",
                 str(tmp_path / "final" / "ex2.csv"), EX2]) == EXIT_ATTENTION
    assert (tmp_path / "final" / "ex2.csv").read_text(encoding="utf-8").splitlines() == [
        ",".join(CANVAS_IDENTITY), "Points Possible,,,,"]
    assert "nothing collected or graded yet for ex2_eigenvalue_spectra" in capsys.readouterr().err


def test_an_assignment_with_nothing_collected_is_no_column_of_zeros(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course = graded_course(tmp_path)
    dest = tmp_path / "canvas.csv"
    assert main(["--course", str(course), "export", "--format", "canvas", "--to", str(dest),
                 "ex3_gradient_checking"]) == EXIT_ATTENTION
    assert dest.read_text(encoding="utf-8").splitlines()[0] == ",".join(CANVAS_IDENTITY)
    assert ("nothing collected or graded yet for ex3_gradient_checking: left out of canvas.csv"
            in capsys.readouterr().err)


def test_number_and_quoting_helpers() -> None:
    assert [points(x) for x in (8.5, 12.0, 0.0, 7.333333)] == ["8.5", "12", "0", "7.33"]
    assert php_csv_line(["First name", "O'Brien", 'say "hi"', "a,b", "plain"]) == (
        '"First name",O\'Brien,"say ""hi""","a,b",plain\n')


# --- rosters as Canvas and Moodle really write them (tests/data/field/lms/*/README.md) ---------

def test_canvas_points_possible_100_scales_the_scores(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Canvas keeps an existing assignment's 100 points and takes 10 as 10/100: send 83.33."""
    course = field_course(tmp_path, "canvas_points_possible_100/canvas_points_100.csv")
    hand_in(course, EX1, "s2600001")
    grade(course, EX1, "s2600001", {"test_a": 6, "test_b": 4, "written": 0})
    dest = tmp_path / "canvas.csv"
    assert main(["--course", str(course), "export", "--format", "canvas", "--to", str(dest),
                 EX1]) == EXIT_OK
    assert dest.read_text(encoding="utf-8").splitlines() == [
        "Student,ID,SIS User ID,SIS Login ID,Section,Ex1: Ill-conditioned GD (120451)",
        "Points Possible,,,,,100",
        '"Okafor, Amara",5101,S2600001,s2600001,MATH 4420 Section 1,83.33',
        '"Müller, Lukas",5102,S2600002,s2600002,MATH 4420 Section 2,0']
    assert capsys.readouterr().out == (
        f"{EX1}: Canvas's Ex1: Ill-conditioned GD (120451) is worth 100 points, the notebook 12:"
        " scores scaled by 100/12\n")


def test_canvas_assignment_worth_nothing_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    roster = tmp_path / "zero.csv"
    roster.write_text((LMS_FIELD / "canvas_points_possible_100" / "canvas_points_100.csv")
                      .read_text(encoding="utf-8").replace("100.00", "0.00"), encoding="utf-8")
    course = field_course(tmp_path, roster)
    hand_in(course, EX1, "s2600001")
    grade(course, EX1, "s2600001", {"test_a": 6, "test_b": 4, "written": 0})
    dest = tmp_path / "canvas.csv"
    assert main(["--course", str(course), "export", "--format", "canvas", "--to", str(dest),
                 EX1]) == EXIT_ATTENTION
    assert dest.read_text(encoding="utf-8").splitlines()[0] == ",".join(CANVAS_IDENTITY)
    assert ("Canvas's Ex1: Ill-conditioned GD (120451) is worth 0 points, so no score can be "
            "scaled to it; left out. Set its points to 12 in Canvas") in capsys.readouterr().err


def test_moodle_rows_without_the_identifier_are_named_and_left_out(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An has no ID number: Moodle mapping by ID number would abort the whole import."""
    course = field_course(tmp_path, "moodle_grades_export/moodle_grades.csv")
    hand_in(course, EX1, "S2600001")
    grade(course, EX1, "S2600001", {"test_a": 6, "test_b": 4, "written": 0})
    dest = tmp_path / "moodle.csv"
    args = ["--course", str(course), "export", "--format", "moodle", "--to", str(dest), EX1]
    assert main([*args, "--moodle-id", "idnumber"]) == EXIT_ATTENTION
    assert [line.split(",")[2] for line in dest.read_text(encoding="utf-8").splitlines()] == [
        '"ID number"', "S2600001", "S2600003", "S2600004"]
    assert ("left out of moodle.csv, with no ID number: An Nguyen Van (an.nguyenvan). Moodle "
            "would stop the whole import at such a row") in capsys.readouterr().err
    assert main(args) == EXIT_OK  # by email address, which everyone has
    assert dest.read_text(encoding="utf-8").splitlines() == [
        '"First name","Last name","ID number",Institution,Department,"Email address",'
        '"Assignment: Ex1: Ill-conditioned GD"',
        "Amara,Okafor,S2600001,,,amara.okafor@students.example.edu,10",
        "Siobhán,O'Brien,S2600003,,,siobhan.obrien@students.example.edu,0",
        '"José María","García López",S2600004,,,jm.garcia@students.example.edu,0',
        'An,"Nguyen Van",,,,an.nguyenvan@students.example.edu,0']
