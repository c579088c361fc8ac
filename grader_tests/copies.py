"""Answers hard-coded from one student's outputs, per exercise with variants.

The harness (``test_student_variants.py``) hands each in as another student, whose own numbers
make it wrong (it must lose exactly ``loses``), and as the student whose outputs it copies
(it must lose nothing). ``answer(key)`` gives the answer cell's definitions, by name, as the
student with variant ``key`` would have hard-coded them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from dlmath.variants.ex1 import EX1, ex1_parameters
from dlmath.variants.ex2 import EX2, ex2_parameters


@dataclass(frozen=True)
class Copy:
    """How to hard-code an exercise's answer from a student's outputs, and what it loses."""

    answer: Callable[[str], dict[str, str]]
    loses: frozenset[str]


def ex1_paths(key: str) -> dict[str, str]:
    """Task 2's answer as literal numbers: the paths the student with ``key`` computes."""
    problem = ex1_parameters(key)
    items = ", ".join(f"{lr!r}: np.array({problem.path(lr).tolist()!r})"
                      for lr in problem.learning_rates)
    return {"paths": f"paths = {{{items}}}"}


@cache  # each student's table is copied twice (by the next student, and as their own)
def ex2_table(key: str) -> dict[str, str]:
    """Task 3's table as literal numbers: ``spectrum_table`` returns the rows the student with
    ``key`` printed when called with the notebook's own sizes and seed (computes otherwise, so
    that only the copied table can be wrong)."""
    rows = [{k: row[k] for k in ("n", "scheme", "spectral_radius", "condition_number")}
            for row in ex2_parameters(key).expected()]
    return {"spectrum_table": f"""def spectrum_table(sizes=SIZES, seed=SEED):
    if tuple(sizes) == tuple(SIZES) and seed == SEED:
        return {rows!r}
    rows = []
    for n in sizes:
        for scheme in SCHEMES:
            W = init_weights(n, scheme, np.random.default_rng(seed))
            rows.append({{"n": n, "scheme": scheme, "spectral_radius": spectral_radius(W),
                         "condition_number": condition_number(W)}})
    return rows"""}


COPIES: dict[str, Copy] = {
    EX1: Copy(ex1_paths, frozenset({"test_paths"})),
    EX2: Copy(ex2_table, frozenset({"test_spectrum_table"})),
}
