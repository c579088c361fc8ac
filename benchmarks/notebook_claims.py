"""Recomputes every number the notebooks' text and hidden tests state since issue 18.

Each line prints a claim's value as computed here; compare it with the notebook's text.

    .venv/bin/python benchmarks/notebook_claims.py            # ~5 min on one core (the simulations)
    .venv/bin/python benchmarks/notebook_claims.py --samples 0.1   # a tenth of the matrices
"""

from __future__ import annotations

import argparse
import os

# One thread per process: a threaded BLAS only slows a busy machine down (and the timings
# would not be reproducible).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import math  # noqa: E402

import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402


def ex1() -> None:
    print("ex1: norms of [[1, 1], [8e-4, 8e-4], [0, 0]]: Euclidean",
          np.linalg.norm([[1, 1], [8e-4, 8e-4], [0, 0]], axis=1), "max",
          np.abs([[1, 1], [8e-4, 8e-4], [0, 0]]).max(axis=1))
    path = np.array([[2.0, 0.0], [1.0, 1.0], [6e-4, 6e-4], [0.5, 0.0], [0.0, 0.0]])
    print("ex1: the non-monotone path: 2-norms", np.linalg.norm(path, axis=1).round(6),
          "1-norms", np.abs(path).sum(axis=1).round(6))
    for matrix in ([[1, 2], [2, 1]], [[-2, 1], [1, -2]], [[2, -1], [-1, 2]]):
        print(f"ex1/ex5: eigenvalues of {matrix}: {np.linalg.eigvalsh(matrix)}, "
              f"det {np.linalg.det(matrix):.0f}")


def ex2(scale: float) -> None:
    rng = np.random.default_rng(2026)
    for n, count in ((100, 2000), (500, 300), (1000, 150)):
        count = max(2, round(count * scale))
        excess = np.array([np.abs(np.linalg.eigvals(rng.standard_normal((n, n)) / np.sqrt(n))).max()
                           for _ in range(count)]) - 1
        print(f"ex2: n={n:4d} ({count} matrices): excess mean {excess.mean():.2%}, sd "
              f"{excess.std(ddof=1):.2%}, min {excess.min():.1%}, max {excess.max():.1%}; "
              f"sqrt(ln n/(4n)) = {math.sqrt(math.log(n) / (4 * n)):.1%}; tolerance 3/sqrt(n) = "
              f"{3 / math.sqrt(n):.1%}, "
              f"{(3 / math.sqrt(n) - excess.mean()) / excess.std(ddof=1):.1f} sd above the mean")
    W = np.random.default_rng(0).standard_normal((500, 500)) * np.sqrt(1 / 500)
    moduli, sigma = np.abs(np.linalg.eigvals(W)), np.linalg.svd(W, compute_uv=False)
    print(f"ex2: |lambda| of W (Xavier, n=500, seed 0): mean {moduli.mean():.4f} (circular law "
          f"2R/3 = {2 / 3:.4f}), KS distance to r^2 on [0, 1]: "
          f"{stats.kstest(np.minimum(moduli, 1), lambda r: np.clip(r, 0, 1) ** 2).statistic:.3f}")
    quarter_circle = lambda x: (x * np.sqrt(4 - x * x) / 2 + 2 * np.arcsin(x / 2)) / np.pi  # noqa: E731
    print(f"ex2: singular values: mean {sigma.mean():.4f} (quarter-circle law 8/(3 pi) = "
          f"{8 / (3 * np.pi):.4f}), max {sigma.max():.3f} (edge 2), KS distance "
          f"{stats.kstest(np.minimum(sigma, 2), quarter_circle).statistic:.3f}")
    A = np.random.default_rng(1).standard_normal((6, 6))
    H = A @ A.T + 0.1 * np.eye(6)
    singular, eigen = np.linalg.svd(H, compute_uv=False), np.linalg.eigvalsh(H)
    print(f"ex2/ex5: an SPD matrix: sigma_max/sigma_min {singular[0] / singular[-1]:.6f}, "
          f"lambda_max/lambda_min {eigen[-1] / eigen[0]:.6f}")
    W5 = np.random.default_rng(2).standard_normal((5, 5))
    s5, e5 = np.linalg.svd(W5, compute_uv=False), np.linalg.eigvalsh(W5 @ W5.T)
    print(f"ex2: kappa(W W^T) {e5[-1] / e5[0]:.6f} = kappa(W)^2 {(s5[0] / s5[-1]) ** 2:.6f}")


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12))


