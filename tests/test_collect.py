"""LMS submission archives into submitted/: Canvas and Moodle names, nothing dropped silently."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from lms_course import EX1, add_assignments, import_sample_roster, new_course

from dlmath.cli import EXIT_ATTENTION, EXIT_OK, main
from dlmath.collect import CANVAS_FILE, canvas_name_key, collect_archive
from dlmath.course import CourseError

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


def test_moodle_archive_keeps_upload_times(tmp_path: Path) -> None:
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
    stamp = course / "submitted" / "S2600002" / EX1 / "timestamp.txt"
    assert stamp.read_text().startswith("2026-03-21 10:30:00")
    notes = sorted(r.note for r in result.rejected)
    assert notes[0].startswith("Moodle onlinetext submission")
    assert "no student named 'Hye-jin Park'" in notes[1]


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


def test_canvas_names() -> None:
    assert canvas_name_key("Núñez, José \"Pepe\"") == "núñezjosépepe"
    match = CANVAS_FILE.match("vanderbergliam_late_4714_77_ex1_ill_conditioned_gd.ipynb")
    assert (match["name"], match["late"], match["user_id"], match["filename"]) == (
        "vanderbergliam", "late", "4714", "ex1_ill_conditioned_gd.ipynb")
