"""Computes p * log p directly, so a zero probability gives nan.

kind: mistake
loses: test_entropy, test_kl_divergence, test_training_curves
"""


def entropy(p):
    p = np.asarray(p, dtype=float)
    if np.any(p < 0) or not np.allclose(p.sum(axis=-1), 1, rtol=0, atol=1e-6):
        raise ValueError("not a probability distribution")
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.sum(p * np.log(p), axis=-1)
