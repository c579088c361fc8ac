"""Every student's example network keeps exercise 3's maths and tests right.

Sampled over many student keys; each property is checked on the notebook's own reference
solution (its given cell and answer cells, run under each student's numbers) and, for the
gradients, against PyTorch's autograd.
"""

from __future__ import annotations

from typing import Any

import nbformat
import numpy as np
import pytest
import torch

from dlmath.cells import grade_id
from dlmath.course import repository_root
from dlmath.variants import SHARED
from dlmath.variants.derive import student_key
from dlmath.variants.ex3 import (
    EX3,
    PARAMETER_NAMES,
    GradientCheckProblem,
    backprop,
    ex3_parameters,
    relative_error,
)
from dlmath.variants.identity import grading_as

SECRET = bytes(range(32))
STUDENTS = [f"s{n:07d}" for n in range(1000)]
SHARED_PROBLEM = GradientCheckProblem(seed=0, N=6, D=4, H=5, C=3)


@pytest.fixture(scope="module")
def problems() -> dict[str, GradientCheckProblem]:
    """Student key -> numbers."""
    return {key: ex3_parameters(key) for key in (student_key(SECRET, s) for s in STUDENTS)}


@pytest.fixture(scope="module")
def notebook() -> dict[str, str]:
    """The source notebook's given cell and reference answer cells, by grade id."""
    path = repository_root() / "source" / EX3 / f"{EX3}.ipynb"
    cells = {grade_id(c): c.source for c in nbformat.read(path, as_version=4).cells}
    return {name: cells[name] for name in ("given_code", "answer_numerical_gradient",
                                           "answer_network", "answer_report")}


