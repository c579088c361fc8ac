"""Uses log base 2 in the cross-entropy.

kind: mistake
loses: test_cross_entropy, test_kl_divergence, test_training_curves
"""


def cross_entropy(p, q):
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    return -np.sum(p * np.log2(np.clip(q, 1e-12, 1.0)), axis=-1)
