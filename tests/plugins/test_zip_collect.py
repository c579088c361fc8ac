"""LMS submission archives into submitted/: Canvas and Moodle names, nothing dropped silently."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from lms_course import (
    EX1,
    FIELD,
    LMS_FIELD,
    add_assignments,
    db_url,
    field_course,
    grade,
    import_sample_roster,
    new_course,
)
from nbgrader.api import Gradebook

from dlmath.cli.main import EXIT_ATTENTION, EXIT_OK, main
from dlmath.course import CourseError
from dlmath.grading.status import CHANGED, GRADED, NOT_COLLECTED, NOT_GRADED, grade_entries
from dlmath.plugins.zip_collect import collect_archive, entry_name, loose_key, moodle_name_key

NOTEBOOK = f"{EX1}.ipynb"
DOWNLOAD_TIME = (2026, 3, 22, 9, 0, 0)  # Canvas stamps every entry with the time it zipped


def make_zip(path: Path, entries: list[tuple[str, tuple[int, ...]]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for n, (name, when) in enumerate(entries):
            zf.writestr(zipfile.ZipInfo(name, when), f'{{"cells": [], "n": {n}}}')
    return path


@pytest.fixture
def canvas_course(tmp_path: Path) -> Path:
    course = new_course(tmp_path)
    add_assignments(course)
    import_sample_roster(course, "canvas_gradebook_export.csv")
    return course


CANVAS_ENTRIES = [
    f"doejane_4711_900001_{NOTEBOOK}",
    f"obrienaoife_LATE_4712_900002_{EX1}-1.ipynb",     # late, re-uploaded name
    "lefèvrechloé_4713_900003_Ex1 Chloé final.ipynb",  # renamed by the student
    f"núñezjosépepe_4999_900004_{NOTEBOOK}",           # unknown Canvas id: found by name
    f"stranger_5000_900005_{NOTEBOOK}",
    "doejane_4711_900006_notes.pdf",
    f"anon_Xy7qZ_900007_{NOTEBOOK}",
]


def test_canvas_archive(canvas_course: Path) -> None:
    archive = make_zip(canvas_course.parent / "submissions.zip",
                       [(name, DOWNLOAD_TIME) for name in CANVAS_ENTRIES])
    result = collect_archive(canvas_course, archive)
    assert result.assignment == EX1
    assert sorted(result.added) == ["aobrien", "clefevre", "jdoe", "jnunez"]
    assert result.late == ["aobrien"]
    for student in result.added:
        assert (canvas_course / "submitted" / student / EX1 / NOTEBOOK).is_file()
        # Every entry has the download time: no submission time is invented from it.
        assert not (canvas_course / "submitted" / student / EX1 / "timestamp.txt").exists()
    rejected = {Path(r.path).name: r.note for r in result.rejected}
    assert set(rejected) == {CANVAS_ENTRIES[4], CANVAS_ENTRIES[5], CANVAS_ENTRIES[6]}
    assert "no student with Canvas id 5000" in rejected[CANVAS_ENTRIES[4]]
    assert "not a notebook" in rejected[CANVAS_ENTRIES[5]]
    assert "anonymous grading" in rejected[CANVAS_ENTRIES[6]]
    assert any("renamed 'Ex1 Chloé final.ipynb'" in note for note in result.notes)
    assert result.needs_attention
    # The archive is kept.
    assert list((canvas_course / ".dlmath" / "lms" / "collect").glob("*/downloaded/*/archive/"
                                                                      "submissions.zip"))


def test_a_reuploaded_name_is_the_notebook_and_a_second_file_is_reported(
        canvas_course: Path) -> None:
    archive = make_zip(canvas_course.parent / "two.zip", [
        (f"obrienaoife_4712_900010_{EX1}-2.ipynb", DOWNLOAD_TIME),
        ("obrienaoife_4712_900011_scratch.ipynb", DOWNLOAD_TIME)])
    result = collect_archive(canvas_course, archive, EX1)
    assert result.added == ["aobrien"]
    assert [Path(r.path).name for r in result.rejected] == ["obrienaoife_4712_900011_scratch.ipynb"]
    assert "'scratch.ipynb' is not a notebook of this assignment" in result.rejected[0].note


def test_collecting_again_changes_nothing_and_never_overwrites(canvas_course: Path) -> None:
    archive = make_zip(canvas_course.parent / "s.zip",
                       [(CANVAS_ENTRIES[0], DOWNLOAD_TIME), (CANVAS_ENTRIES[1], DOWNLOAD_TIME)])
    collect_archive(canvas_course, archive)
    again = collect_archive(canvas_course, archive)
    assert sorted(again.unchanged) == ["aobrien", "jdoe"] and not again.added

    mine = canvas_course / "submitted" / "jdoe" / EX1 / NOTEBOOK
    mine.write_text("graded version, edited by hand")
    third = collect_archive(canvas_course, archive)
    assert third.conflicts == ["jdoe"] and mine.read_text() == "graded version, edited by hand"

    replaced = collect_archive(canvas_course, archive, replace=True)
    assert replaced.replaced == ["jdoe"] and mine.read_text() != "graded version, edited by hand"
    kept = replaced.backup / "jdoe" / EX1 / NOTEBOOK
    assert kept.read_text() == "graded version, edited by hand"


def test_moodle_archive_gives_times_only_when_asked(tmp_path: Path) -> None:
    """Moodle's entry times are when files were stored, in the server's zone: not by default."""
    course = new_course(tmp_path)
    add_assignments(course)
    import_sample_roster(course, "moodle_grades_export.csv")
    archive = make_zip(tmp_path / "moodle.zip", [
        (f"Aoife O'Brien_1041_assignsubmission_file_/{NOTEBOOK}", (2026, 3, 21, 10, 30, 0)),
        (f"Chloé Lefèvre_1042_assignsubmission_file_{NOTEBOOK}", (2026, 3, 19, 8, 0, 0)),
        ("Jane Doe_1040_assignsubmission_onlinetext_onlinetext.html", (2026, 3, 18, 8, 0, 0)),
        (f"Hye-jin Park_1043_assignsubmission_file_{NOTEBOOK}", (2026, 3, 18, 9, 0, 0)),
    ])
    result = collect_archive(course, archive, EX1)
    assert sorted(result.added) == ["S2600002", "S2600003"]
    assert not list((course / "submitted").rglob("timestamp.txt"))
    notes = sorted(r.note for r in result.rejected)
    assert notes[0].startswith("a Moodle onlinetext submission (typed into Moodle)")
    assert "no student named 'Hye-jin Park'" in notes[1]

    again = collect_archive(course, archive, EX1, moodle_time_zone="Europe/Berlin",
                            replace=True)
    assert sorted(again.replaced) == ["S2600002", "S2600003"]
    stamp = course / "submitted" / "S2600002" / EX1 / "timestamp.txt"
    assert stamp.read_text() == "2026-03-21 09:30:00"  # 10:30 in Berlin; nbgrader writes UTC
    with pytest.raises(CourseError, match="'Mars/Olympus' is no time zone"):
        collect_archive(course, archive, EX1, moodle_time_zone="Mars/Olympus")


def test_cli_reports_every_file_not_collected(
        canvas_course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    archive = make_zip(canvas_course.parent / "s.zip",
                       [(name, DOWNLOAD_TIME) for name in CANVAS_ENTRIES])
    assert main(["--course", str(canvas_course), "collect", str(archive)]) == EXIT_ATTENTION
    captured = capsys.readouterr()
    assert "4 added, 0 unchanged, 0 replaced, 0 left alone" in captured.out
    assert captured.err.count("NOT COLLECTED") == 3
    clean = make_zip(canvas_course.parent / "clean.zip", [(CANVAS_ENTRIES[0], DOWNLOAD_TIME)])
    assert main(["--course", str(canvas_course), "collect", str(clean)]) == EXIT_OK


def test_an_archive_of_nothing_known_needs_the_assignment(canvas_course: Path) -> None:
    archive = make_zip(canvas_course.parent / "x.zip", [("doejane_4711_1_essay.docx",
                                                         DOWNLOAD_TIME)])
    with pytest.raises(CourseError, match="--assignment"):
        collect_archive(canvas_course, archive)


def test_names_as_the_lms_writes_them() -> None:
    # Canvas keeps letters and digits of the sortable name; Moodle drops ' " & < > | : ` \\ /.
    assert loose_key("Núñez, José \"Pepe\"") == loose_key("núñezjosépepe")
    assert moodle_name_key("Siobhán O'Brien") == moodle_name_key("siobhán  OBrien")
    assert moodle_name_key("Ann_Lee") == moodle_name_key("Ann Lee")
    # rubyzip writes UTF-8 names without the zip's UTF-8 flag; Python reads them as cp437.
    info = zipfile.ZipInfo("m\u00fcllerlukas_5102_1_x.ipynb".encode().decode("cp437"))
    assert entry_name(info) == "müllerlukas_5102_1_x.ipynb"


# --- the archives Canvas and Moodle really write (tests/data/field/*/README.md) ----------------

CANVAS_ZIPS = LMS_FIELD / "canvas_submissions_zip"
CANVAS_ROSTER = "canvas_gradebook_export/canvas_gradebook_export.csv"
MOODLE_FOLDERS = LMS_FIELD / "moodle_submissions_folders" / "MATH4420-Ex1-1234-folders.zip"


def entries(archive: Path) -> dict[str, bytes]:
    """The archive's files by the names the LMS gave them."""
    with zipfile.ZipFile(archive) as zf:
        return {entry_name(info): zf.read(info) for info in zf.infolist()}


