"""Computes -sum q log p (arguments swapped).

kind: mistake
loses: test_cross_entropy, test_kl_divergence, test_training_curves
"""


def cross_entropy(p, q):
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    return -np.sum(q * np.log(np.clip(p, 1e-12, 1.0)), axis=-1)
