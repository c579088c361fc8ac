"""How the variants' numbers read: in the notebooks' text, ``dlmath variants show`` and tables.

Shared by every exercise's parameters (``ex1.py`` ... ``ex5.py``), so that a number prints the
same way in the student's notebook and in the TA's terminal.
"""

from __future__ import annotations


def number_text(value: float) -> str:
    """A parameter as the text shows it: 2 rather than 2.0, at most 6 significant digits."""
    return f"{value:.6g}"


def numbers_text(values: tuple[float, ...]) -> str:
    """Several parameters, comma-separated, each as ``number_text`` shows it."""
    return ", ".join(number_text(v) for v in values)


def coefficient_text(value: float) -> str:
    """A coefficient in LaTeX: nothing for 1, else the number and a thin space."""
    return "" if value == 1 else f"{number_text(value)}\\,"


def tidy(value: float) -> float:
    """A per-step factor rounded to 12 digits, so 1 - 0.9 reads 0.1, not 0.09999999999999998."""
    return round(value, 12) + 0.0  # + 0.0 turns -0.0 into 0.0
