"""Steps up the gradient (x + lr * grad) instead of down.

kind: mistake
loses: test_gradient_descent_values, test_gradient_descent_contract, test_paths
"""


def gradient_descent(grad, x0, lr, n_steps):
    if lr <= 0 or n_steps < 0:
        raise ValueError("lr must be > 0 and n_steps >= 0")
    path = np.zeros((n_steps + 1, len(x0)))
    path[0] = x0
    for k in range(n_steps):
        path[k + 1] = path[k] + lr * grad(path[k])
    return path
