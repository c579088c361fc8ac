"""Every student's predictions keep the maths exercise 4's text and written task rely on.

Sampled over many student keys, and over every row the ranges allow; entropies and
cross-entropies are computed entry by entry with ``math.log`` (not with the parameters' own
``expected``, which is checked against them).
"""

from __future__ import annotations

import math
from itertools import pairwise

import numpy as np
import pytest

from dlmath.variants import SHARED
from dlmath.variants.derive import student_key
from dlmath.variants.ex4 import EX4, EX4_ROWS, PredictionsProblem, ex4_parameters
from dlmath.variants.exercises import parameters

SECRET = bytes(range(32))
STUDENTS = [f"s{n:07d}" for n in range(2000)]


def _entropy(q: tuple[float, ...]) -> float:
    return -sum(v * math.log(v) for v in q if v > 0)


def _cross_entropy(p: tuple[int, ...], q: tuple[float, ...]) -> float:
    """As Task 2 defines it: -sum p log clip(q, 1e-12, 1)."""
    return -sum(a * math.log(min(max(b, 1e-12), 1.0)) for a, b in zip(p, q, strict=True))


@pytest.fixture(scope="module")
def problems() -> list[PredictionsProblem]:
    return [ex4_parameters(student_key(SECRET, s)) for s in STUDENTS]


def test_the_shared_variant_is_the_exercise_as_written() -> None:
    problem = ex4_parameters(SHARED)
    assert problem == PredictionsProblem(0, (1, 10, 50, 100), (
        (0.30, 0.20, 0.20, 0.15, 0.15), (0.50, 0.15, 0.15, 0.10, 0.10),
        (0.80, 0.07, 0.07, 0.03, 0.03), (0.95, 0.02, 0.01, 0.01, 0.01)))
    assert problem.true_label == (1, 0, 0, 0, 0)
    # The numbers of the model answer of the written task.
    expected = {name: np.round(values, 3).tolist() for name, values in problem.expected().items()}
    assert expected == {"entropy": [1.574, 1.376, 0.761, 0.265],
                        "cross_entropy": [1.204, 0.693, 0.223, 0.051],
                        "kl": [1.204, 0.693, 0.223, 0.051]}
    # Every range contains it.
    for row, options in zip(problem.predictions, EX4_ROWS, strict=True):
        assert tuple(round(100 * v) for v in row[1:]) in options


def test_students_get_many_different_variants(problems: list[PredictionsProblem]) -> None:
    assert len(set(problems)) == len(problems)
    assert {p.true_class for p in problems} == set(range(5))
    assert len({p.epochs for p in problems}) == 6
    for epoch in range(4):
        assert len({p.confidence[epoch] for p in problems}) >= 4, epoch
    assert ex4_parameters(student_key(SECRET, "s0000001")) == problems[1]  # deterministic
    other = [ex4_parameters(student_key(b"another secret!!", s)) for s in STUDENTS[:200]]
    assert sum(a != b for a, b in zip(other, problems, strict=False)) == 200
    assert parameters(EX4, student_key(SECRET, "s0000002")) == problems[2]


def test_every_row_is_a_distribution_with_two_decimals(problems: list[PredictionsProblem]) -> None:
    for p in problems:
        assert len(p.epochs) == len(p.predictions) == 4
        assert all(0 < a < b for a, b in pairwise(p.epochs)) and p.epochs[0] >= 1
        for row in p.predictions:
            assert len(row) == 5 and all(v > 0 for v in row)  # every log is finite
            assert all(round(100 * v) / 100 == v for v in row)  # printed as they are
            # Task 1 accepts a row whose sum is within 1e-6 of 1; these are within round-off.
            assert abs(sum(row) - 1) <= 1e-12 and abs(float(np.sum(row)) - 1) <= 1e-12


def test_the_prediction_sharpens_on_the_true_class(problems: list[PredictionsProblem]) -> None:
    """The text: the model becomes confident and right, and all three curves fall; the
    written task: the entropy starts close to log 5 and falls towards 0, CE = KL."""
    for p in problems:
        label = p.true_label
        assert label[p.true_class] == 1 and sum(label) == 1
        # Right at every epoch: the true class is the most probable one, and ever more so.
        for row in p.predictions:
            assert all(row[p.true_class] > v for i, v in enumerate(row) if i != p.true_class)
        assert all(a < b for a, b in pairwise(p.confidence))
        entropies = [_entropy(q) for q in p.predictions]
        losses = [_cross_entropy(label, q) for q in p.predictions]
        kls = [ce - _entropy(label) for ce in losses]
        assert all(a > b for a, b in pairwise(entropies))
        assert math.log(5) - 0.06 < entropies[0] < math.log(5) and entropies[-1] < 0.35
        assert all(a > b for a, b in pairwise(losses)) and kls == losses
        np.testing.assert_allclose(losses, [-math.log(q) for q in p.confidence], rtol=1e-15)
        expected = p.expected()
        np.testing.assert_allclose(expected["entropy"], entropies, rtol=1e-13)
        np.testing.assert_allclose(expected["cross_entropy"], losses, rtol=1e-13)
        np.testing.assert_allclose(expected["kl"], kls, rtol=1e-13)


def test_every_row_the_ranges_allow_keeps_the_epochs_apart() -> None:
    """Not only the sampled students: the true class's probabilities and the entropies of the
    rows each epoch allows lie in disjoint intervals, in the order the text says."""
    confidence, entropy = [], []
    for options in EX4_ROWS:
        rows = [(100 - sum(wrong), *wrong) for wrong in options]
        assert all(row[0] > max(row[1:]) and min(row) >= 1 for row in rows)
        confidence.append((min(r[0] for r in rows), max(r[0] for r in rows)))
        hs = [_entropy(tuple(h / 100 for h in row)) for row in rows]
        entropy.append((min(hs), max(hs)))
    assert all(a[1] < b[0] for a, b in pairwise(confidence)), confidence
    assert all(a[0] > b[1] for a, b in pairwise(entropy)), entropy
    assert entropy[0][0] > math.log(5) - 0.06 and entropy[-1][1] < 0.35


def test_show_and_the_notebook_display_the_students_numbers(
        problems: list[PredictionsProblem]) -> None:
    problem = problems[0]
    shown = dict(problem.numbers())
    assert shown["EPOCHS"] == ", ".join(map(str, problem.epochs))
    header, rows = problem.results_table()
    assert header == ["epoch", "q_true", "entropy", "cross_entropy", "kl"]
    assert [row[0] for row in rows] == list(problem.epochs)
    markdown = problem._repr_markdown_()
    assert f"class {problem.true_class} (`TRUE_LABEL` = $e_{problem.true_class}$)" in markdown
    assert f"**{problem.confidence[-1]:.2f}**" in markdown
    assert problem.groups()["true class"] == str(problem.true_class)
