"""Per-student variants (dlmath/variants) keep the grader right for every student.

For 50 student ids, under each one's own numbers: the reference scores full marks, every
mistake variant loses exactly the test cells it declares and every alternative none, and
answers hard-coded from another student's outputs lose points (while the same answers
hard-coded from the student's own outputs do not). These run the notebook's cells in
processes of their own (``mutation.run_per_student``); whole notebooks are graded by plain
nbgrader under each variant's own student id in ``test_variant_scores.py``, and a copied
notebook below.
"""

from __future__ import annotations

import nbformat
import numpy as np
import pytest
from mutation import notebook_cells, run_per_student

from dlmath.course import load_config, open_api
from dlmath.grading.pipeline import grade
from dlmath.variants.derive import student_key
from dlmath.variants.exercises import EX1, ex1_parameters
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


def overrides(variant: Variant) -> dict[str, str]:
    """The definitions ``variant`` replaces, its imports placed before the first of them."""
    if not variant.code:
        return {}
    imports, definitions = top_level_definitions(variant.code)
    first = next(iter(definitions))
    definitions[first] = "\n".join([*imports, definitions[first]])
    return definitions


def hard_coded_paths(key: str) -> str:
    """Task 2's answer as literal numbers: the paths the student with ``key`` computes."""
    problem = ex1_parameters(key)
    items = ", ".join(f"{lr!r}: np.array({problem.path(lr).tolist()!r})"
                      for lr in problem.learning_rates)
    return f"paths = {{{items}}}"


@pytest.fixture(scope="module")
def ex1_runs() -> tuple[list[Variant], dict[str, dict[str, frozenset[str]]]]:
    variants = load_variants(VARIANTS_ROOT, EX1)
    keys = [student_key(SECRET, s) for s in STUDENTS]
    runs = {}
    for key, previous in zip(keys, keys[-1:] + keys[:-1], strict=True):
        runs[key] = {v.name: overrides(v) for v in variants if v.kind != "blank"}
        runs[key]["copied from another student"] = {"paths": hard_coded_paths(previous)}
        runs[key]["copied from own outputs"] = {"paths": hard_coded_paths(key)}
    source = nbformat.read(REPO / "source" / EX1 / f"{EX1}.ipynb", as_version=4)
    return variants, run_per_student(notebook_cells(source), runs)


def test_the_students_numbers_differ(ex1_runs) -> None:  # noqa: ANN001 - the fixture's tuple
    _, results = ex1_runs
    assert len(results) == len(STUDENTS)
    assert len({ex1_parameters(key) for key in results}) >= 45


def test_the_reference_and_alternatives_score_full_marks_for_every_student(ex1_runs) -> None:  # noqa: ANN001
    variants, results = ex1_runs
    valid = ["reference", *(v.name for v in variants if v.kind == "alternative")]
    lost = {(ex1_parameters(key), name): sorted(failed[name])
            for key, failed in results.items() for name in valid if failed[name]}
    assert not lost, f"valid answers lose points under some students' numbers: {lost}"


def test_every_mistake_loses_its_points_for_every_student(ex1_runs) -> None:  # noqa: ANN001
    variants, results = ex1_runs
    wrong = {(ex1_parameters(key), v.name): (sorted(failed[v.name]), sorted(v.lost_cells))
             for key, failed in results.items() for v in variants
             if v.kind == "mistake" and failed[v.name] != v.lost_cells}
    assert not wrong, f"(numbers, mistake): (failed, declared): {wrong}"


def test_answers_copied_from_another_student_lose_points(ex1_runs) -> None:  # noqa: ANN001
    _, results = ex1_runs
    for key, failed in results.items():
        assert failed["copied from another student"] == {"test_paths"}, ex1_parameters(key)
        assert failed["copied from own outputs"] == frozenset(), ex1_parameters(key)


def test_a_copied_notebook_is_graded_against_the_copiers_numbers(released_course) -> None:  # noqa: ANN001
    """Whole notebooks through nbgrader's autograde: the reference with Task 2's answer
    hard-coded from the outputs of student "reference", handed in by "copier" (loses
    test_paths) and, as the control, hard-coded from its own outputs by "self_copier"."""
    config = load_config(released_course)
    for student, source in (("copier", "reference"), ("self_copier", "self_copier")):
        paths = hard_coded_paths(key_for(released_course, config, source))
        write_submission(released_course, student,
                         Variant(EX1, student, "mistake", "copied", code=f"{paths}\n"))
    assert key_for(released_course, config, "copier") != key_for(released_course, config,
                                                                 "reference")
    results = {r.student: r for r in grade(open_api(released_course), released_course, [EX1],
                                           students=["copier", "self_copier"])}
    lost = {s: sorted(c.name for c in r.cells if c.autograded and c.score < c.max_score)
            for s, r in results.items()}
    assert lost == {"copier": ["test_paths"], "self_copier": []}
    assert np.isclose(sum(c.score for c in results["copier"].cells if c.autograded), 9)
