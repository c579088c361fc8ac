"""Every student's numbers for exercise 5 keep the maths its notebook and written task rely on.

The ranges are small grids, so every combination is checked (not a sample), numerically, on
the iterated method as the reference solution runs it (not on the closed form the parameters
come with); a sample of students checks the draws.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from dlmath.variants import SHARED
from dlmath.variants.derive import student_key
from dlmath.variants.ex5 import (
    EX5_KAPPAS,
    EX5_X,
    EX5_Y,
    SWEEP,
    TOL,
    ConditioningProblem,
    ex5_parameters,
    iterations,
)

SECRET = bytes(range(32))
STUDENTS = [f"s{n:07d}" for n in range(2000)]
ALL = [ConditioningProblem(k, (x, y)) for k, x, y in itertools.product(EX5_KAPPAS, EX5_X, EX5_Y)]


def _iterate(kappas: np.ndarray, starts: np.ndarray, lrs: np.ndarray,
             max_iter: int = 50_000) -> np.ndarray:
    """The reference's iterations_to_converge on x^2 + kappa y^2, for many problems at once:
    row i runs from ``starts[i]`` at ``lrs[i]``; -1 where the tolerance is never reached."""
    x = starts.astype(float).copy()
    counts = np.full(len(x), -1)
    for k in range(max_iter + 1):
        g = np.stack([2 * x[:, 0], 2 * kappas * x[:, 1]], axis=1)
        done = (np.linalg.norm(g, axis=1) < TOL) & (counts < 0)
        counts[done] = k
        if (counts >= 0).all():
            break
        x = x - lrs[:, None] * g
    return counts


@pytest.fixture(scope="module")
def measured() -> dict[str, np.ndarray]:
    """Per rule, the iterated count of f2 for every combination in ``ALL``."""
    kappas = np.array([p.kappa for p in ALL])
    starts = np.array([p.x0 for p in ALL])
    return {rule: _iterate(kappas, starts, np.array([p.learning_rate(rule) for p in ALL]))
            for rule in ("1/L", "optimal")}


def test_the_shared_variant_is_the_exercise_as_written() -> None:
    problem = ex5_parameters(SHARED)
    assert problem == ConditioningProblem(100.0, (1.8, 1.5))
    rows = [tuple(row.values()) for row in problem.table()]
    assert rows == [("f1", 1.0, "1/L", 0.5, 1), ("f1", 1.0, "optimal", 0.5, 1),
                    ("f2", 100.0, "1/L", 1 / 200, 1503), ("f2", 100.0, "optimal", 2 / 202, 976)]
    assert problem.predicted_iterations() == 691
    sweep = problem.sweep()
    assert [round(r, 1) for r in sweep["1/L"]] == [14.4, 15.0, 15.1]
    assert [round(r, 1) for r in sweep["optimal"]] == [8.6, 9.8, 10.9]


def test_students_get_many_different_variants() -> None:
    problems = [ex5_parameters(student_key(SECRET, s)) for s in STUDENTS]
    assert set(problems) <= set(ALL) and len(set(problems)) > 500  # of 594 combinations
    assert {p.kappa for p in problems} == set(EX5_KAPPAS)
    assert {p.x0 for p in problems} == {p.x0 for p in ALL}
    assert ex5_parameters(student_key(SECRET, "s0000001")) == problems[1]  # deterministic
    # Copying the convergence table pays off only between students with the same table.
    tables = [repr(p.table()) for p in problems]
    assert sum(a == b for a, b in zip(tables, tables[1:], strict=False)) < 0.01 * len(tables)


def test_f2_is_ill_conditioned_and_its_rates_are_as_the_text_says() -> None:
    for p in ALL:
        mu, big = p.curvatures
        assert 20 <= p.kappa == big / mu <= 100
        # lr = 1/L makes the y factor exactly 0 and reads as a short decimal (lr=0.00625).
        assert 1 - p.learning_rate("1/L") * big == 0.0 and len(repr(p.learning_rate("1/L"))) <= 7
        assert p.learning_rate("optimal") == 2 / (mu + big)
        # eta* zig-zags: the y factor -(kappa - 1)/(kappa + 1) is in (-1, -0.9), slow.
        assert -1 < 1 - p.learning_rate("optimal") * big < -0.9
        # The start is in the plot's [-2, 2] box; the y-gradient is larger than the x one
        # (kappa y0 / x0 times), which 1/L removes in one step.
        assert all(0 < c <= 2 for c in p.x0) and p.kappa * p.x0[1] / p.x0[0] >= 10
        # The hidden test's diverging rate 1.1/kappa is above the threshold 2/L = 1/kappa.
        assert abs(1 - 1.1 / p.kappa * big) > 1


def test_the_counts_are_the_iterated_ones_and_as_the_text_says(
        measured: dict[str, np.ndarray]) -> None:
    for i, p in enumerate(ALL):
        slow, fast = p.iterations("1/L"), p.iterations("optimal")
        assert (measured["1/L"][i], measured["optimal"][i]) == (slow, fast), p
        # Today's loops are the longest: at most 1513 updates, within the default max_iter.
        assert 100 < fast < slow <= 1513
        # The written task: the 1/L count is the first k with 2 x0 (1 - 1/kappa)^k < 1e-6, the
        # optimal one ceil(log(g0 / 1e-6) / log((kappa + 1)/(kappa - 1))); their ratio is
        # between 1 and 2; both are about kappa (resp. kappa/2) times a logarithm.
        x, y = p.x0
        g0 = 2 * math.hypot(x, p.kappa * y)
        assert slow == math.ceil(math.log(2 * x / TOL) / -math.log(1 - 1 / p.kappa))
        assert fast == math.ceil(math.log(g0 / TOL) / math.log((p.kappa + 1) / (p.kappa - 1)))
        assert 1 < slow / fast < 2
        assert slow == pytest.approx(p.kappa * math.log(2 * x / TOL), rel=0.03)
        assert fast == pytest.approx(p.kappa / 2 * math.log(g0 / TOL), rel=0.01)
        # predicted_iterations counts fewer steps: the error contracts by 1e-6, the gradient
        # norm must contract by 1e-6 / g0 < 1e-6.
        assert p.predicted_iterations() < fast
        # The closed form is not a whisker from the next integer, where round-off would decide.
        for start, factor in ((2 * x, 1 - 1 / p.kappa), (g0, (p.kappa - 1) / (p.kappa + 1))):
            t = math.log(start / TOL) / -math.log(factor)
            assert abs(t - round(t)) > 1e-3


def test_f1_takes_one_step_from_every_start() -> None:
    starts = np.array(sorted({p.x0 for p in ALL}))
    counts = _iterate(np.ones(len(starts)), starts, np.full(len(starts), 0.5))
    assert (counts == 1).all()


def test_the_sweep_before_the_written_task_behaves_as_the_rubric_says() -> None:
    """x^2 + kappa y^2 for kappa = 10, 100, 1000 from each start, at both rules (max_iter
    50_000, as the cell runs it): iterations/kappa at 1/L rises and settles at log(2 x0 / 1e-6),
    between 14.7 and 15.2; at the optimal rate it creeps up by about log(10)/2 per decade."""
    starts = np.array(sorted({p.x0 for p in ALL}))
    for kappa in SWEEP:
        kappas = np.full(len(starts), float(kappa))
        problem = ConditioningProblem(float(kappa), (1.0, 1.0))
        for rule in ("1/L", "optimal"):
            counts = _iterate(kappas, starts, np.full(len(starts), problem.learning_rate(rule)))
            assert counts.tolist() == [iterations(kappa, tuple(s), rule) for s in starts]
    for x, y in starts:
        sweep = ConditioningProblem(100.0, (x, y)).sweep()
        settles = math.log(2 * x / TOL)
        assert 14.65 < settles < 15.25
        assert sweep["1/L"][0] < sweep["1/L"][1] < sweep["1/L"][2] < settles
        assert settles - sweep["1/L"][2] < 0.02
        steps = np.diff(sweep["optimal"])
        assert ((steps > 0.9) & (steps < 1.4)).all(), (x, y, steps)


def test_the_numbers_a_ta_reads_match_the_problem() -> None:
    problem = ex5_parameters(SHARED)
    numbers = dict(problem.numbers())
    assert numbers["f2(x, y)"] == "x^2 + 100 y^2" and numbers["start X0 = (x0, y0)"] == "1.8, 1.5"
    assert numbers["factors (x, y) at 1/L"] == "0.99, 0"
    assert numbers["sweep kappa = 10, 100, 1000: iterations/kappa, 1/L"] == "14.40, 15.03, 15.09"
    assert numbers["  which settles at log(2 x0 / 1e-6)"] == "15.10"
    header, rows = problem.results_table()
    assert header == ["function", "kappa", "lr_rule", "lr", "iterations"]
    assert rows[2] == ["f2", 100.0, "1/L", 0.005, 1503]
    assert "x^2 + 100\\,y^2" in problem._repr_markdown_()
    assert "needs 1503 updates" in problem._repr_markdown_()
