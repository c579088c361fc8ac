"""Exercise 5's parameters: condition numbers and the speed of gradient descent.

The student's ill-conditioned quadratic is f2(x, y) = x^2 + kappa y^2 (Hessian diag(2, 2 kappa),
condition number kappa); f1 = x^2 + y^2 stays the same for everybody. Every range contains the
shared variant (the exercise as written before variants existed: kappa = 100, X0 = (1.8, 1.5));
``tests/variants/test_ex5.py`` checks, over every combination of the ranges, every property the
notebook's text, tests and written task rely on, on the iterated method.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dlmath.variants.derive import SHARED, check_key, draw
from dlmath.variants.text import number_text, numbers_text

EX5 = "ex5_condition_numbers"

# f2's condition number. At least 20, so that the problem is ill-conditioned and the counts are
# hundreds of steps; at most 100 (today's), so that no loop runs longer than today's (1513
# steps at most, at lr = 1/L). Chosen so that 1/L = 1/(2 kappa) and the factor 1 - 1/kappa
# along x read as short decimals, and (1/(2 kappa)) * 2 kappa is exactly 1 in floating point
# (checked by the tests): at lr = 1/L the factor along y is exactly 0.
EX5_KAPPAS = (20.0, 25.0, 40.0, 50.0, 80.0, 100.0)
# Start coordinates, one decimal, inside the plot's [-2, 2] box: x in [1.2, 2], y in [1, 2].
EX5_X = tuple(round(1.2 + 0.1 * i, 1) for i in range(9))
EX5_Y = tuple(round(1.0 + 0.1 * i, 1) for i in range(11))
# The stopping tolerance on the gradient norm (Task 3's default) and the learning-rate rules.
TOL = 1e-6
RULES = ("1/L", "optimal")
# The condition numbers of x^2 + kappa y^2 that the cell before the written task sweeps over.
SWEEP = (10, 100, 1000)


def iterations(kappa: float, x0: tuple[float, float], rule: str, tol: float = TOL) -> int:
    """Gradient-descent updates on x^2 + kappa y^2 from ``x0`` until ||grad|| < ``tol``, in
    closed form (``tests/variants/test_ex5.py`` checks it against the iterated method).

    The Hessian is diag(2, 2 kappa). At ``rule`` "1/L" (lr = 1/(2 kappa)) the factor along y
    is 0 and along x 1 - 1/kappa, so for k >= 1 the gradient is (2 x0 (1 - 1/kappa)^k, 0). At
    "optimal" (lr = 2/(2 + 2 kappa)) both factors have modulus r = (kappa - 1)/(kappa + 1) and
    ||grad_k|| = r^k ||grad_0||. The count is the first k with ||grad_k|| < tol (strictly):
    floor(log(g / tol) / -log r) + 1. For kappa = 1 both rules land on the minimum in one step.
    """
    if rule not in RULES:
        raise ValueError(f"unknown learning-rate rule {rule!r}; the rules: {', '.join(RULES)}")
    x, y = x0
    if kappa == 1:
        return 1
    if rule == "1/L":
        start, factor = 2 * abs(x), 1 - 1 / kappa
    else:
        start, factor = 2 * math.hypot(x, kappa * y), (kappa - 1) / (kappa + 1)
    return math.floor(math.log(start / tol) / -math.log(factor)) + 1


@dataclass(frozen=True)
class ConditioningProblem:
    """Exercise 5: f2(x, y) = x^2 + kappa y^2 and gradient descent on it from ``x0``.

    ``kappa`` is f2's condition number (> 1); ``x0`` is the start point ``X0`` of every run.
    """

    kappa: float
    x0: tuple[float, float]

    @property
    def curvatures(self) -> tuple[float, float]:
        """The eigenvalues of f2's Hessian, (2, 2 kappa): mu and L."""
        return 2.0, 2 * self.kappa

    def learning_rate(self, rule: str, kappa: float | None = None) -> float:
        """The rate ``rule`` gives on x^2 + kappa y^2 (f2's kappa by default): "1/L" is
        1/(2 kappa), "optimal" is 2/(mu + L) = 2/(2 + 2 kappa), both as the reference computes
        them."""
        kappa = self.kappa if kappa is None else kappa
        return 1.0 / (2 * kappa) if rule == "1/L" else 2.0 / (2 + 2 * kappa)

    def iterations(self, rule: str, kappa: float | None = None) -> int:
        """``iterations`` from ``x0`` on x^2 + kappa y^2 (f2's kappa by default)."""
        return iterations(self.kappa if kappa is None else kappa, self.x0, rule)

    def predicted_iterations(self, eps: float = TOL) -> int:
        """Task 4's prediction at f2's kappa: ceil(log eps / log((kappa - 1)/(kappa + 1)))."""
        return math.ceil(math.log(eps) / math.log((self.kappa - 1) / (self.kappa + 1)))

    def table(self) -> list[dict[str, object]]:
        """Task 5's convergence table: one row per function and rule, as the reference builds
        it (f1 = x^2 + y^2 has kappa 1 and both rules give lr = 0.5)."""
        return [{"function": name, "kappa": kappa, "lr_rule": rule,
                 "lr": self.learning_rate(rule, kappa), "iterations": self.iterations(rule, kappa)}
                for name, kappa in (("f1", 1.0), ("f2", self.kappa)) for rule in RULES]

    def sweep(self) -> dict[str, list[float]]:
        """iterations / kappa per rule for the kappas of ``SWEEP``, as the cell before the
        written task prints them (x^2 + kappa y^2 from ``x0``)."""
        return {rule: [self.iterations(rule, k) / k for k in SWEEP] for rule in RULES}

    def groups(self) -> dict[str, str]:
        """The parameters drawn independently, by value: the item analysis compares the pass
        rates of students who share one (a harder range shows up as a lower rate)."""
        return {"kappa": number_text(self.kappa), "x0[0]": number_text(self.x0[0]),
                "x0[1]": number_text(self.x0[1])}

    def numbers(self) -> list[tuple[str, str]]:
        """The student's numbers, as (name, value) lines for ``dlmath variants show``."""
        kappa, (x, y) = self.kappa, self.x0
        ratio = (kappa - 1) / (kappa + 1)
        sweep = self.sweep()
        return [("f2(x, y)", f"x^2 + {number_text(kappa)} y^2"),
                ("Hessian eigenvalues (mu, L)", numbers_text(self.curvatures)),
                ("kappa = L / mu (KAPPA)", number_text(kappa)),
                ("start X0 = (x0, y0)", numbers_text(self.x0)),
                ("lr 1/L = 1/(2 kappa)", number_text(self.learning_rate("1/L"))),
                ("lr optimal = 2/(2 + 2 kappa)",
                 f"2/{number_text(2 + 2 * kappa)} = {number_text(self.learning_rate('optimal'))}"),
                ("factors (x, y) at 1/L", numbers_text((1 - 1 / kappa, 0.0))),
                ("factors (x, y) at optimal", numbers_text((ratio, -ratio))),
                ("2 x0 (1/L: gradient norm 2 x0 (1 - 1/kappa)^k)", number_text(2 * x)),
                ("g0 = ||grad f2(X0)|| (optimal: g0 factor^k)",
                 number_text(2 * math.hypot(x, kappa * y))),
                ("kappa y0 / x0 (y- over x-gradient at X0)", number_text(kappa * y / x)),
                ("predicted_iterations(kappa, 1e-6)", str(self.predicted_iterations())),
                ("sweep kappa = 10, 100, 1000: iterations/kappa, 1/L",
                 ", ".join(f"{r:.2f}" for r in sweep["1/L"])),
                ("  which settles at log(2 x0 / 1e-6)", f"{math.log(2 * abs(x) / TOL):.2f}"),
                ("sweep kappa = 10, 100, 1000: iterations/kappa, optimal",
                 ", ".join(f"{r:.2f}" for r in sweep["optimal"]))]

    def results_table(self) -> tuple[list[str], list[list[object]]]:
        """``table()`` (Task 5's expected rows): a header and one row per function and rule."""
        rows = self.table()
        header = list(rows[0])
        return header, [[row[column] for column in header] for row in rows]

    def _repr_markdown_(self) -> str:
        kappa, (x, y) = (number_text(self.kappa), self.x0)
        return (f"**Your numbers.** $f_2(x, y) = x^2 + {kappa}\\,y^2$: its Hessian is "
                f"$\\operatorname{{diag}}(2, {number_text(2 * self.kappa)})$, so "
                f"$\\kappa = {kappa}$ (`KAPPA`); start $\\mathbf{{x}}_0 = ({number_text(x)}, "
                f"{number_text(y)})$ (`X0`). On $f_2$, $\\eta = 1/L = "
                f"{number_text(self.learning_rate('1/L'))}$ and $\\eta^\\star = "
                f"2/{number_text(2 + 2 * self.kappa)}$; at $\\eta = 1/L$ gradient descent from "
                f"$\\mathbf{{x}}_0$ needs {self.iterations('1/L')} updates to bring the gradient "
                f"norm below $10^{{-6}}$ (Task 3).")


def ex5_parameters(key: str) -> ConditioningProblem:
    """Exercise 5's numbers for ``key`` (the shared variant: kappa = 100, x0 = (1.8, 1.5))."""
    if check_key(key) == SHARED:
        return ConditioningProblem(100.0, (1.8, 1.5))
    return ConditioningProblem(
        kappa=draw(key, EX5, "kappa", EX5_KAPPAS),
        x0=(draw(key, EX5, "x0[0]", EX5_X), draw(key, EX5, "x0[1]", EX5_Y)))