def ex3() -> None:
    f, x = (lambda v: np.sum(np.exp(v))), np.array([0.3, -0.2, 0.1])
    unit = np.eye(3)
    eps_values = np.logspace(-13, -1, 25)  # the notebook's sweep
    central = np.array([relative_error(np.exp(x), np.array(
        [(f(x + e * u) - f(x - e * u)) / (2 * e) for u in unit])) for e in eps_values])
    forward = np.array([relative_error(np.exp(x), np.array(
        [(f(x + e * u) - f(x)) / e for u in unit])) for e in eps_values])
    print(f"ex3: central minimum {central.min():.2g} at eps {eps_values[central.argmin()]:.0e}; "
          f"forward minimum {forward.min():.2g} at eps {eps_values[forward.argmin()]:.0e}, where "
          f"central is {central[np.argmin(abs(eps_values - 1e-8))]:.2g}")
    right, left = eps_values >= 1e-3, eps_values <= 1e-11
    for name, curve in (("central", central), ("forward", forward)):
        print(f"ex3: {name} log-log slope right of the minimum "
              f"{np.polyfit(np.log(eps_values[right]), np.log(curve[right]), 1)[0]:.2f}, left "
              f"{np.polyfit(np.log(eps_values[left]), np.log(curve[left]), 1)[0]:.2f}")
    u = np.finfo(float).eps / 2
    print(f"ex3: u^(1/3) = {u ** (1 / 3):.2g}, u^(2/3) = {u ** (2 / 3):.2g}, "
          f"u^(1/2) = {u ** 0.5:.2g}")
    # The draws of the notebook's make_problem(seed, N, D, H, C, logit_scale=1000).
    for seed, (N, D, H, C) in ((22, (9, 3, 7, 4)), (24, (8, 5, 3, 4))):
        rng = np.random.default_rng(seed)
        W1, b1 = rng.standard_normal((D, H)), rng.standard_normal(H)
        W2, b2 = rng.standard_normal((H, C)) * 1000, rng.standard_normal(C) * 1000
        X, y = rng.standard_normal((N, D)), rng.integers(0, C, size=N)
        z = np.tanh(X @ W1 + b1) @ W2 + b2
        gaps = z.max(axis=1) - z[np.arange(len(y)), y]
        print(f"ex3: hidden network (seed {seed}, logit scale 1000): the true class lies up to "
              f"{gaps.max():.0f} below the maximum; exp(-745) = {np.exp(-745.0):.1g}, "
              f"exp(-746) = {np.exp(-746.0):.1g}")
    exact = np.array([(3 * 0.5 - 3 * -0.5) / 1.0, (4 * 0.5 - 4 * -0.5) / 1.0])
    print(f"ex3: central difference of 3 v0 + 4 v1 at 0, eps 0.5: {exact}; relative error against "
          f"(9, 12): {relative_error(np.array([9.0, 12.0]), exact)!r}")


def ex4() -> None:
    predictions = np.array([[0.30, 0.20, 0.20, 0.15, 0.15], [0.50, 0.15, 0.15, 0.10, 0.10],
                            [0.80, 0.07, 0.07, 0.03, 0.03], [0.95, 0.02, 0.01, 0.01, 0.01]])
    entropies = -np.sum(predictions * np.log(predictions), axis=1)
    print("ex4: cross-entropy = KL per epoch:", (-np.log(predictions[:, 0])).round(3),
          "entropy of the predictions:", entropies.round(3), f"log 5 = {math.log(5):.3f}")


def ex5() -> None:
    print(f"ex5: at eta* = 2/202 the y factor is {1 - 400 / 202:.4f}, "
          f"the x factor {1 - 4 / 202:.4f}")
    logs = {"math.log": math.log, "np.log": np.log, "math.log2": math.log2, "np.log2": np.log2,
            "math.log10": math.log10, "np.log10": np.log10}
    for kappa, eps in ((3, 2 ** -10), (3, 0.125)):
        ratios = {name: log(eps) / log((kappa - 1) / (kappa + 1)) for name, log in logs.items()}
        print(f"ex5: predicted_iterations({kappa}, {eps}): ratio in every log base "
              f"{sorted(set(map(float, ratios.values())))}, ceil {math.ceil(ratios['math.log'])}, "
              f"int + 1 = {int(ratios['math.log']) + 1}")

    def iterations(grad, x0, lr, tol=1e-6, max_iter=10_000, order=None):
        x = np.array(x0, dtype=float)
        for k in range(max_iter + 1):
            g = np.asarray(grad(x), dtype=float)
            if np.linalg.norm(g, ord=order) < tol:
                return k
            x = x - lr * g
        return None

    identity = lambda v: np.asarray(v, dtype=float)  # noqa: E731
    print("ex5: grad = v from [1, 1], lr 0.1, tol 0.1: Euclidean",
          iterations(identity, [1.0, 1.0], 0.1, 0.1), "max-norm",
          iterations(identity, [1.0, 1.0], 0.1, 0.1, order=np.inf), "1-norm",
          iterations(identity, [1.0, 1.0], 0.1, 0.1, order=1))
    print("ex5: default max_iter: tol 0.999^9999.5 ->",
          iterations(identity, [1.0], 1e-3, 0.999 ** 9999.5), "; tol 0.999^10000.5 ->",
          iterations(identity, [1.0], 1e-3, 0.999 ** 10000.5))
    print("ex5: kappa   1/L  optimal  iterations/kappa: 1/L  optimal  ratio  1/2 log(g0/tol)")
    X0 = np.array([1.8, 1.5])
    for kappa in (10, 100, 1000):
        grad = lambda v, k=kappa: np.array([2 * v[0], 2 * k * v[1]])  # noqa: E731
        slow = iterations(grad, X0, 1 / (2 * kappa), max_iter=50_000)
        fast = iterations(grad, X0, 2 / (2 + 2 * kappa), max_iter=50_000)
        start = math.hypot(3.6, 3 * kappa)
        print(f"     {kappa:5d} {slow:6d} {fast:6d} {slow / kappa:18.2f} {fast / kappa:8.2f} "
              f"{slow / fast:6.2f} {0.5 * math.log(start / 1e-6):8.2f}")
    print(f"ex5: log(3.6e6) = {math.log(3.6e6):.2f}; 300/3.6 = {300 / 3.6:.0f}; "
          f"1e-6/300 = {1e-6 / math.hypot(3.6, 300):.2g}; "
          f"2 log(3.6e6)/log(3e8) = {2 * math.log(3.6e6) / math.log(3e8):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=float, default=1.0,
                        help="fraction of the simulated matrices (default 1: 2000/300/150)")
    args = parser.parse_args()
    ex1()
    ex2(args.samples)
    ex3()
    ex4()
    ex5()


if __name__ == "__main__":
    main()
