"""Per-student variants (dlmath/variants) keep the grader right for every student.

For 50 student ids and every exercise with variants, under each student's own numbers: the
reference scores full marks, every mistake variant loses exactly the test cells it declares
and every alternative none, and answers hard-coded from another student's outputs lose points
(while the same answers hard-coded from the student's own outputs do not). These run the
notebook's cells in processes of their own (``mutation.run_per_student``); a copied notebook is
graded whole by nbgrader's autograde below.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from copies import COPIES
from mutation import notebook_cells, run_per_student
from nbgrader.api import Gradebook

from dlmath.course import load_config, open_api
from dlmath.grading.pipeline import grade, read_scores
from dlmath.variants.derive import student_key
from dlmath.variants.exercises import PARAMETERS, parameters
from dlmath.variants.secret import key_for
from grader_tests.students import (
    REPO,
    VARIANTS_ROOT,
    Variant,
    load_variants,
    top_level_definitions,
    write_submission,
)

SECRET = b"the harness's own course secret"
STUDENTS = [f"s{n:07d}" for n in range(50)]
Runs = tuple[str, list[Variant], dict[str, dict[str, frozenset[str]]]]


def test_every_exercise_with_variants_has_a_copy_to_catch() -> None:
    assert sorted(COPIES) == sorted(PARAMETERS)


def overrides(variant: Variant) -> dict[str, str]:
    """The definitions ``variant`` replaces, its imports placed before the first of them."""
    if not variant.code:
        return {}
    imports, definitions = top_level_definitions(variant.code)
    first = next(iter(definitions))
    definitions[first] = "\n".join([*imports, definitions[first]])
    return definitions


@pytest.fixture(scope="module", params=sorted(COPIES))
def runs(request: pytest.FixtureRequest) -> Runs:
    """assignment, its variants, and per student key: run label -> the test cells that fail."""
    assignment = request.param
    copy = COPIES[assignment]
    variants = load_variants(VARIANTS_ROOT, assignment)
    keys = [student_key(SECRET, s) for s in STUDENTS]
    student_runs = {}
    for key, previous in zip(keys, keys[-1:] + keys[:-1], strict=True):
        student_runs[key] = {v.name: overrides(v) for v in variants if v.kind != "blank"}
        student_runs[key]["copied from another student"] = copy.answer(previous)
        student_runs[key]["copied from own outputs"] = copy.answer(key)
    source = nbformat.read(REPO / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    return assignment, variants, run_per_student(notebook_cells(source), student_runs)


def test_the_students_numbers_differ(runs: Runs) -> None:
    assignment, _, results = runs
    assert len(results) == len(STUDENTS)
    assert len({repr(parameters(assignment, key)) for key in results}) >= 45


def test_the_reference_and_alternatives_score_full_marks_for_every_student(runs: Runs) -> None:
    assignment, variants, results = runs
    valid = ["reference", *(v.name for v in variants if v.kind == "alternative")]
    lost = {(repr(parameters(assignment, key)), name): sorted(failed[name])
            for key, failed in results.items() for name in valid if failed[name]}
    assert not lost, f"valid answers lose points under some students' numbers: {lost}"


def test_every_mistake_loses_its_points_for_every_student(runs: Runs) -> None:
    assignment, variants, results = runs
    wrong = {(repr(parameters(assignment, key)), v.name): (sorted(failed[v.name]),
                                                           sorted(v.lost_cells))
             for key, failed in results.items() for v in variants
             if v.kind == "mistake" and failed[v.name] != v.lost_cells}
    assert not wrong, f"(numbers, mistake): (failed, declared): {wrong}"


def test_answers_copied_from_another_student_lose_points(runs: Runs) -> None:
    assignment, _, results = runs
    loses = COPIES[assignment].loses
    for key, failed in results.items():
        numbers = parameters(assignment, key)
        assert failed["copied from another student"] == loses, numbers
        assert failed["copied from own outputs"] == frozenset(), numbers


def hand_in_copy(course: Path, assignment: str, student: str, copied_from: str) -> None:
    """Hand in, as ``student``, the reference with ``assignment``'s copied answer hard-coded
    from the outputs of ``copied_from`` (``grader_tests/copies.py``)."""
    answer = COPIES[assignment].answer(key_for(course, load_config(course), copied_from))
    write_submission(course, student, Variant(assignment, student, "mistake", "copied",
                                              code="\n".join(answer.values()) + "\n"))


@pytest.mark.parametrize("assignment", sorted(COPIES))
def test_a_copied_notebook_is_graded_against_the_copiers_numbers(released_course,  # noqa: ANN001
                                                                 assignment: str) -> None:
    """Whole notebooks through nbgrader's autograde: the reference with the copied answer
    hard-coded from the outputs of student "reference", handed in by "copier" (loses the
    copy's cells) and, as the control, hard-coded from its own outputs by "self_copier"."""
    config = load_config(released_course)
    copy = COPIES[assignment]
    for student, source in (("copier", "reference"), ("self_copier", "self_copier")):
        hand_in_copy(released_course, assignment, student, source)
    assert key_for(released_course, config, "copier") != key_for(released_course, config,
                                                                 "reference")
    results = {r.student: r for r in grade(open_api(released_course), released_course,
                                           [assignment], students=["copier", "self_copier"])}
    lost = {s: frozenset(c.name for c in r.cells if c.autograded and c.score < c.max_score)
            for s, r in results.items()}
    assert lost == {"copier": copy.loses, "self_copier": frozenset()}


def test_plain_nbgrader_autograde_grades_a_copy_against_the_copiers_numbers(
        released_course) -> None:  # noqa: ANN001
    """The `nbgrader autograde` command, with the course's config and nothing of dlmath's
    command line: the student id nbgrader grades decides the numbers."""
    assignment = "ex1_ill_conditioned_gd"
    hand_in_copy(released_course, assignment, "plain_copier", "reference")
    nbgrader = [sys.executable, "-m", "nbgrader", "autograde", assignment,
                "--student", "plain_copier", "--force"]
    done = subprocess.run(nbgrader, cwd=released_course, capture_output=True, text=True,
                          timeout=900, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    with Gradebook(open_api(released_course).coursedir.db_url) as gradebook:
        lost = {c.name for c in read_scores(gradebook, assignment, "plain_copier")
                if c.autograded and c.score < c.max_score}
    assert lost == COPIES[assignment].loses
