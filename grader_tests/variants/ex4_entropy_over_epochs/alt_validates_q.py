"""Also checks that q is a distribution (rows summing to 1 within 1e-6), as it is in every test.

kind: alternative
"""


def cross_entropy(p, q):
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    if np.any(q < 0) or np.any(np.abs(q.sum(axis=-1) - 1) > 1e-6):
        raise ValueError("q must be a probability distribution")
    return -np.sum(p * np.log(np.clip(q, 1e-12, 1.0)), axis=-1)
