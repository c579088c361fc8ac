"""Stops when the largest gradient component (the max-norm) is below tol.

kind: mistake
loses: test_iterations_to_converge
"""


def iterations_to_converge(grad, x0, lr, tol=1e-6, max_iter=10_000):
    x = np.array(x0, dtype=float)
    for k in range(max_iter + 1):
        g = np.asarray(grad(x), dtype=float)
        if np.max(np.abs(g)) < tol:
            return k
        x = x - lr * g
    return None
