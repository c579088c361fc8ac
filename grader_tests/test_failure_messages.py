"""What a student reads when a check fails, graded for real: the check, the input (or what kind
of hidden input), the expected value, a hint that names the function to fix, their own
traceback, and no folder of the grader's."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from dlmath.grading import SubmissionResult


def failure(course: Path, assignment: str, student: str, cell: str) -> list[str]:
    """The lines of the error output of test cell ``cell`` in a graded submission."""
    graded = nbformat.read(course / "autograded" / student / assignment / f"{assignment}.ipynb",
                           as_version=4)
    [test] = [c for c in graded.cells if c.metadata.get("nbgrader", {}).get("grade_id") == cell]
    [error] = [o for o in test.outputs if o.output_type == "error"]
    return "\n".join(error.traceback).splitlines()


@pytest.mark.parametrize(("assignment", "student", "cell", "expected"), [
    # max_stable_lr raising "must be positive definite" on a matrix that is positive definite.
    ("ex1_ill_conditioned_gd", "max_lr_rejects_negative_entries", "test_max_stable_lr", [
        "Your code raised this error while a test called it:",
        "Check failed: max_stable_lr of the positive definite [[2, -1], [-1, 2]] (eigenvalues 1 and 3)",
        "  problem:  your function max_stable_lr raised ValueError: H must be positive definite",
        "  input:    max_stable_lr(...) on a hidden input: a float64 array of shape (2, 2)",
        "  expected: 0.6666666666666666",
        "  hint:     negative entries are allowed: only the eigenvalues must be > 0."]),
    # hessian on an integer list: the check's own hint is shown.
    ("ex5_condition_numbers", "hessian_no_float_conversion", "test_hessian", [
        "Your code raised this error while a test called it:",
        "Check failed: hessian of the same function at the integer list [1, 2, 0]",
        "  problem:  your function hessian raised RuntimeError: Only Tensors of floating point "
        "and complex dtype can require gradients",
        "  input:    hessian(...) on a hidden input: a function, a list of 3 int",
        "  expected: [[ 2.      ,  1.080605,  1.      ],",
    ]),
    # A wrong condition_number gets a hint about condition_number, not about seeds.
    ("ex2_eigenvalue_spectra", "cond_eigenvalue_ratio", "test_spectrum_table", [
        "CheckFailed: Check failed: condition number for n=30, xavier, seed=7"]),
    # Values that look equal at 6 digits are shown with all of them.
    ("ex3_gradient_checking", "ng_leaves_input_modified", "test_numerical_gradient", [
        "CheckFailed: Check failed: numerical_gradient(f, x)"]),
    # A result of the wrong shape gets a shape hint.
    ("ex4_entropy_over_epochs", "entropy_keeps_dims", "test_entropy", [
        "CheckFailed: Check failed: entropy of the uniform distribution on 7 classes"]),
])
def test_the_message_says_what_was_checked_on_what_and_why(
        assignment: str, student: str, cell: str, expected: list[str], released_course: Path,
        graded: dict[tuple[str, str], SubmissionResult]) -> None:
    lines = failure(released_course, assignment, student, cell)
    assert lines[:len(expected)] == expected
    text = "\n".join(lines)
    assert str(released_course) not in text and ".venv" not in text and "dlmath/" not in text


def test_the_hint_names_the_function_that_is_wrong(
        released_course: Path, graded: dict[tuple[str, str], SubmissionResult]) -> None:
    table = "\n".join(failure(released_course, "ex2_eigenvalue_spectra", "cond_eigenvalue_ratio",
                              "test_spectrum_table"))
    assert "hint:     condition_number is wrong (see test_condition_number)" in table
    assert "seed" not in table.split("hint:")[1]
    shape = "\n".join(failure(released_course, "ex4_entropy_over_epochs", "entropy_keeps_dims",
                              "test_entropy"))
    assert "hint:     a 1-D p gives a single number, not an array of shape (1,)" in shape
    assert "log k" not in shape


def test_values_that_look_equal_are_shown_in_full(
        released_course: Path, graded: dict[tuple[str, str], SubmissionResult]) -> None:
    lines = failure(released_course, "ex3_gradient_checking", "ng_leaves_input_modified",
                    "test_numerical_gradient")
    expected = next(line for line in lines if "expected:" in line)
    got = next(line for line in lines if "got:" in line)
    assert expected.split(":", 1)[1].strip() != got.split(":", 1)[1].strip()
    assert "0.49999999999999994" in got or "1.0000000000000002" in got or "e-" in got
