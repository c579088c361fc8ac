"""Answers hard-coded from one student's outputs, per exercise with variants.

The harness (``test_student_variants.py``) hands each in as another student, whose own numbers
make it wrong (it must lose exactly ``loses``), and as the student whose outputs it copies
(it must lose nothing). ``answer(key)`` gives the answer cell's definitions, by name, as the
student with variant ``key`` would have hard-coded them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dlmath.variants.ex1 import EX1, ex1_parameters
from dlmath.variants.ex5 import EX5, ex5_parameters


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


def ex5_table(key: str) -> dict[str, str]:
    """Task 5's answer as a literal list: the convergence table the student with ``key`` gets."""
    return {"convergence_table": f"def convergence_table():\n"
                                 f"    return {ex5_parameters(key).table()!r}"}


COPIES: dict[str, Copy] = {
    EX1: Copy(ex1_paths, frozenset({"test_paths"})),
    EX5: Copy(ex5_table, frozenset({"test_convergence_table"})),
}
