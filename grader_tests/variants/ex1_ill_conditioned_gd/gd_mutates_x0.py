"""Updates x0 in place (x = x0; x -= ...), so the caller's array changes.

kind: mistake
loses: test_gradient_descent_contract, test_paths
"""


def gradient_descent(grad, x0, lr, n_steps):
    if lr <= 0 or n_steps < 0:
        raise ValueError("lr must be > 0 and n_steps >= 0")
    x = x0
    path = [np.array(x, dtype=float)]
    for _ in range(n_steps):
        x -= lr * grad(x)
        path.append(np.array(x, dtype=float))
    return np.array(path)
