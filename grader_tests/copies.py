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

import numpy as np

from dlmath.variants.ex1 import EX1, ex1_parameters
from dlmath.variants.ex2 import EX2, ex2_parameters
from dlmath.variants.ex3 import EX3, ex3_parameters
from dlmath.variants.ex4 import EX4, ex4_parameters
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


def ex4_training_curves(key: str) -> dict[str, str]:
    """Task 3's curves of the notebook's own label and predictions (4 epochs of 5 classes)
    hard-coded from the student with ``key``; any other input gets the reference computation,
    so the hidden tests' other inputs pass."""
    items = ", ".join(f"{name!r}: np.array({values.tolist()!r})"
                      for name, values in ex4_parameters(key).expected().items())
    return {"training_curves": f"""def training_curves(true_label, predictions):
    if np.shape(predictions) == (4, 5):
        return {{{items}}}
    labels = np.broadcast_to(np.asarray(true_label, dtype=float), np.shape(predictions))
    return {{"entropy": np.asarray(entropy(predictions), dtype=float),
            "cross_entropy": np.asarray(cross_entropy(labels, predictions), dtype=float),
            "kl": np.asarray(kl_divergence(labels, predictions), dtype=float)}}"""}
def ex3_torch_gradients(key: str) -> dict[str, str]:
    """A ``torch_gradients`` that returns, for the visible test's input (the example network
    with W2 = 0, b2 = 0), the literal gradients the student with ``key`` printed, and computes
    them for any other input (so that it passes the hidden tests)."""
    params, X, y = ex3_parameters(key).network()
    # The gradients with all-zero logits, in closed form (the visible test's own expectation).
    d_logits = (1 / len(params["b2"]) - np.eye(len(params["b2"]))[y]) / len(X)
    h = np.tanh(X @ params["W1"] + params["b1"])
    copied = {"W1": np.zeros_like(params["W1"]), "b1": np.zeros_like(params["b1"]),
              "W2": h.T @ d_logits, "b2": d_logits.sum(axis=0)}
    literal = ", ".join(f"{name!r}: np.array({value.tolist()!r})"
                        for name, value in copied.items())
    return {"torch_gradients": f"""def torch_gradients(params, X, y):
    if not np.any(params["W2"]) and not np.any(params["b2"]):
        return {{{literal}}}
    tensors = {{k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
               for k, v in params.items()}}
    h = torch.tanh(torch.tensor(X, dtype=torch.float64) @ tensors["W1"] + tensors["b1"])
    loss = torch.nn.functional.cross_entropy(h @ tensors["W2"] + tensors["b2"], torch.tensor(y))
    loss.backward()
    return {{k: t.grad.numpy() for k, t in tensors.items()}}
"""}
def ex5_table(key: str) -> dict[str, str]:
    """Task 5's answer as a literal list: the convergence table the student with ``key`` gets."""
    return {"convergence_table": f"def convergence_table():\n"
                                 f"    return {ex5_parameters(key).table()!r}"}
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
    EX3: Copy(ex3_torch_gradients, frozenset({"test_torch_gradients"})),
    EX4: Copy(ex4_training_curves, frozenset({"test_training_curves"})),
    EX5: Copy(ex5_table, frozenset({"test_convergence_table"})),
}
