"""Every student's numbers keep the maths the notebooks and written tasks rely on.

Sampled over many student keys; each property is checked numerically on the iterated method
(not on the closed form the parameters come with).
"""

from __future__ import annotations

import numpy as np
import pytest

from dlmath.variants import SHARED, VariantError
from dlmath.variants.derive import student_key
from dlmath.variants.ex1 import EX1, GradientDescentProblem, ex1_parameters
from dlmath.variants.exercises import parameters

SECRET = bytes(range(32))
STUDENTS = [f"s{n:07d}" for n in range(2000)]


def _iterate(problem: GradientDescentProblem, lr: float, n_steps: int = 100) -> np.ndarray:
    """Gradient descent as the reference solution runs it, step by step."""
    lx, ly = problem.curvatures
    path = np.empty((n_steps + 1, 2))
    path[0] = problem.x0
    for k in range(n_steps):
        path[k + 1] = path[k] - lr * np.array([lx * path[k][0], ly * path[k][1]])
    return path


def _first_below(path: np.ndarray, tol: float) -> int | None:
    below = np.flatnonzero(np.linalg.norm(path, axis=1) < tol)
    return int(below[0]) if below.size else None


@pytest.fixture(scope="module")
def problems() -> list[GradientDescentProblem]:
    return [ex1_parameters(student_key(SECRET, s)) for s in STUDENTS]


def test_the_shared_variant_is_the_exercise_as_written() -> None:
    assert ex1_parameters(SHARED) == GradientDescentProblem((2.0, 20.0), (1.8, 1.5),
                                                            (0.01, 0.05, 0.1))
    expected = ex1_parameters(SHARED).expected()
    assert expected["steps to 0.001"] == {0.01: None, 0.05: 72, 0.1: None}
    assert expected["factor x"] == {0.01: 0.98, 0.05: 0.9, 0.1: 0.8}
    assert round(expected["distance after 100 steps"][0.01], 2) == 0.24


def test_students_get_many_different_variants(problems: list[GradientDescentProblem]) -> None:
    assert len(set(problems)) > 1000
    for field in ("curvatures", "x0", "learning_rates"):
        assert len({getattr(p, field) for p in problems}) > 5, field
    assert ex1_parameters(student_key(SECRET, "s0000001")) == problems[1]  # deterministic
    # Another course (secret) gives the same student other numbers.
    other = [ex1_parameters(student_key(b"another secret!!", s)) for s in STUDENTS[:200]]
    assert sum(a != b for a, b in zip(other, problems, strict=False)) > 190


def test_ex1_is_ill_conditioned_and_the_rates_are_as_the_text_says(
        problems: list[GradientDescentProblem]) -> None:
    for p in problems:
        lx, ly = p.curvatures
        small, middle, threshold = p.learning_rates
        assert 0 < lx < ly and p.kappa >= 8
        assert small < middle < threshold
        # The text: lr_3 is exactly the stability threshold 2/lambda_max, lr_2 = 1/lambda_max.
        assert threshold * ly == 2.0 and middle * ly == 1.0 and small * ly == pytest.approx(0.2)
        # Learning-rate labels read as short decimals (lr=0.0125, not lr=0.012499999).
        assert all(len(repr(lr)) <= 6 for lr in p.learning_rates)
        # Every rate converges along x (factor in (0, 1)); the plot's [-2, 2] box holds x0.
        assert all(0 < 1 - lr * lx < 1 for lr in p.learning_rates)
        assert all(0 < c <= 2 for c in p.x0)


def test_ex1_paths_behave_as_task_3_and_the_written_task_say(
        problems: list[GradientDescentProblem]) -> None:
    for p in problems:
        small, middle, threshold = p.learning_rates
        paths = {lr: _iterate(p, lr) for lr in p.learning_rates}
        # lr_2: y is 0 after one step (up to round-off: lr * (lambda_y * y) is rounded twice);
        # lr_3: y flips sign forever with constant amplitude.
        assert np.all(np.abs(paths[middle][1:, 1]) <= 1e-15)
        np.testing.assert_allclose(paths[threshold][:, 1], p.x0[1] * (-1.0) ** np.arange(101),
                                   rtol=1e-13, atol=0)
        # With tol=1e-6 none of the 100-step paths gets there; with 1e-3 only lr_2 does.
        assert [_first_below(paths[lr], 1e-6) for lr in p.learning_rates] == [None] * 3
        reached = [_first_below(paths[lr], 1e-3) for lr in p.learning_rates]
        assert reached[0] is None and reached[2] is None and 0 < reached[1] <= 100
        # lr_2 converges fastest: its slowest factor is the smallest of the three.
        slowest = [max(abs(1 - lr * c) for c in p.curvatures) for lr in p.learning_rates]
        assert slowest[1] < slowest[0] < slowest[2] == 1.0
        # The closed form the tests use agrees with the iterated method.
        for lr in p.learning_rates:
            np.testing.assert_allclose(p.path(lr), paths[lr], rtol=1e-9, atol=1e-12)
        assert p.expected()["steps to 0.001"][middle] == reached[1]


def test_unknown_assignments_and_bad_keys_are_refused() -> None:
    with pytest.raises(VariantError, match="has no per-student variants; those that do: "
                                           f"{EX1}"):
        parameters("ex9_missing", SHARED)
    with pytest.raises(VariantError, match="not a variant key"):
        parameters(EX1, "not-a-key")
