"""Exercise 3's parameters: gradient checking a two-layer network.

The student's *example network* is the notebook's ``make_problem(seed)`` with the student's
sizes N (batch), D (inputs), H (hidden units) and C (classes); the visible tests and the
"try it" cell use it. The hidden tests keep their own fixed networks. Every range contains the
shared variant (the exercise as written before variants existed); ``tests/variants/test_ex3.py``
checks, over many keys and on the notebook's reference solution, every property the notebook's
text, tests and written task rely on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dlmath.variants.derive import SHARED, check_key, draw
from dlmath.variants.text import number_text

EX3 = "ex3_gradient_checking"

# Each size at most today's largest in a test (N=10, D=5, H=7, C=5) and at least what the
# tests need: N >= 2 rows, so that a missing 1/N shows; C >= 3 classes, so that the visible
# loss test's b2 = [2, 0, -1, ...] fits. The report's finite differences cost one pair of
# forward passes per parameter: at most 54 here (D = H = 5, C = 4), 43 in the shared variant
# and 53 in today's largest hidden test.
EX3_N = (4, 5, 6, 7, 8)
EX3_D = (3, 4, 5)
EX3_H = (3, 4, 5)
EX3_C = (3, 4)
EX3_SEEDS = tuple(range(1000))
PARAMETER_NAMES = ("W1", "b1", "W2", "b2")


@dataclass(frozen=True)
class GradientCheckProblem:
    """Exercise 3: the example network ``make_problem(seed)`` with N rows of D inputs, H tanh
    units and C classes (W1 is D x H, b1 has H entries, W2 is H x C, b2 has C entries)."""

    seed: int
    N: int
    D: int
    H: int
    C: int

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Each parameter's shape, by name."""
        return {"W1": (self.D, self.H), "b1": (self.H,), "W2": (self.H, self.C),
                "b2": (self.C,)}

    @property
    def size(self) -> int:
        """How many numbers the parameters hold: the report's central differences take two
        forward passes for each."""
        return sum(int(np.prod(shape)) for shape in self.shapes().values())

    def network(self) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
        """(params, X, y) as the notebook's ``make_problem(seed)`` draws them (same generator,
        same order; the tests check that they agree)."""
        rng = np.random.default_rng(self.seed)
        params = {name: rng.standard_normal(shape) for name, shape in self.shapes().items()}
        return params, rng.standard_normal((self.N, self.D)), rng.integers(0, self.C, self.N)

    def loss_and_gradients(self) -> tuple[float, dict[str, np.ndarray]]:
        """The example network's mean cross-entropy loss and its gradients, by backprop."""
        return backprop(*self.network())

    def gradient_report(self, eps: float = 1e-5) -> dict[str, float]:
        """Task 3 on the example network, as the reference solution computes it: per parameter,
        the relative error between backprop and central differences (step ``eps``) of the loss
        as a function of that parameter alone. Another correct solution rounds differently, so
        its numbers differ, but lie between about 1e-12 and 1e-9 too."""
        params, X, y = self.network()
        _, gradients = backprop(params, X, y)
        report = {}
        for name in PARAMETER_NAMES:
            numeric = np.zeros_like(params[name])
            for index in np.ndindex(numeric.shape):
                differences = []
                for step in (eps, -eps):
                    point = params[name].copy()
                    point[index] += step
                    differences.append(backprop({**params, name: point}, X, y)[0])
                numeric[index] = (differences[0] - differences[1]) / (2 * eps)
            report[name] = relative_error(gradients[name], numeric)
        return report

    def expected(self) -> dict[str, object]:
        """What the visible tests and the written task rely on: the loss with all-zero logits
        (log C), the example network's loss, and per parameter the gradient's norm and the
        reference's gradient report."""
        loss, gradients = self.loss_and_gradients()
        return {"loss with W2 = 0, b2 = 0": float(np.log(self.C)), "loss": loss,
                "gradient norm": {name: float(np.linalg.norm(gradients[name]))
                                  for name in PARAMETER_NAMES},
                "gradient report": self.gradient_report()}

    def groups(self) -> dict[str, str]:
        """The parameters drawn independently, by value, for the item analysis (the sizes; the
        seed has a thousand values, too many to compare pass rates by)."""
        return {"N": str(self.N), "D": str(self.D), "H": str(self.H), "C": str(self.C)}

    def numbers(self) -> list[tuple[str, str]]:
        """The student's numbers, as (name, value) lines for ``dlmath variants show``."""
        expected = self.expected()
        return [("example network", f"make_problem({self.seed})"),
                ("sizes N, D, H, C", f"{self.N}, {self.D}, {self.H}, {self.C}"),
                ("parameters", f"{self.size} numbers"),
                ("loss of the example network", number_text(expected["loss"])),
                ("loss with W2 = 0, b2 = 0 (log C)",
                 number_text(expected["loss with W2 = 0, b2 = 0"]))]

    def results_table(self) -> tuple[list[str], list[list[object]]]:
        """Per parameter: its shape, the norm of the example network's gradient and the
        reference's gradient report (a correct one lies between about 1e-12 and 1e-9)."""
        expected = self.expected()
        return (["parameter", "shape", "gradient norm", "report (reference solution)"],
                [[name, " x ".join(map(str, shape)), expected["gradient norm"][name],
                  f"{expected['gradient report'][name]:.1e}"]
                 for name, shape in self.shapes().items()])

    def _repr_markdown_(self) -> str:
        return (f"**Your numbers.** Your example network is `make_problem({self.seed})`: "
                f"a batch of $N = {self.N}$ inputs of dimension $D = {self.D}$, $H = {self.H}$ "
                f"hidden units and $C = {self.C}$ classes, so $W_1$ is ${self.D}\\times{self.H}$, "
                f"$W_2$ is ${self.H}\\times{self.C}$ ({self.size} parameters in all).")


def backprop(params: dict[str, np.ndarray], X: np.ndarray,
             y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
    """The two-layer network's mean cross-entropy loss and its gradients by backprop, as the
    notebook's introduction derives them (the loss from the log-softmax): params W1 (D, H),
    b1 (H,), W2 (H, C), b2 (C,); X (N, D); y (N,) integer labels."""
    rows = np.arange(len(X))
    h = np.tanh(X @ params["W1"] + params["b1"])
    logits = h @ params["W2"] + params["b2"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    d_logits = np.exp(log_probs)
    d_logits[rows, y] -= 1.0
    d_logits /= len(X)
    d_pre = (d_logits @ params["W2"].T) * (1.0 - h ** 2)
    return float(-log_probs[rows, y].mean()), {
        "W1": X.T @ d_pre, "b1": d_pre.sum(axis=0), "W2": h.T @ d_logits,
        "b2": d_logits.sum(axis=0)}


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / max(||a|| + ||b||, 1e-12), norms over all entries (the notebook's)."""
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12))


def ex3_parameters(key: str) -> GradientCheckProblem:
    """Exercise 3's example network for ``key`` (the shared variant: ``make_problem(0)`` with
    N = 6, D = 4, H = 5, C = 3)."""
    if check_key(key) == SHARED:
        return GradientCheckProblem(seed=0, N=6, D=4, H=5, C=3)
    return GradientCheckProblem(seed=draw(key, EX3, "seed", EX3_SEEDS),
                                N=draw(key, EX3, "N", EX3_N), D=draw(key, EX3, "D", EX3_D),
                                H=draw(key, EX3, "H", EX3_H), C=draw(key, EX3, "C", EX3_C))
