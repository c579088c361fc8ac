"""``dlmath variants show`` and the clear errors around per-student variants."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlmath.cli.main import EXIT_OK, EXIT_USAGE, main
from dlmath.course import copy_course, load_config, repository_root
from dlmath.variants.ex1 import EX1
from dlmath.variants.ex2 import EX2
from dlmath.variants.ex3 import EX3
from dlmath.variants.ex4 import EX4
from dlmath.variants.ex5 import EX5
from dlmath.variants.exercises import Parameters, parameters
from dlmath.variants.secret import ensure_secret, key_for


@pytest.fixture
def course(tmp_path: Path) -> Path:
    course = copy_course(repository_root(), tmp_path / "course")
    ensure_secret(course, load_config(course))
    return course


def show_alice(course: Path, capsys: pytest.CaptureFixture[str], assignment: str,
               ) -> tuple[str, Parameters]:
    """What ``dlmath variants show alice ASSIGNMENT`` prints, and alice's parameters."""
    assert main(["--course", str(course), "variants", "show", "alice", assignment]) == EXIT_OK
    return capsys.readouterr().out, parameters(assignment,
                                               key_for(course, load_config(course), "alice"))


def test_show_prints_the_students_numbers_and_expected_results(
        course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, problem = show_alice(course, capsys, EX1)
    lx, ly = problem.curvatures
    assert f"curvatures (lambda_x, lambda_y)  {lx:g}, {ly:g}" in out
    rates = ", ".join(f"{r:g}" for r in problem.learning_rates)
    assert f"LEARNING_RATES                   {rates}" in out
    steps = problem.expected()["steps to 0.001"][problem.learning_rates[1]]
    middle_row = next(line for line in out.splitlines()
                      if line.strip().startswith(f"{problem.learning_rates[1]:g} "))
    assert str(steps) in middle_row.split() and "never" in out
    main(["--course", str(course), "variants", "show", "bob", EX1])
    assert capsys.readouterr().out != out  # another student, other numbers


def test_show_prints_ex4s_predictions_and_curves_per_epoch(
        course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, problem = show_alice(course, capsys, EX4)
    label = ", ".join(map(str, problem.true_label))
    assert f"true class (TRUE_LABEL)      {problem.true_class} ({label})" in out
    first = ", ".join(f"{q:g}" for q in problem.predictions[0])
    assert f"PREDICTIONS at epoch {problem.epochs[0]}       {first}" in out
    # One row per epoch: epoch, q_true, entropy, cross-entropy and KL (equal: one-hot label).
    rows = [line.split() for line in out.splitlines()[-len(problem.epochs):]]
    expected = problem.expected()
    for i, (epoch, row) in enumerate(zip(problem.epochs, rows, strict=True)):
        assert [float(value) for value in row] == [
            epoch, problem.confidence[i],
            *(round(float(expected[name][i]), 3) for name in ("entropy", "cross_entropy", "kl"))]


def test_show_prints_the_students_example_network_for_ex3(
        course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, problem = show_alice(course, capsys, EX3)
    assert f"example network                   make_problem({problem.seed})" in out
    sizes = f"{problem.N}, {problem.D}, {problem.H}, {problem.C}"
    assert f"sizes N, D, H, C                  {sizes}" in out
    # One row per parameter: its shape, the gradient's norm and the reference's report.
    w1_row = next(line.split() for line in out.splitlines() if line.startswith("W1 "))
    norm = problem.expected()["gradient norm"]["W1"]
    assert w1_row[1:4] == [str(problem.D), "x", str(problem.H)]
    assert float(w1_row[4]) == pytest.approx(norm, rel=1e-5)
    assert 1e-12 < float(w1_row[5]) < 1e-9


def test_show_prints_ex5s_kappa_start_and_convergence_table(
        course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, problem = show_alice(course, capsys, EX5)
    assert f"x^2 + {problem.kappa:g} y^2" in out
    [start] = [line for line in out.splitlines() if line.strip().startswith("start X0")]
    assert start.endswith(f"  {problem.x0[0]:g}, {problem.x0[1]:g}")
    rows = {tuple(line.split()[:3]): line.split()[-1] for line in out.splitlines()
            if line.startswith(("f1 ", "f2 "))}
    assert rows[("f2", f"{problem.kappa:g}", "1/L")] == str(problem.iterations("1/L"))
    assert rows[("f2", f"{problem.kappa:g}", "optimal")] == str(problem.iterations("optimal"))
    assert rows[("f1", "1", "optimal")] == "1"


def test_show_says_which_assignments_have_no_variants(
        course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # An assignment the instructor added, without per-student variants.
    extra = course / "source" / "week9_extra"
    extra.mkdir()
    notebook = course / "source" / EX1 / f"{EX1}.ipynb"
    (extra / "week9_extra.ipynb").write_bytes(notebook.read_bytes())
    assert main(["--course", str(course), "variants", "show", "alice"]) == EXIT_OK
    out = capsys.readouterr().out
    assert f"{EX1}, student alice" in out
    assert "week9_extra: no per-student variants" in out
def test_show_prints_ex2s_sizes_seed_and_table(course: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    out, problem = show_alice(course, capsys, EX2)
    assert f"SIZES                         {', '.join(map(str, problem.sizes))}" in out
    assert f"SEED                          {problem.seed}" in out
    rows = [line.split() for line in out.splitlines()[-6:]]
    assert [row[:2] for row in rows] == [[str(n), s] for n in problem.sizes
                                         for s in ("xavier", "he")]
    kappa = [round(r["condition_number"]) for r in problem.expected()]
    assert [int(row[-2]) for row in rows] == kappa  # the column the written task quotes


def test_bad_ids_and_a_missing_secret_are_usage_errors(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course = copy_course(repository_root(), tmp_path / "course")
    assert main(["--course", str(course), "variants", "show", "<img>"]) == EXIT_USAGE
    assert "'<img>' is not a student id" in capsys.readouterr().err
    assert main(["--course", str(course), "variants", "show", "alice"]) == EXIT_USAGE
    assert "course secret" in capsys.readouterr().err


def test_variants_off_show_the_shared_numbers(course: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    with (course / "nbgrader_config.py").open("a") as config:
        config.write("\nc.StudentVariants.enabled = False\n")
    assert main(["--course", str(course), "variants", "show", "alice", EX1]) == EXIT_OK
    out = capsys.readouterr().out
    assert "variants are off" in out and "start X0                         1.8, 1.5" in out


def test_grading_without_the_course_secret_stops_before_any_work(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    course = copy_course(repository_root(), tmp_path / "course")
    submitted = course / "submitted" / "alice" / EX1
    submitted.mkdir(parents=True)
    (submitted / f"{EX1}.ipynb").write_bytes(
        (repository_root() / "release" / EX1 / f"{EX1}.ipynb").read_bytes())
    assert main(["--course", str(course), "grade", EX1]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "course secret" in err and "is missing" in err and "`dlmath release` creates it" in err
    assert not (course / "autograded" / "alice").exists()
