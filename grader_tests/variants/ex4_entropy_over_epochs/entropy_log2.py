"""Uses log base 2 (bits) instead of the natural log (nats).

kind: mistake
loses: test_entropy, test_kl_divergence, test_training_curves
"""


def entropy(p):
    p = np.asarray(p, dtype=float)
    if np.any(p < 0) or not np.allclose(p.sum(axis=-1), 1, rtol=0, atol=1e-6):
        raise ValueError("not a probability distribution")
    safe = np.where(p > 0, p, 1.0)
    return -np.sum(p * np.log2(safe), axis=-1)
