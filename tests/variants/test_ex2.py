"""Exercise 2: every student's sizes and seed keep what the notebook's text, tests and written
task rely on.

The sizes and seeds are few (``EX2_SMALL`` ... ``EX2_SEEDS``), so every matrix any student's
table can draw is computed here, as the reference solution draws it (about a minute of
eigendecompositions, most of it at n = 800 and 1000).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dlmath.variants import SHARED
from dlmath.variants.derive import student_key
from dlmath.variants.ex2 import (
    EX2,
    EX2_LARGE,
    EX2_MIDDLE,
    EX2_SEEDS,
    EX2_SMALL,
    SpectraProblem,
    ex2_parameters,
)
from dlmath.variants.exercises import parameters

SECRET = bytes(range(32))
STUDENTS = [f"s{n:07d}" for n in range(2000)]


def _reference_matrix(n: int, scheme: str, seed: int) -> np.ndarray:
    """The matrix the reference's spectrum_table draws (init_weights from a fresh generator)."""
    scale = np.sqrt((1.0 if scheme == "xavier" else 2.0) / n)
    return np.random.default_rng(seed).standard_normal((n, n)) * scale


@pytest.fixture(scope="module")
def problems() -> list[SpectraProblem]:
    return [ex2_parameters(student_key(SECRET, s)) for s in STUDENTS]


@pytest.fixture(scope="module")
def xavier_spectra() -> dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]:
    """(n, seed) -> (eigenvalues, singular values) of every Xavier matrix a student can get."""
    return {(n, seed): (np.linalg.eigvals(W), np.linalg.svd(W, compute_uv=False))
            for n in EX2_SMALL + EX2_MIDDLE + EX2_LARGE for seed in EX2_SEEDS
            for W in [_reference_matrix(n, "xavier", seed)]}


def test_the_shared_variant_is_the_exercise_as_written() -> None:
    problem = ex2_parameters(SHARED)
    assert problem == SpectraProblem((100, 500, 1000), 0)
    xavier = problem.expected()[::2]
    # The numbers the model answer quotes for seed 0: sigma_max 1.96, 1.98, 2.00; kappa about
    # 500, 4900, 3300 (kappa/n 5.0, 9.7, 3.3); xi = n sigma_min / s about 0.39, 0.20, 0.61.
    assert [round(r["sigma_max"], 2) for r in xavier] == [1.96, 1.98, 2.0]
    assert [round(r["kappa/n"], 1) for r in xavier] == [5.0, 9.7, 3.3]
    assert [round(r["n"] * r["sigma_min"], 2) for r in xavier] == [0.39, 0.2, 0.61]
    assert "Matrix sizes $n \\in \\{100, 500, 1000\\}$ (`SIZES`) and seed 0" in (
        problem._repr_markdown_())


def test_students_get_many_different_variants(problems: list[SpectraProblem]) -> None:
    assert len(set(problems)) > 300
    for slot, options in enumerate((EX2_SMALL, EX2_MIDDLE, EX2_LARGE)):
        assert {p.sizes[slot] for p in problems} == set(options)
    assert {p.seed for p in problems} == set(EX2_SEEDS)
    assert ex2_parameters(student_key(SECRET, "s0000001")) == problems[1]  # deterministic
    other = [ex2_parameters(student_key(b"another secret!!", s)) for s in STUDENTS[:200]]
    assert sum(a != b for a, b in zip(other, problems, strict=False)) > 190


def test_every_range_holds_the_shared_variant_and_sizes_stay_as_cheap_as_today() -> None:
    shared = ex2_parameters(SHARED)
    assert shared.sizes[0] in EX2_SMALL and shared.sizes[1] in EX2_MIDDLE
    assert shared.sizes[2] in EX2_LARGE and shared.seed in EX2_SEEDS
    # Increasing sizes whatever the draw, none larger than today's 1000.
    assert max(EX2_SMALL) < min(EX2_MIDDLE) and max(EX2_MIDDLE) < min(EX2_LARGE)
    assert max(EX2_LARGE) <= 1000


def test_every_matrix_passes_the_circular_law_check_of_the_tests(
        xavier_spectra: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]) -> None:
    for (n, seed), (eigenvalues, singular_values) in xavier_spectra.items():
        radius = float(np.max(np.abs(eigenvalues)))
        # test_spectrum_table: |rho - R| <= 3R/sqrt(n), R = 1 for Xavier; the He matrix is
        # sqrt(2) times it, and so is its radius (checked on the He matrices below).
        assert abs(radius - 1) <= 3 / np.sqrt(n), (n, seed, radius)
        # The He and Xavier condition numbers are compared to rtol 1e-6: an SVD gives sigma_min
        # to about 1e-16 * kappa relative, so kappa must stay far below 1e10.
        assert singular_values[0] / singular_values[-1] < 1e8, (n, seed)


def test_the_first_row_tells_the_spectral_radius_from_the_largest_real_part(
        xavier_spectra: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]) -> None:
    # The visible test checks the first row (the smallest size) exactly, to rtol 1e-9; a
    # largest-modulus eigenvalue that is a positive real number would let max Re(lambda) pass.
    for n, seed in itertools.product(EX2_SMALL, EX2_SEEDS):
        eigenvalues = xavier_spectra[(n, seed)][0]
        radius = np.max(np.abs(eigenvalues))
        assert not np.isclose(np.max(eigenvalues.real), radius, rtol=1e-6, atol=0), (n, seed)


def test_the_expected_results_are_what_the_reference_computes() -> None:
    # A student with small sizes (cheap): every row against the reference's own computation,
    # the He rows from the He matrices themselves.
    problem = SpectraProblem((50, 300, 800), 13)
    for row in problem.expected():
        W = _reference_matrix(row["n"], row["scheme"], problem.seed)
        s = np.linalg.svd(W, compute_uv=False)
        assert row["spectral_radius"] == pytest.approx(np.max(np.abs(np.linalg.eigvals(W))),
                                                       rel=1e-9)
        assert row["condition_number"] == pytest.approx(s[0] / s[-1], rel=1e-6)
        assert (row["sigma_max"], row["sigma_min"]) == pytest.approx((s[0], s[-1]), rel=1e-6)
    header, rows = problem.results_table()
    assert header[:3] == ["n", "scheme", "radius"] and len(rows) == 6
    assert [r[:2] for r in rows] == [[n, s] for n in (50, 300, 800) for s in ("xavier", "he")]


def test_parameters_are_found_by_assignment() -> None:
    assert parameters(EX2, SHARED) == ex2_parameters(SHARED)
