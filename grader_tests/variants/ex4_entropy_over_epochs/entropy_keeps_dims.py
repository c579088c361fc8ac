"""Sums with keepdims=True: a 1-D p gives an array of shape (1,), not a number.

kind: mistake
loses: test_entropy
"""


def entropy(p):
    p = np.asarray(p, dtype=float)
    if np.any(p < 0) or np.any(np.abs(p.sum(axis=-1) - 1) > 1e-6):
        raise ValueError("p must be a probability distribution")
    terms = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
    return -terms.sum(axis=-1, keepdims=True) if p.ndim == 1 else -terms.sum(axis=-1)
