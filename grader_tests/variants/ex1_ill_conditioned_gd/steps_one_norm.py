"""Measures a row by the sum of its absolute values (the 1-norm).

kind: mistake
loses: test_steps_to_tolerance
"""


def steps_to_tolerance(path, tol=1e-6):
    for k, row in enumerate(path):
        if np.sum(np.abs(row)) < tol:
            return k
    return None
