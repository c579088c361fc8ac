"""Validates the sums with np.isclose's default tolerances, which accept sums up to about 1 + 1e-5.

kind: mistake
loses: test_entropy_validation
"""


def entropy(p):
    p = np.asarray(p, dtype=float)
    if np.any(p < 0) or not np.all(np.isclose(p.sum(axis=-1), 1.0)):
        raise ValueError("not a probability distribution")
    safe = np.where(p > 0, p, 1.0)
    return -np.sum(p * np.log(safe), axis=-1)
