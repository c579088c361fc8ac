"""Hard-codes two coordinates, so it fails for any other dimension.

kind: mistake
loses: test_gradient_descent_values
"""


def gradient_descent(grad, x0, lr, n_steps):
    if lr <= 0 or n_steps < 0:
        raise ValueError("lr must be > 0 and n_steps >= 0")
    path = np.zeros((n_steps + 1, 2))
    path[0] = x0[:2]
    for k in range(n_steps):
        path[k + 1] = path[k] - lr * np.asarray(grad(path[k]))[:2]
    return path
