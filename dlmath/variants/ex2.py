"""Exercise 2's parameters: eigenvalue spectra of randomly initialised weight matrices.

A student's numbers are the three matrix sizes of their table (``SIZES``) and the seed every
matrix of it is drawn from (``SEED``). Every range contains the shared variant (sizes 100, 500,
1000 and seed 0, the exercise as written before variants existed); the largest size is at most
1000, so the table costs no more than it did. ``tests/variants/test_ex2.py`` checks, for every
size and seed in the ranges, every property the notebook's text, tests and written task rely on.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from dlmath.variants.derive import SHARED, check_key, draw
from dlmath.variants.text import number_text, numbers_text

EX2 = "ex2_eigenvalue_spectra"

# The sizes, one from each range: a small, a middle and a large one, so that the table shows
# the spectral radius settling at R and the condition number growing with n (roughly like n).
EX2_SMALL = (50, 100, 150, 200)
EX2_MIDDLE = (300, 400, 500)
EX2_LARGE = (800, 1000)
# The seeds in range(23) whose matrices, at every size above, (1) have their spectral radius
# within 90% of the tests' circular-law tolerance 3R/sqrt(n) (single matrices scatter: at
# n = 100 from -4% to +27% against a tolerance of 30%), and (2) at every small size have a
# largest-modulus eigenvalue that is not a positive real number, so that the table's first row,
# which the visible test checks exactly, tells max |lambda| from the largest real part (the
# mistake grader_tests/variants/ex2_eigenvalue_spectra/radius_max_real_part.py). Found by
# computing every matrix; the test checks both again.
EX2_SEEDS = (0, 1, 3, 5, 6, 7, 8, 11, 13, 15, 16, 17, 18, 20, 21, 22)
SCHEMES = {"xavier": 1.0, "he": 2.0}  # the variance s^2 of an entry, times n


def tolerance(n: int) -> float:
    """The tests' relative circular-law tolerance: |rho - R| <= 3 R / sqrt(n)."""
    return 3 / np.sqrt(n)


@dataclass(frozen=True)
class SpectraProblem:
    """Exercise 2: the Xavier and He spectra of n x n Gaussian matrices, for n in ``sizes``.

    ``sizes`` are the table's three matrix sizes (increasing, at most 1000); ``seed`` is the
    seed of the ``np.random.default_rng`` each matrix of the table is drawn from.
    """

    sizes: tuple[int, int, int]
    seed: int

    def xavier(self, n: int) -> np.ndarray:
        """The table's Xavier matrix of size n, as the reference draws it, shape (n, n)."""
        return np.random.default_rng(self.seed).standard_normal((n, n)) * np.sqrt(1 / n)

    @cached_property
    def _spectra(self) -> dict[int, tuple[float, np.ndarray]]:
        """n -> (spectral radius, singular values in descending order) of the Xavier matrix."""
        spectra = {}
        for n in self.sizes:
            W = self.xavier(n)
            spectra[n] = (float(np.max(np.abs(np.linalg.eigvals(W)))),
                          np.linalg.svd(W, compute_uv=False))
        return spectra

    def expected(self) -> list[dict[str, object]]:
        """The rows of ``spectrum_table(SIZES, SEED)``, with what the written task quotes.

        Per (n, scheme), in the table's order: the spectral radius, the circular law's R, the
        relative excess (rho - R) / R, the largest and smallest singular values and the
        condition number kappa and kappa / n. The He matrix is sqrt(2) times the Xavier one
        (the same draw), so its eigenvalues and singular values are sqrt(2) times the Xavier
        ones and computed that way (one eigendecomposition and one SVD per size).
        """
        rows = []
        for n in self.sizes:
            radius, singular_values = self._spectra[n]
            for scheme, variance in SCHEMES.items():
                scale = float(np.sqrt(variance))
                kappa = float(singular_values[0] / singular_values[-1])
                rows.append({"n": n, "scheme": scheme, "spectral_radius": scale * radius,
                             "R": scale, "excess": radius - 1.0,
                             "sigma_max": scale * float(singular_values[0]),
                             "sigma_min": scale * float(singular_values[-1]),
                             "condition_number": kappa, "kappa/n": kappa / n})
        return rows

    def groups(self) -> dict[str, str]:
        """The parameters drawn independently, by value: the item analysis compares the pass
        rates of students who share one (a harder range shows up as a lower rate)."""
        return {"n1": str(self.sizes[0]), "n2": str(self.sizes[1]), "n3": str(self.sizes[2]),
                "seed": str(self.seed)}

    def numbers(self) -> list[tuple[str, str]]:
        """The student's numbers, as (name, value) lines for ``dlmath variants show``."""
        return [("SIZES", numbers_text(self.sizes)),
                ("SEED", str(self.seed)),
                ("tolerance 3R/sqrt(n), % of R",
                 ", ".join(number_text(round(100 * tolerance(n), 1)) for n in self.sizes))]

    def results_table(self) -> tuple[list[str], list[list[object]]]:
        """``expected()`` as a table: a header and one row per (n, scheme)."""
        header = ["n", "scheme", "radius", "R", "excess %", "sigma_max", "sigma_min", "kappa",
                  "kappa/n"]
        return header, [[row["n"], row["scheme"], round(row["spectral_radius"], 4), row["R"],
                         round(100 * row["excess"], 1), round(row["sigma_max"], 4),
                         float(f"{row['sigma_min']:.4g}"), round(row["condition_number"]),
                         round(row["kappa/n"], 2)]
                        for row in self.expected()]

    def _repr_markdown_(self) -> str:
        sizes = ", ".join(str(n) for n in self.sizes)
        tolerances = ", ".join(f"{number_text(round(100 * tolerance(n), 1))}\\%"
                               for n in self.sizes)
        return (f"**Your numbers.** Matrix sizes $n \\in \\{{{sizes}\\}}$ (`SIZES`) and seed "
                f"{self.seed} (`SEED`): your table draws each matrix from "
                f"`np.random.default_rng({self.seed})`. The circular-law tolerance "
                f"$3R/\\sqrt n$ at your sizes is {tolerances} of $R$.")


def ex2_parameters(key: str) -> SpectraProblem:
    """Exercise 2's numbers for ``key`` (the shared variant: sizes (100, 500, 1000), seed 0)."""
    if check_key(key) == SHARED:
        return SpectraProblem((100, 500, 1000), 0)
    return SpectraProblem(
        sizes=(draw(key, EX2, "n1", EX2_SMALL), draw(key, EX2, "n2", EX2_MIDDLE),
               draw(key, EX2, "n3", EX2_LARGE)),
        seed=draw(key, EX2, "seed", EX2_SEEDS))
