"""What a student reads when a check fails, graded for real: the check, the input (or what kind
of hidden input), the expected value, a hint that names the function to fix, their own
traceback, and no folder of the grader's."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from dlmath.course import load_config
from dlmath.grading.pipeline import SubmissionResult
from dlmath.variants.ex2 import EX2, ex2_parameters
from dlmath.variants.secret import key_for


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
        "Check failed: max_stable_lr of a non-diagonal 3x3 Hessian",
        "  problem:  your function max_stable_lr raised ValueError: H must be positive definite",
        "  input:    max_stable_lr(...) on a hidden input: a float64 array of shape (3, 3)",
        "  expected: 0.25",
        "  hint:     use the eigenvalues, not the diagonal entries.",
        "",
        "Traceback (most recent call last):",
        # The raise is line 6 of the student's answer cell (the function alone, no docstring).
        '  File "<your notebook cell>", line 6, in max_stable_lr',
        '    raise ValueError("H must be positive definite")']),
    # hessian on an integer list: the check's own hint is shown.
    ("ex5_condition_numbers", "hessian_no_float_conversion", "test_hessian", [
        "Your code raised this error while a test called it:",
        "Check failed: hessian of the same function at the integer list [1, 2, 0]",
        "  problem:  your function hessian raised RuntimeError: only Tensors of floating point "
        "dtype can require gradients",
        "  input:    hessian(...) on a hidden input: a function, a list of 3 int",
        "  expected: [[-3.365884,  2.161209,  1.      ],",
        "             [ 2.161209,  1.682942,  1.      ],",
        "             [ 1.      ,  1.      ,  1.      ]]  (shape (3, 3))",
        "  hint:     convert x to float64 first: autograd cannot differentiate integer tensors."]),
    # The "expected [1, -2, 0.5], got [1, -2, 0.5]": now with every digit.
    ("ex3_gradient_checking", "ng_restores_with_round_off", "test_numerical_gradient", [
        "CheckFailed: Check failed: numerical_gradient(f, x)",
        "  problem:  argument 2 was modified in place",
        "  expected: [ 1. , -2. ,  0.5]  (shape (3,))",
        "  got:      [ 1.                 , -2.                 ,  0.49999999999999994]"
        "  (shape (3,))",
        "  hint:     perturb a copy of x (np.array(x, dtype=float)), never x itself."]),
    # A result of the wrong shape gets a shape hint.
    ("ex4_entropy_over_epochs", "entropy_keeps_dims", "test_entropy", [
        "CheckFailed: Check failed: entropy of the uniform distribution on 7 classes",
        "  problem:  wrong shape",
        "  expected: shape ()",
        "  got:      [1.94591]  (shape (1,))",
        "  hint:     a 1-D p gives a single number, not an array of shape (1,): sum over the last "
        "axis without keepdims."]),
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
    """A wrong condition_number gets a hint about condition_number, not about seeds; the check
    names the student's own first size and seed (their variant's, dlmath/variants/ex2.py)."""
    table = failure(released_course, EX2, "cond_eigenvalue_ratio", "test_spectrum_table")
    numbers = ex2_parameters(key_for(released_course, load_config(released_course),
                                     "cond_eigenvalue_ratio"))
    assert table[0] == ("CheckFailed: Check failed: condition number of the first row "
                        f"(n={numbers.sizes[0]}, xavier, seed={numbers.seed})")
    assert table[-1] == ("  hint:     condition_number is wrong (see test_condition_number); the "
                         "table uses it.")
