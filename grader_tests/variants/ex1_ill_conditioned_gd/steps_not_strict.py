"""Uses <= tol instead of the strict < tol.

kind: mistake
loses: test_steps_to_tolerance
"""


def steps_to_tolerance(path, tol=1e-6):
    for k, row in enumerate(path):
        if np.linalg.norm(row) <= tol:
            return k
    return None
