"""Leaves the starting point out of the path (n_steps rows instead of n_steps + 1).

kind: mistake
loses: test_gradient_descent_values, test_gradient_descent_contract, test_paths
"""


def gradient_descent(grad, x0, lr, n_steps):
    if lr <= 0 or n_steps < 0:
        raise ValueError("lr must be > 0 and n_steps >= 0")
    x = np.array(x0, dtype=float)
    rows = []
    for _ in range(n_steps):
        x = x - lr * grad(x)
        rows.append(x)
    return np.array(rows, dtype=float).reshape(n_steps, len(x0))
