"""Builds the path functionally with itertools.accumulate; loops for the other answers.

kind: alternative
"""
import itertools


def gradient_descent(grad, x0, lr, n_steps):
    if lr <= 0 or n_steps < 0:
        raise ValueError(f"invalid lr={lr} or n_steps={n_steps}")
    start = np.asarray(x0, dtype=float).copy()
    steps = itertools.accumulate(range(n_steps), lambda x, _: x - lr * np.asarray(grad(x)),
                                 initial=start)
    return np.array(list(steps), dtype=float)


def steps_to_tolerance(path, tol=1e-6):
    for k in range(len(path)):
        if np.sqrt(np.sum(np.square(path[k]))) < tol:
            return k
    return None
