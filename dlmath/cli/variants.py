"""``dlmath variants show STUDENT [ASSIGNMENT ...]``: a student's numbers and expected results.

For the TA grading a written answer against the student's own numbers (``dlmath/variants``).
Exit codes as everywhere in dlmath: 0 shown, 2 usage or setup error (an invalid student id, a
missing course secret).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from dlmath.cli.common import EXIT_OK, selected_assignments
from dlmath.course import STUDENT_ID, CourseError, load_config
from dlmath.reports.tables import format_table
from dlmath.variants import VariantError
from dlmath.variants.exercises import PARAMETERS, parameters
from dlmath.variants.secret import key_for, settings


def show(course_root: Path, student: str, assignments: list[str]) -> str:
    """The text ``dlmath variants show`` prints: per assignment, the numbers and a table of the
    expected results (assignments without variants say so)."""
    config = load_config(course_root)
    try:
        key = key_for(course_root, config, student)
    except VariantError as error:
        raise CourseError(str(error)) from None
    shared = "" if settings(config).enabled else " (variants are off: everybody's numbers)"
    blocks = []
    for assignment in assignments:
        if assignment not in PARAMETERS:
            blocks.append(f"{assignment}: no per-student variants (the same numbers for "
                          "everybody, as in the notebook)")
            continue
        problem = parameters(assignment, key)
        width = max(len(name) for name, _ in problem.numbers())
        lines = [f"{assignment}, student {student}{shared}",
                 *(f"  {name.ljust(width)}  {value}" for name, value in problem.numbers()),
                 "expected results:",
                 format_table(*problem.results_table())]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def cmd_variants_show(args: argparse.Namespace) -> int:
    """Print a student's numbers and the expected results of each selected assignment."""
    if not STUDENT_ID.fullmatch(args.student):
        raise CourseError(f"{args.student!r} is not a student id (letters, digits and "
                          ". _ @ + -, at most 100)")
    print(show(args.course, args.student, selected_assignments(args.course, args.assignments)))
    return EXIT_OK


def add_variants_command(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Register ``dlmath variants show`` with the main parser's ``add``."""
    variants = add("variants", None, "Per-student variants: each student's own numbers.")
    commands = variants.add_subparsers(dest="variants_command", required=True,
                                       metavar="COMMAND")
    show_parser = commands.add_parser(
        "show", help="Print a student's numbers and the expected results (to grade a written "
                     "answer against them).")
    show_parser.add_argument("student", metavar="STUDENT", help="the student's id")
    show_parser.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                             help="default: every assignment")
    show_parser.set_defaults(func=cmd_variants_show)
