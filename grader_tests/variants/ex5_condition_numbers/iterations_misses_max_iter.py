"""Checks before each of max_iter updates but never after the last one.

kind: mistake
loses: test_iterations_edge_cases
"""


def iterations_to_converge(grad, x0, lr, tol=1e-6, max_iter=10_000):
    x = np.array(x0, dtype=float)
    for k in range(max_iter):
        g = np.asarray(grad(x), dtype=float)
        if np.linalg.norm(g) < tol:
            return k
        x = x - lr * g
    return None
