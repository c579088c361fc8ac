"""Updates first and checks afterwards, so k = 0 can never be returned.

kind: mistake
loses: test_iterations_edge_cases
"""


def iterations_to_converge(grad, x0, lr, tol=1e-6, max_iter=10_000):
    x = np.array(x0, dtype=float)
    for k in range(1, max_iter + 1):
        x = x - lr * np.asarray(grad(x), dtype=float)
        if np.linalg.norm(grad(x)) < tol:
            return k
    return None
