"""Counts steps from 1 (returns k + 1).

kind: mistake
loses: test_steps_to_tolerance
"""


def steps_to_tolerance(path, tol=1e-6):
    for k, row in enumerate(path):
        if np.linalg.norm(row) < tol:
            return k + 1
    return None
