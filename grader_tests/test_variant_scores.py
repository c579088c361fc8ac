"""Each simulated submission gets exactly the per-cell scores its variant file declares.

The reference gets full marks, the blank release gets zero, each mistake loses exactly
the test cells it names (and keeps the others), and each alternative loses nothing.
"""

from __future__ import annotations

import pytest

from dlmath.grading.pipeline import SubmissionResult
from grader_tests.students import ASSIGNMENTS, VARIANTS_ROOT, Variant, all_variants, load_variants

MIN_MISTAKES, MIN_ALTERNATIVES = 10, 3


@pytest.mark.parametrize("variant", all_variants(), ids=lambda v: f"{v.assignment}:{v.name}")
def test_variant_scores_as_declared(variant: Variant,
                                    graded: dict[tuple[str, str], SubmissionResult]) -> None:
    result = graded[(variant.assignment, variant.name)]
    assert result.ok, f"{variant.name} was not graded:\n{result.error}"
    auto_cells = {c.name: c for c in result.cells if c.autograded}
    unknown = variant.lost_cells - set(auto_cells) - {"*"}
    assert not unknown, f"{variant.path} names test cells that do not exist: {sorted(unknown)}"
    expected = {name: 0.0 if ("*" in variant.lost_cells or name in variant.lost_cells)
                else cell.max_score for name, cell in auto_cells.items()}
    got = {name: cell.score for name, cell in auto_cells.items()}
    assert got == expected, f"{variant.kind} {variant.name!r}: {variant.description}"


def test_each_exercise_is_worth_10_auto_and_2_manual_points(
        graded: dict[tuple[str, str], SubmissionResult]) -> None:
    for assignment in ASSIGNMENTS:
        cells = graded[(assignment, "reference")].cells
        assert sum(c.max_score for c in cells if c.autograded) == 10, assignment
        assert sum(c.max_score for c in cells if not c.autograded) == 2, assignment


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_enough_mistakes_and_alternatives(assignment: str) -> None:
    kinds = [v.kind for v in load_variants(VARIANTS_ROOT, assignment)]
    assert kinds.count("mistake") >= MIN_MISTAKES, f"{assignment}: add mistake variants"
    assert kinds.count("alternative") >= MIN_ALTERNATIVES, f"{assignment}: add alternatives"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_test_cell_is_targeted_by_a_mistake(
        assignment: str, graded: dict[tuple[str, str], SubmissionResult]) -> None:
    targeted = set().union(*(v.lost_cells for v in load_variants(VARIANTS_ROOT, assignment)
                             if v.kind == "mistake"))
    cells = {c.name for c in graded[(assignment, "reference")].cells if c.autograded}
    assert cells <= targeted, f"no mistake variant targets {sorted(cells - targeted)}"