def run_reference(notebook: dict[str, str], key: str) -> dict[str, Any]:
    """The namespace of the notebook's given and reference answer cells for ``key``'s student
    (the solution markers are comments: the cells run as they are)."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    with grading_as(key):
        for source in notebook.values():
            exec(compile(source, "<ex3 reference>", "exec"), namespace)  # noqa: S102
    return namespace


def torch_gradients(params: dict[str, np.ndarray], X: np.ndarray,
                    y: np.ndarray) -> dict[str, np.ndarray]:
    """PyTorch's autograd, as the hidden tests' trusted reference computes it."""
    tensors = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
               for k, v in params.items()}
    h = torch.tanh(torch.as_tensor(X, dtype=torch.float64) @ tensors["W1"] + tensors["b1"])
    loss = torch.nn.functional.cross_entropy(h @ tensors["W2"] + tensors["b2"],
                                             torch.as_tensor(y))
    loss.backward()
    return {k: t.grad.numpy().copy() for k, t in tensors.items()}


def test_the_shared_variant_is_the_exercise_as_written(notebook: dict[str, str]) -> None:
    assert ex3_parameters(SHARED) == SHARED_PROBLEM
    namespace = run_reference(notebook, SHARED)
    # make_problem(0) with the defaults it had before variants.
    written = namespace["make_problem"](0, N=6, D=4, H=5, C=3)
    for given, expected in zip(namespace["make_problem"](0), written, strict=True):
        if isinstance(given, dict):
            assert all(np.array_equal(given[k], expected[k]) for k in PARAMETER_NAMES)
        else:
            assert np.array_equal(given, expected)
    # The model answer quotes this report: 2e-11 to 9e-11.
    report = SHARED_PROBLEM.expected()["gradient report"]
    assert f"{min(report.values()):.0e}" == "2e-11" and f"{max(report.values()):.0e}" == "9e-11"


def test_students_get_many_different_variants(problems: dict[str, GradientCheckProblem]) -> None:
    assert len(set(problems.values())) > 900
    for field in ("seed", "N", "D", "H", "C"):
        assert len({getattr(p, field) for p in problems.values()}) > 1, field
    assert ex3_parameters(student_key(SECRET, STUDENTS[1])) == list(problems.values())[1]
    other = [ex3_parameters(student_key(b"another secret!!", s)) for s in STUDENTS[:200]]
    assert sum(a != b for a, b in zip(other, problems.values(), strict=False)) > 190


def test_the_sizes_fit_the_tests_and_keep_the_run_time(
        problems: dict[str, GradientCheckProblem]) -> None:
    for p in problems.values():
        # A missing 1/N shows only for N >= 2; the loss test's b2 = [2, 0, -1, 1][:C] needs
        # 3 <= C <= 4; no size beyond today's largest test network (N=10, D=5, H=7, C=5).
        assert 2 <= p.N <= 10 and 1 <= p.D <= 5 and 1 <= p.H <= 7 and 3 <= p.C <= 4
        # The report's central differences: at most 54 parameters, 43 in the shared network.
        assert p.size == p.D * p.H + p.H + p.H * p.C + p.C <= 54


def test_the_reference_solution_checks_every_students_network(
        notebook: dict[str, str], problems: dict[str, GradientCheckProblem]) -> None:
    for key, p in problems.items():
        namespace = run_reference(notebook, key)
        params, X, y = namespace["make_problem"](p.seed)
        # The notebook's make_problem (with the student's defaults) is this module's network.
        mine, mine_X, mine_y = p.network()
        assert all(np.array_equal(params[k], mine[k]) for k in PARAMETER_NAMES)
        assert np.array_equal(X, mine_X) and np.array_equal(y, mine_y) and X.shape == (p.N, p.D)
        # The reference's backprop agrees with PyTorch and with backprop() here to round-off
        # (at most 5e-15 over 3000 students), below the report test's floor of 1e-14, which
        # therefore catches a report that compares with torch_gradients.
        loss, grads = namespace["two_layer_net"](params, X, y)
        trusted = torch_gradients(params, X, y)
        mine_loss, mine_grads = backprop(params, X, y)
        assert loss == pytest.approx(mine_loss, rel=1e-14)
        for k in PARAMETER_NAMES:
            assert relative_error(grads[k], trusted[k]) < 1e-14, (p, k)
            assert relative_error(grads[k], mine_grads[k]) < 1e-14, (p, k)
        # The text: a correct backprop's report lies between about 1e-12 and 1e-9, well inside
        # the test cell's bounds, 1e-14 and 1e-6 (the smallest over 5000 students: 4.6e-13).
        report = namespace["gradient_report"](params, X, y)
        assert all(3e-13 < report[k] < 3e-9 for k in PARAMETER_NAMES), (p, report)


@pytest.mark.skipif(np.finfo(np.longdouble).eps > 1e-18,
                    reason="needs extended precision to separate truncation from rounding")
def test_finite_differences_are_never_exact_on_a_students_network(
        problems: dict[str, GradientCheckProblem]) -> None:
    """The report test's floor: even where rounding errors cancel, central differences keep
    their truncation error eps^2 |f'''| / 6, above 1e-14. Computed here without rounding (the
    loss in extended precision), on a sample of the students (the smallest of 2000: 5.4e-14)."""
    eps = np.longdouble(1e-5)
    for p in list(problems.values())[:300]:
        params, X, y = p.network()
        _, grads = backprop(params, X, y)
        wide = {k: v.astype(np.longdouble) for k, v in params.items()}
        for k in PARAMETER_NAMES:
            numeric = np.zeros_like(wide[k])
            for index in np.ndindex(numeric.shape):
                step = np.zeros_like(wide[k])
                step[index] = eps
                numeric[index] = (_wide_loss({**wide, k: wide[k] + step}, X, y)
                                  - _wide_loss({**wide, k: wide[k] - step}, X, y)) / (2 * eps)
            assert relative_error(grads[k], numeric.astype(float)) > 2e-14, (p, k)


def _wide_loss(params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray) -> np.longdouble:
    """The mean cross-entropy loss, in the precision of ``params`` (not rounded to float64)."""
    h = np.tanh(X @ params["W1"] + params["b1"])
    logits = h @ params["W2"] + params["b2"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -log_probs[np.arange(len(X)), y].mean()


def test_the_example_networks_tell_the_common_mistakes_apart(
        problems: dict[str, GradientCheckProblem]) -> None:
    """The visible tests set W2 = 0; the report tests the full network. On every student's
    network a wrong tanh derivative or a transposed dW2 changes the gradient far beyond the
    report's threshold of 1e-6."""
    for p in problems.values():
        params, X, y = p.network()
        h = np.tanh(X @ params["W1"] + params["b1"])
        _, right = backprop(params, X, y)
        d_logits = np.exp(h @ params["W2"] + params["b2"])
        d_logits /= d_logits.sum(axis=1, keepdims=True)
        d_logits[np.arange(p.N), y] -= 1.0
        d_logits /= p.N
        wrong_tanh = X.T @ ((d_logits @ params["W2"].T) * (1.0 - h))
        assert relative_error(wrong_tanh, right["W1"]) > 1e-3, p
        if p.H == p.C:  # a transposed dW2 then has the right shape: its values must differ
            assert relative_error(d_logits.T @ h, right["W2"]) > 1e-3, p
