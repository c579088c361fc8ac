"""Measures a row by its largest coordinate (the max-norm) instead of the Euclidean norm.

kind: mistake
loses: test_steps_to_tolerance
"""


def steps_to_tolerance(path, tol=1e-6):
    norms = np.abs(np.asarray(path, dtype=float)).max(axis=1)
    below = np.flatnonzero(norms < tol)
    return int(below[0]) if below.size else None
