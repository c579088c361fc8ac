"""np.where(p > 0, p * np.log(p), 0): correct, though np.log(0) emits a RuntimeWarning.

kind: alternative
"""


def entropy(p):
    p = np.asarray(p, dtype=float)
    if (p < 0).any() or (np.abs(p.sum(axis=-1) - 1) > 1e-6).any():
        raise ValueError("p must be a probability distribution (non-negative, summing to 1)")
    return -np.sum(np.where(p > 0, p * np.log(p), 0.0), axis=-1)