def handed_in(course: Path, student: str) -> bytes:
    return (course / "submitted" / student / EX1 / NOTEBOOK).read_bytes()


def statuses(course: Path) -> dict[str, tuple[str, float | None]]:
    """Each student's ex1 status and score, as every export sees them."""
    with Gradebook(db_url(course)) as gb:
        return {e.student: (e.status, e.score) for e in grade_entries(gb, course, [EX1])}


@pytest.mark.parametrize("archive", ["math-4420-ex1-ill-conditioned-gd_submissions.zip",
                                     "math-4420-ex1-small-fast_submissions.zip"])
def test_canvas_download_by_user_id_never_by_the_zip_clock(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], archive: str) -> None:
    """Entries 24 s apart or all in one second: the same placements, and no submission time
    (the due date is a week before the zip was built, so a time taken from it costs 70%)."""
    course = field_course(tmp_path, CANVAS_ROSTER)
    zip_path = CANVAS_ZIPS / archive
    assert main(["--course", str(course), "collect", str(zip_path)]) == EXIT_ATTENTION
    out, err = capsys.readouterr()
    files = entries(zip_path)
    assert {s: handed_in(course, s) for s in ("s2600001", "s2600002", "s2600003", "s2600004",
                                              "s2600005")} == {
        "s2600001": files["okaforamara_5101_90001_ex1_ill_conditioned_gd.ipynb"],
        "s2600002": files["müllerlukas_LATE_5102_90002_ex1_ill_conditioned_gd.ipynb"],
        "s2600003": files["obriensiobhán_5103_90003_Ex1 Siobhán final.ipynb"],
        "s2600004": files["garcíalópezjosémaría_5104_90004_ex1_ill_conditioned_gd-1.ipynb"],
        "s2600005": files["nguyenvanan_5105_90005_ex1_ill_conditioned_gd.ipynb"]}
    assert not list((course / "submitted").rglob("timestamp.txt"))
    assert "5 added, 0 unchanged, 0 replaced, 0 left alone" in out
    assert ("Lukas Müller (s2600002): LATE in Canvas; the archive holds no submission time, so "
            "no late penalty is computed here") in out
    assert ("Siobhán O'Brien (s2600003): renamed 'Ex1 Siobhán final.ipynb' to "
            "ex1_ill_conditioned_gd.ipynb") in out
    assert ("skipped studenttest_5199_90099_ex1_ill_conditioned_gd.ipynb: Canvas's test student"
            " (Student View), no student") in out
    assert err.splitlines() == [
        "NOT COLLECTED: nguyenvanan_5105_90006_notes.pdf, An Nguyen Van (s2600005): not a "
        "notebook (notes.pdf)",
        "NOT COLLECTED: zhangwei_LATE_5106_text.html, Wei Zhang (wei.zhang@students.example.edu)"
        ": a Canvas text entry (typed into Canvas), not an uploaded notebook",
        "Nothing collected for Wei Zhang (wei.zhang@students.example.edu): exports leave their "
        "grade out ('not collected') until a file is in "
        "submitted/<student>/ex1_ill_conditioned_gd/."]
    # Wei handed in a text entry: "not collected", never a 0.
    status, score = statuses(course)["wei.zhang@students.example.edu"]
    assert (status, score) == (NOT_COLLECTED, None)


