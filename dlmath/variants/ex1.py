"""Exercise 1's parameters: gradient descent on an ill-conditioned quadratic.

Every range contains the shared variant (the exercise as written before variants existed);
``tests/variants/test_ex1.py`` checks, over many keys, every property the notebook's text and
written task rely on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dlmath.variants.derive import SHARED, check_key, draw
from dlmath.variants.text import coefficient_text, number_text, numbers_text, tidy

EX1 = "ex1_ill_conditioned_gd"

# The large curvature lambda_y and the learning rates that go with it: 0.2/lambda_y (slow,
# monotone), 1/lambda_y (y exact after one step) and 2/lambda_y (the stability threshold).
# Written as decimals so that they print as they read; each product with lambda_y is exactly
# 0.2, 1 and 2 in floating point (checked by the tests), so the per-step factors along y are
# exactly 0.8, 0 and -1.
EX1_RATES = {10.0: (0.02, 0.1, 0.2), 16.0: (0.0125, 0.0625, 0.125), 20.0: (0.01, 0.05, 0.1),
              25.0: (0.008, 0.04, 0.08), 40.0: (0.005, 0.025, 0.05), 50.0: (0.004, 0.02, 0.04)}
# Condition numbers: ill-conditioned (at least 8), yet 1/lambda_y still gets within 1e-3 of
# the minimum in 100 steps and never within 1e-6 (the factor along x is 1 - 1/kappa).
EX1_KAPPAS = (8.0, 10.0, 12.5)
# Start coordinates, one decimal: between 1.2 and 2.0 for x, 1.0 and 2.0 for y.
EX1_X = tuple(round(1.2 + 0.1 * i, 1) for i in range(9))
EX1_Y = tuple(round(1.0 + 0.1 * i, 1) for i in range(11))


@dataclass(frozen=True)
class GradientDescentProblem:
    """Exercise 1: f(x, y) = (lambda_x x^2 + lambda_y y^2) / 2 and gradient descent on it.

    ``curvatures`` are the Hessian's eigenvalues (lambda_x, lambda_y), lambda_x < lambda_y;
    ``x0`` is the start point; ``learning_rates`` are increasing, the last being the
    stability threshold 2 / lambda_y.
    """

    curvatures: tuple[float, float]
    x0: tuple[float, float]
    learning_rates: tuple[float, float, float]

    @property
    def kappa(self) -> float:
        """The condition number lambda_y / lambda_x."""
        return self.curvatures[1] / self.curvatures[0]

    def path(self, lr: float, n_steps: int = 100) -> np.ndarray:
        """The gradient-descent path from ``x0``, shape (n_steps + 1, 2), in closed form:
        after k steps each coordinate is multiplied by (1 - lr * curvature) ** k."""
        factors = 1 - lr * np.array(self.curvatures)
        return np.array(self.x0) * factors ** np.arange(n_steps + 1)[:, None]

    def expected(self, tol: float = 1e-3) -> dict[str, dict[float, object]]:
        """What the tasks compute, per learning rate: the per-step factors along x and y, the
        first step within ``tol`` of the minimum of the 100-step path (None: never) and the
        distance from the minimum after 100 steps."""
        results: dict[str, dict[float, object]] = {"factor x": {}, "factor y": {},
                                                   f"steps to {tol:g}": {},
                                                   "distance after 100 steps": {}}
        for lr in self.learning_rates:
            norms = np.linalg.norm(self.path(lr), axis=1)
            below = np.flatnonzero(norms < tol)
            results["factor x"][lr] = tidy(1 - lr * self.curvatures[0])
            results["factor y"][lr] = tidy(1 - lr * self.curvatures[1])
            results[f"steps to {tol:g}"][lr] = int(below[0]) if below.size else None
            results["distance after 100 steps"][lr] = float(norms[-1])
        return results

    def groups(self) -> dict[str, str]:
        """The parameters drawn independently, by value: the item analysis compares the pass
        rates of students who share one (a harder range shows up as a lower rate)."""
        return {"lambda_y": number_text(self.curvatures[1]), "kappa": number_text(self.kappa),
                "x0[0]": number_text(self.x0[0]), "x0[1]": number_text(self.x0[1])}

    def numbers(self) -> list[tuple[str, str]]:
        """The student's numbers, as (name, value) lines for ``dlmath variants show``."""
        return [("f(x, y)", f"({number_text(self.curvatures[0])} x^2 + "
                            f"{number_text(self.curvatures[1])} y^2) / 2"),
                ("curvatures (lambda_x, lambda_y)", numbers_text(self.curvatures)),
                ("condition number kappa", number_text(self.kappa)),
                ("start X0", numbers_text(self.x0)),
                ("LEARNING_RATES", numbers_text(self.learning_rates)),
                ("stability threshold 2/lambda_y", number_text(2 / self.curvatures[1]))]

    def results_table(self) -> tuple[list[str], list[list[object]]]:
        """``expected()`` as a table: a header and one row per learning rate."""
        expected = self.expected()
        header = ["lr", *expected]
        return header, [[lr, *("never" if column[lr] is None else column[lr]
                               for column in expected.values())]
                        for lr in self.learning_rates]

    def _repr_markdown_(self) -> str:
        lx, ly = (number_text(c) for c in self.curvatures)
        rates = ", ".join(number_text(r) for r in self.learning_rates)
        return (f"**Your numbers.** $f(x, y) = {coefficient_text(self.curvatures[0] / 2)}x^2 + "
                f"{coefficient_text(self.curvatures[1] / 2)}y^2$, so $\\lambda_x = {lx}$ and "
                f"$\\lambda_y = {ly}$ ($\\kappa = {number_text(self.kappa)}$); start "
                f"$\\mathbf{{x}}_0 = ({number_text(self.x0[0])}, {number_text(self.x0[1])})$; "
                f"learning rates $\\eta \\in \\{{{rates}\\}}$; stability threshold "
                f"$2/\\lambda_y = {number_text(self.learning_rates[2])}$.")


def ex1_parameters(key: str) -> GradientDescentProblem:
    """Exercise 1's numbers for ``key`` (the shared variant: lambda = (2, 20), x0 = (1.8, 1.5),
    learning rates (0.01, 0.05, 0.1))."""
    if check_key(key) == SHARED:
        return GradientDescentProblem((2.0, 20.0), (1.8, 1.5), EX1_RATES[20.0])
    large = draw(key, EX1, "lambda_y", sorted(EX1_RATES))
    kappa = draw(key, EX1, "kappa", EX1_KAPPAS)
    return GradientDescentProblem(
        curvatures=(large / kappa, large),
        x0=(draw(key, EX1, "x0[0]", EX1_X), draw(key, EX1, "x0[1]", EX1_Y)),
        learning_rates=EX1_RATES[large])
