"""A tiny epsilon inside the log instead of masks and clipping.

kind: alternative
"""


def entropy(p):
    p = np.array(p, dtype=np.float64)
    if p.min() < 0:
        raise ValueError("p has negative entries")
    if not np.all(np.isclose(p.sum(axis=-1), 1.0, rtol=0, atol=1e-6)):
        raise ValueError("p must sum to 1 along its last axis")
    return -(p * np.log(p + 1e-12)).sum(axis=-1)


def cross_entropy(p, q):
    return -(np.asarray(p) * np.log(np.asarray(q) + 1e-12)).sum(axis=-1)
