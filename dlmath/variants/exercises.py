"""The exercises that have per-student variants, and how each turns a key into its parameters.

Each exercise's ranges and expected results live in their own module (``ex1.py`` ...); the
shared variant (``SHARED`` key, variants turned off) is the exercise as written before
variants existed, and every range contains it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Protocol

from dlmath.variants.derive import SHARED, VariantError
from dlmath.variants.ex1 import EX1, ex1_parameters
from dlmath.variants.ex2 import EX2, ex2_parameters
from dlmath.variants.ex3 import EX3, ex3_parameters
from dlmath.variants.ex4 import EX4, ex4_parameters
from dlmath.variants.ex5 import EX5, ex5_parameters


class Parameters(Protocol):
    """What every exercise's parameters offer the instructor's tools (and the notebook)."""

    def groups(self) -> dict[str, str]:
        """The parameters drawn independently, by value, for the item analysis."""

    def numbers(self) -> list[tuple[str, str]]:
        """The student's numbers, as (name, value) lines for ``dlmath variants show``."""

    def results_table(self) -> tuple[list[str], list[list[object]]]:
        """The expected results: a header and rows, for ``dlmath variants show``."""

    def _repr_markdown_(self) -> str:
        """The student's numbers as the notebook displays them under its given cell."""


# The assignments that have variants, and how each turns a key into its parameters.
PARAMETERS: dict[str, Callable[[str], Parameters]] = {
    EX1: ex1_parameters,
    EX2: ex2_parameters,
    EX3: ex3_parameters,
    EX4: ex4_parameters,
    EX5: ex5_parameters,
}


def parameters(assignment: str, key: str) -> Parameters:
    """``assignment``'s parameters for ``key``; VariantError for an assignment without variants."""
    try:
        make = PARAMETERS[assignment]
    except KeyError:
        raise VariantError(f"{assignment!r} has no per-student variants; those that do: "
                           f"{', '.join(PARAMETERS)}") from None
    return make(key)


def numbers_attributes() -> frozenset[str]:
    """The attributes of the exercises' parameters that hold the student's numbers (fields and
    properties derived from them). Everything else on them (expected results, tables, paths)
    is for the grader and the TA; an answer that uses it is flagged for a human look
    (``dlmath.judge.integrity.suspicious_code``)."""
    names: set[str] = set()
    for make in PARAMETERS.values():
        kind = type(make(SHARED))
        names.update(f.name for f in dataclasses.fields(kind))
        names.update(n for n, v in vars(kind).items() if isinstance(v, property))
    return frozenset(names)
