"""The command line: help, exit codes, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlmath.cli.main import EXIT_ATTENTION, EXIT_USAGE, main
from dlmath.course import copy_course, repository_root


def test_help_lists_the_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in ("release", "grade", "feedback", "export", "demo"):
        assert command in out


def test_unknown_assignment_names_the_valid_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grade", "ex9_nonsense"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "unknown assignment 'ex9_nonsense'" in err and "ex1_ill_conditioned_gd" in err


def test_missing_course_is_explained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "source").mkdir()
    assert main(["--course", str(tmp_path), "release"]) == EXIT_USAGE
    assert "nbgrader_config.py" in capsys.readouterr().err


def test_grading_nothing_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course = copy_course(repository_root(), tmp_path / "course")
    assert main(["--course", str(course), "grade"]) == EXIT_ATTENTION
    assert "nothing to grade" in capsys.readouterr().err


def test_several_writers_on_sqlite_are_refused_with_the_way_out(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course = copy_course(repository_root(), tmp_path / "course")
    assert main(["--course", str(course), "grade", "--writers", "2"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "--writers 2 needs a database server" in err and "PostgreSQL" in err, err
    assert not (course / ".dlmath").exists(), "it started grading before refusing"
