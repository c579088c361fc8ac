"""The mutation pass, in CI: the triaged equivalent mutants keep full marks (they are valid
programs), a fixed sample of the other mutants loses points, and the triage is current.

The whole pass, with the score of every test cell before and after, is
``benchmarks/mutation_score.py`` (about ten minutes); this runs a few dozen mutants.
"""

from __future__ import annotations

import nbformat
import numpy as np
import pytest
from mutation import (
    Mutant,
    _shared_linalg,
    all_mutants,
    load_triage,
    mutants_of,
    notebook_cells,
    run_many,
    run_mutants,
    sample,
)

from grader_tests.students import ASSIGNMENTS, REPO

SAMPLE_PER_ASSIGNMENT = 6


def source(assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(REPO / "source" / assignment / f"{assignment}.ipynb", as_version=4)


@pytest.fixture(scope="module")
def mutants() -> dict[str, list[Mutant]]:
    """Every mutant of every assignment's reference solution."""
    return {assignment: all_mutants(assignment, source(assignment)) for assignment in ASSIGNMENTS}


def test_every_triage_entry_is_a_current_mutant(mutants: dict[str, list[Mutant]]) -> None:
    current = {m.id: m for ms in mutants.values() for m in ms}
    for entry in load_triage().values():
        assert entry.id in current, (
            f"{entry.id} is no longer a mutant (the reference changed?): re-run "
            "benchmarks/mutation_score.py and update grader_tests/mutation_triage.toml")
        assert current[entry.id].change == entry.change, (
            f"{entry.id} now changes {current[entry.id].change!r}, not {entry.change!r}: "
            "re-triage it")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_reference_passes_and_equivalent_mutants_keep_full_marks(
        assignment: str, mutants: dict[str, list[Mutant]]) -> None:
    triage = load_triage()
    equivalent = [m for m in mutants[assignment] if m.id in triage]
    runs = {"reference": {}, **{m.id: {m.definition: m.code} for m in equivalent}}
    failed = {label: cells for label, cells in run_many(
        notebook_cells(source(assignment)), runs).items() if cells}
    assert not failed, f"valid programs lose points: {failed}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_a_fixed_sample_of_mutants_loses_points(assignment: str,
                                                mutants: dict[str, list[Mutant]]) -> None:
    triage = load_triage()
    chosen = [m for m in sample(mutants[assignment], SAMPLE_PER_ASSIGNMENT) if m.id not in triage]
    failed = run_mutants(notebook_cells(source(assignment)), chosen)
    survivors = [f"{m.id}: {m.change}" for m in chosen if not failed[m.id]]
    assert not survivors, "mutants no test cell catches:\n" + "\n".join(survivors)


@pytest.mark.parametrize(("code", "operator", "expected"), [
    ("def f(v):\n    return np.linalg.norm(v)\n", "dlmath/NormOrder",
     ["np.linalg.norm(v, ord=np.inf)", "np.linalg.norm(v, ord=1)", "np.linalg.norm(v, ord=2)"]),
    ("def f(p):\n    return p.sum(axis=-1)\n", "dlmath/AxisChange",
     ["p.sum(axis=0)", "p.sum(axis=None)"]),
    ("def f(lr):\n    if lr <= 0 or lr > 1:\n        raise ValueError(lr)\n    return lr\n",
     "dlmath/DropValidation", ["if False:", "if lr > 1:", "if lr <= 0:"]),
    ("def f(q):\n    q = np.asarray(q)\n    x = np.array(q, dtype=float)\n"
     "    x = x - 1\n    return np.clip(q, 0, 1)\n", "dlmath/InPlace",
     ["np.asarray(q, dtype=float)", "x -= 1", "np.clip(q, 0, 1, out=q)"]),
    ("def f(ax):\n    ax.plot([0], [1])\n    ax.set_title('t')\n", "dlmath/CurrentAxes",
     ["plt.gca().plot([0], [1])"]),
    ("def f(H):\n    return np.max(np.linalg.eigvalsh(H))\n", "dlmath/FunctionSwap",
     ["np.min(np.linalg.eigvalsh(H))", "np.max(np.linalg.eigvals(H))"]),
    ("def f(x):\n    return torch.tensor(x, dtype=torch.float64)\n", "dlmath/Precision",
     ["torch.tensor(x, dtype=torch.float32)"]),
])
def test_course_operators_make_the_mistakes_they_name(code: str, operator: str,
                                                      expected: list[str]) -> None:
    made = mutants_of("exercise", "f", code, operators=[operator])
    assert len(made) == len(expected)
    for mutant, text in zip(made, expected, strict=True):
        assert text in mutant.code, mutant.code


def test_styling_and_contour_grids_are_not_mutated() -> None:
    code = ("def f(ax):\n    xs, ys = np.meshgrid(np.linspace(-2, 2, 50), np.linspace(-2, 2, 50))\n"
            "    ax.contour(xs, ys, xs + ys, levels=12, linewidths=0.7)\n")
    assert mutants_of("exercise", "f", code, operators=["core/NumberReplacer"]) == []


def test_the_runs_of_one_student_share_the_eigenvalues_of_equal_matrices(
        monkeypatch: pytest.MonkeyPatch) -> None:
    real, calls = np.linalg.eigvals, []

    def counting(a: np.ndarray) -> np.ndarray:
        calls.append(np.shape(a))
        return real(a)

    monkeypatch.setattr(np.linalg, "eigvals", counting)
    W = np.random.default_rng(0).standard_normal((30, 30))
    with _shared_linalg():
        first = np.linalg.eigvals(W)
        first[:] = 0  # a run that changes its result in place changes no other run's
        again = np.linalg.eigvals(W.copy())
        other = np.linalg.eigvals(W + 1)
        singular = np.linalg.eigvals([[2.0, 0.0], [0.0, 0.0]])
    assert len(calls) == 3  # W once (its copy is an equal matrix), W + 1, the list
    np.testing.assert_array_equal(again, real(W))
    np.testing.assert_array_equal(other, real(W + 1))
    assert sorted(singular) == [0.0, 2.0]
    assert np.linalg.eigvals is counting  # restored after the block
