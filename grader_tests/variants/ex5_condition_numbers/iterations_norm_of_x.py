"""Stops on the distance to the origin, ||x_k|| < tol, instead of the gradient norm (exercise 1 habit).

kind: mistake
loses: test_iterations_to_converge, test_iterations_edge_cases, test_convergence_table
"""


def iterations_to_converge(grad, x0, lr, tol=1e-6, max_iter=10_000):
    x = np.array(x0, dtype=float)
    for k in range(max_iter + 1):
        if np.linalg.norm(x) < tol:
            return k
        x = x - lr * np.asarray(grad(x), dtype=float)
    return None
