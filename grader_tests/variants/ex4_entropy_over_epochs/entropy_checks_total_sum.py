"""Validates the total sum of a 2-D array instead of each row, rejecting every valid batch.

kind: mistake
loses: test_entropy, test_kl_divergence, test_training_curves
"""


def entropy(p):
    p = np.asarray(p, dtype=float)
    if np.any(p < 0) or abs(p.sum() - 1) > 1e-6:
        raise ValueError("not a probability distribution")
    safe = np.where(p > 0, p, 1.0)
    return -np.sum(p * np.log(safe), axis=-1)
