"""Never raises ValueError for invalid distributions.

kind: mistake
loses: test_entropy_validation
"""


def entropy(p):
    p = np.asarray(p, dtype=float)
    safe = np.where(p > 0, p, 1.0)
    return -np.sum(p * np.log(safe), axis=-1)
