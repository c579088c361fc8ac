"""Requires every row to sum to exactly 1, so rows off by round-off are rejected.

Sums such as 0.7 + 0.2 + 0.1 (the hidden tests' soft label, in every student's test_training_curves)
or a normalised random row are not exactly 1.0 in floating point, and 1 + 5e-7 is within the
tolerance. (The rows of a student's PREDICTIONS may all sum to exactly 1.0, as for about two
students in three, so the visible checks of test_training_curves alone do not catch it.)

kind: mistake
loses: test_entropy, test_entropy_validation, test_training_curves
"""


def entropy(p):
    p = np.asarray(p, dtype=float)
    if np.any(p < 0) or np.any(p.sum(axis=-1) != 1):
        raise ValueError("not a probability distribution")
    safe = np.where(p > 0, p, 1.0)
    return -np.sum(p * np.log(safe), axis=-1)
