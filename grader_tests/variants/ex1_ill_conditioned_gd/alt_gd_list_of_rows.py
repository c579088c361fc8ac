"""Collects rows in a Python list and stacks them at the end.

kind: alternative
"""


def gradient_descent(grad, x0, lr, n_steps):
    if not lr > 0:
        raise ValueError("lr must be positive")
    if n_steps < 0:
        raise ValueError("n_steps must be non-negative")
    x = np.array(x0, dtype=np.float64)
    rows = [x]
    for _ in range(n_steps):
        x = x - lr * grad(x)
        rows.append(x)
    return np.vstack(rows)