def test_canvas_late_mark_gives_a_penalty_only_when_the_instructor_says_how(
        tmp_path: Path) -> None:
    course = field_course(tmp_path, CANVAS_ROSTER)
    result = collect_archive(course, CANVAS_ZIPS / "math-4420-ex1-ill-conditioned-gd_submissions"
                             ".zip", canvas_late_days=2)
    assert result.late == ["s2600002"]
    stamps = {p.parts[-3]: p.read_text() for p in (course / "submitted").rglob("timestamp.txt")}
    assert stamps == {"s2600002": "2026-03-22 23:59:00"}  # the due date (UTC) + 2 days
    assert any("LATE in Canvas: counted as 2 days late" in note for note in result.notes)


def test_canvas_second_download_after_grading(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Amara resubmitted after the due date (new attachment id, LATE); An's file is unchanged."""
    course = field_course(tmp_path, CANVAS_ROSTER)
    collect_archive(course, CANVAS_ZIPS / "math-4420-ex1-ill-conditioned-gd_submissions.zip")
    for student in ("s2600001", "s2600005"):
        grade(course, EX1, student, {"test_a": 6, "test_b": 4, "written": 2})
    second = CANVAS_ZIPS / "math-4420-ex1-second-download_submissions.zip"
    assert main(["--course", str(course), "collect", str(second)]) == EXIT_ATTENTION
    out, err = capsys.readouterr()
    assert "0 added, 1 unchanged, 0 replaced, 1 left alone" in out
    assert "Amara Okafor (s2600001): LATE in Canvas" in out
    assert err.startswith("NOT REPLACED: submitted/s2600001/ex1_ill_conditioned_gd (Amara "
                          "Okafor (s2600001)) differs from the archive's")
    assert statuses(course)["s2600001"] == (GRADED, 12)

    assert main(["--course", str(course), "collect", "--replace", str(second)]) == EXIT_OK
    assert "0 added, 1 unchanged, 1 replaced, 0 left alone" in capsys.readouterr().out
    assert handed_in(course, "s2600001") == entries(second)[
        "okaforamara_LATE_5101_90101_ex1_ill_conditioned_gd.ipynb"]
    assert statuses(course)["s2600001"][0] == CHANGED
    assert statuses(course)["s2600005"] == (GRADED, 12)


def test_canvas_two_notebooks_of_one_student_are_both_kept_and_neither_guessed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The solved notebook and a blank " (1)" copy, 6 s apart in the zip: nothing says which
    one is the submission, so neither is taken, both are kept, and nothing is exported."""
    course = field_course(tmp_path, CANVAS_ROSTER)
    archive = LMS_FIELD / "canvas_two_notebooks_zip" / "math-4420-ex1-two-notebooks_submissions.zip"
    assert main(["--course", str(course), "collect", str(archive)]) == EXIT_ATTENTION
    out, err = capsys.readouterr()
    assert "0 added, 0 unchanged, 0 replaced, 0 left alone" in out
    assert not (course / "submitted").exists()
    lines = err.splitlines()
    assert [line.split(":")[1].strip() for line in lines[:2]] == [
        "okaforamara_5101_90001_ex1_ill_conditioned_gd.ipynb, Amara Okafor (s2600001)",
        "okaforamara_5101_90007_ex1_ill_conditioned_gd (1).ipynb, Amara Okafor (s2600001)"]
    assert all("one of 2 files for ex1_ill_conditioned_gd.ipynb "
               "('ex1_ill_conditioned_gd.ipynb', 'ex1_ill_conditioned_gd (1).ipynb'), and nothing"
               " tells which is the submission" in line for line in lines[:2])
    kept = course / lines[0].split("all are kept in ")[1].split("/;")[0]
    assert sorted(p.name for p in kept.iterdir()) == sorted(entries(archive))
    assert lines[2].startswith("Nothing collected for Amara Okafor (s2600001)")
    assert statuses(course)["s2600001"][0] == NOT_COLLECTED
    # The instructor copies the solved one into place: then it is an ordinary submission.
    folder = course / "submitted" / "s2600001" / EX1
    folder.mkdir(parents=True)
    shutil.copy(kept / "okaforamara_5101_90001_ex1_ill_conditioned_gd.ipynb", folder / NOTEBOOK)
    assert statuses(course)["s2600001"][0] == NOT_GRADED


def test_canvas_re_upload_suffix_and_attachment_id_take_the_latest(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """jupyter/nbgrader#724: Petra's first version (99001) and the corrected -1 (99007)."""
    case = FIELD / "cases" / "canvas_two_versions"
    course = field_course(tmp_path, case / "canvas_roster.csv")
    archive = case / "canvas-ex1-submissions.zip"
    assert main(["--course", str(course), "collect", str(archive)]) == EXIT_OK
    out = capsys.readouterr().out
    files = entries(archive)
    assert handed_in(course, "pnovak") == files[
        "novakpetra_5301_99007_ex1_ill_conditioned_gd-1.ipynb"]
    assert handed_in(course, "ohaddad") == files[
        "haddadomar_5302_99003_ex1_ill_conditioned_gd.ipynb"]
    assert ("Petra Novak (pnovak): took 'ex1_ill_conditioned_gd-1.ipynb' (Canvas attachment "
            "99007), the latest of 2 uploads") in out
    assert ("skipped novakpetra_5301_99001_ex1_ill_conditioned_gd.ipynb: an earlier upload of "
            "Petra Novak (pnovak) (Canvas attachment 99001), superseded by "
            "'ex1_ill_conditioned_gd-1.ipynb' (99007)") in out


def test_canvas_test_student_by_its_roster_id_whatever_its_name(tmp_path: Path) -> None:
    """Canvas names the test student in the course's language; the roster gave its id."""
    course = field_course(tmp_path, CANVAS_ROSTER)
    archive = make_zip(tmp_path / "t.zip", [(f"studenttestschuler_5199_90099_{NOTEBOOK}",
                                             DOWNLOAD_TIME)])
    result = collect_archive(course, archive, EX1)
    assert not result.rejected and [p.note for p in result.ignored] == [
        "Canvas's test student (Student View), no student"]


def test_a_student_with_no_notebook_at_all(canvas_course: Path) -> None:
    archive = make_zip(canvas_course.parent / "pdf.zip", [
        ("doejane_4711_900009_answers.pdf", DOWNLOAD_TIME),
        (f"obrienaoife_4712_900010_{NOTEBOOK}", DOWNLOAD_TIME)])
    result = collect_archive(canvas_course, archive, EX1)
    assert result.added == ["aobrien"] and result.not_collected == ["jdoe"]
    assert result.rejected[0].note == "not a notebook (answers.pdf)"


def test_canvas_upload_order_must_agree_to_pick_one(canvas_course: Path) -> None:
    """A -1 copy with the older attachment id: the orders disagree, so neither is taken."""
    archive = make_zip(canvas_course.parent / "odd.zip", [
        (f"doejane_4711_900009_{NOTEBOOK}", DOWNLOAD_TIME),
        (f"doejane_4711_900001_{EX1}-1.ipynb", DOWNLOAD_TIME)])
    result = collect_archive(canvas_course, archive, EX1)
    assert not result.added and result.not_collected == ["jdoe"]
    assert all("nothing tells which is the submission" in r.note for r in result.rejected)


def test_canvas_anonymous_grading(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course = field_course(tmp_path, CANVAS_ROSTER)
    archive = LMS_FIELD / "canvas_anonymous_zip" / "math-4420-ex1-anon_submissions.zip"
    assert main(["--course", str(course), "collect", str(archive)]) == EXIT_ATTENTION
    err = capsys.readouterr().err
    assert err.count("Canvas's anonymous grading hides whose it is") == 2
    # Two students' work is somewhere in the archive: nobody gets a 0 for ex1.
    assert {status for status, _ in statuses(course).values()} == {NOT_COLLECTED}


def test_moodle_folders_with_cleaned_names_and_a_subfolder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Roster: the two students of moodle_grades_export_feedback; Moodle wrote "Siobhán OBrien"
    for Siobhán O'Brien. The two other folders are no student of that roster."""
    course = field_course(tmp_path, "moodle_grades_export_feedback/"
                                    "moodle_grades_real_pct_feedback.csv")
    assert main(["--course", str(course), "collect", str(MOODLE_FOLDERS)]) == EXIT_ATTENTION
    out, err = capsys.readouterr()
    files = entries(MOODLE_FOLDERS)
    assert handed_in(course, "S2600001") == files[
        "Amara Okafor_1234567_assignsubmission_file_/ex1_ill_conditioned_gd.ipynb"]
    assert handed_in(course, "S2600003") == files[
        "Siobhán OBrien_1234568_assignsubmission_file_/Ex1 final.ipynb"]
    assert "Siobhán O'Brien (S2600003): renamed 'Ex1 final.ipynb'" in out
    assert not list((course / "submitted").rglob("timestamp.txt"))
    assert sorted(line.split(":")[1].strip() for line in err.splitlines()) == [
        "An Nguyen Van_1234570_assignsubmission_file_/drafts/ex1_ill_conditioned_gd.ipynb",
        "An Nguyen Van_1234570_assignsubmission_onlinetext_/onlinetext.html",
        "José María García López_1234569_assignsubmission_file_/ex1_ill_conditioned_gd.ipynb",
        "José María García López_1234569_assignsubmission_file_/notes.pdf"]
    assert err.count("no student named 'José María García López' in the gradebook") == 2


def test_moodle_folders_every_student_known(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course = field_course(tmp_path, "moodle_grades_export/moodle_grades.csv")
    assert main(["--course", str(course), "collect", str(MOODLE_FOLDERS)]) == EXIT_ATTENTION
    out, err = capsys.readouterr()
    assert "4 added" in out
    assert handed_in(course, "an.nguyenvan") == entries(MOODLE_FOLDERS)[
        "An Nguyen Van_1234570_assignsubmission_file_/drafts/ex1_ill_conditioned_gd.ipynb"]
    assert "An Nguyen Van (an.nguyenvan): from the subfolder drafts/" in out
    assert err.splitlines() == [
        "NOT COLLECTED: An Nguyen Van_1234570_assignsubmission_onlinetext_/onlinetext.html, An "
        "Nguyen Van (an.nguyenvan): a Moodle onlinetext submission (typed into Moodle), not an "
        "uploaded notebook",
        "NOT COLLECTED: José María García López_1234569_assignsubmission_file_/notes.pdf, José "
        "María García López (S2600004): not a notebook (notes.pdf)"]


def test_moodle_last_name_first_display(tmp_path: Path) -> None:
    course = field_course(tmp_path, "moodle_grades_export/moodle_grades.csv")
    archive = make_zip(tmp_path / "m.zip", [
        (f"Okafor Amara_1234567_assignsubmission_file_/{NOTEBOOK}", DOWNLOAD_TIME),
        (f"OBrien Siobhán_1234568_assignsubmission_file_{NOTEBOOK}", DOWNLOAD_TIME)])
    assert sorted(collect_archive(course, archive, EX1).added) == ["S2600001", "S2600003"]


def test_moodle_group_and_blind_marking(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course = field_course(tmp_path, "moodle_grades_export/moodle_grades.csv")
    archive = LMS_FIELD / "moodle_submissions_team_blind" / "MATH4420-Ex1-team-blind.zip"
    assert main(["--course", str(course), "collect", str(archive)]) == EXIT_ATTENTION
    assert capsys.readouterr().err.splitlines() == [
        "NOT COLLECTED: Group A-Amara Okafor_1234567_assignsubmission_file_/"
        "ex1_ill_conditioned_gd.ipynb: a Moodle group submission of 'Group A', downloaded under "
        "Amara Okafor (S2600001): nbgrader grades each student, so copy it into "
        "submitted/<student>/ex1_ill_conditioned_gd/ of every member",
        "NOT COLLECTED: Participant_1234568_assignsubmission_file_/ex1_ill_conditioned_gd.ipynb:"
        " Moodle blind marking hides whose it is (Participant 1234568): reveal student "
        "identities in the assignment, download again and collect that archive"]
    assert {status for status, _ in statuses(course).values()} == {NOT_COLLECTED}


@pytest.mark.parametrize(("entry", "owner"), [
    # Inside Siobhán's Moodle folder, a file named like Amara's Moodle file stays Siobhán's.
    ("Siobhán OBrien_1234568_assignsubmission_file_/Amara Okafor_1234567_assignsubmission_file_"
     f"{NOTEBOOK}", "s2600003"),
    # The same without folders: Moodle's prefix ends at its first "_".
    ("Siobhán OBrien_1234568_assignsubmission_file_Amara Okafor_1234567_assignsubmission_file_"
     f"{NOTEBOOK}", "s2600003"),
    # A Canvas file named like Amara's Canvas entry, uploaded by Lukas.
    (f"müllerlukas_5102_90002_okaforamara_5101_90001_{NOTEBOOK}", "s2600002"),
])
def test_a_file_name_never_decides_whose_a_file_is(
        tmp_path: Path, entry: str, owner: str) -> None:
    course = new_course(tmp_path)
    add_assignments(course)
    import_sample_roster(course, LMS_FIELD / CANVAS_ROSTER)  # Canvas ids and names
    archive = make_zip(tmp_path / "a.zip", [(entry, DOWNLOAD_TIME)])
    result = collect_archive(course, archive, EX1)
    assert result.added == [owner] and not result.rejected


@pytest.mark.parametrize(("entry", "reason"), [
    # A Canvas name that holds two students' ids (a display name made to look like an entry).
    (f"x_5101_1_y_5102_90002_{NOTEBOOK}", "holds the Canvas ids of several students"),
    # Canvas writes no folders; a folder that is not Moodle's names nobody.
    (f"okaforamara_5101_90001_x/{NOTEBOOK}", "in the folder okaforamara_5101_90001_x/, which is "
                                             "no Moodle submission folder"),
])
def test_an_entry_that_could_be_two_students_is_refused(
        tmp_path: Path, entry: str, reason: str) -> None:
    course = field_course(tmp_path, CANVAS_ROSTER)
    result = collect_archive(course, make_zip(tmp_path / "a.zip", [(entry, DOWNLOAD_TIME)]), EX1)
    assert not result.added and reason in result.rejected[0].note


def test_plain_nbgrader_zip_collect_uses_the_course_plugins(tmp_path: Path) -> None:
    """`nbgrader zip_collect` with the course's nbgrader_config.py, as an instructor runs it."""
    case = FIELD / "cases" / "canvas_two_versions"
    course = field_course(tmp_path, case / "canvas_roster.csv")
    archive_dir = course / "downloaded" / EX1 / "archive"
    archive_dir.mkdir(parents=True)
    shutil.copy(case / "canvas-ex1-submissions.zip", archive_dir)
    run = subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "zip_collect", EX1],
                         cwd=course, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert handed_in(course, "pnovak") == entries(case / "canvas-ex1-submissions.zip")[
        "novakpetra_5301_99007_ex1_ill_conditioned_gd-1.ipynb"]
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["ohaddad", "pnovak"]
    assert not list((course / "submitted").rglob("timestamp.txt"))
