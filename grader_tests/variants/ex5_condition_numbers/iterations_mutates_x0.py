"""Updates the caller's x0 in place.

Its convergence table then runs from a start that earlier calls moved, and so does its plot
(plot_convergence starts from the X0 that iterations_to_converge zeroed): the grader checks
both against the true X0, outside the student's kernel.

kind: mistake
loses: test_iterations_edge_cases, test_convergence_table, test_plot_convergence
"""


def iterations_to_converge(grad, x0, lr, tol=1e-6, max_iter=10_000):
    x = np.asarray(x0, dtype=float)
    for k in range(max_iter + 1):
        g = np.asarray(grad(x), dtype=float)
        if np.linalg.norm(g) < tol:
            return k
        x -= lr * g
    return None
