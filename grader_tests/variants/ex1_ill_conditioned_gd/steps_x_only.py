"""Measures only the x-coordinate instead of the norm of the whole row.

kind: mistake
loses: test_steps_to_tolerance
"""


def steps_to_tolerance(path, tol=1e-6):
    for k, row in enumerate(path):
        if abs(row[0]) < tol:
            return k
    return None
