"""Replaces the zeros of p by 1 in place to dodge log 0 (1 log 1 = 0), changing the caller's p:
KL, which uses it, changes its p too, and training_curves fails on its read-only label rows.

kind: mistake
loses: test_entropy, test_kl_divergence, test_training_curves
"""


def entropy(p):
    p = np.asarray(p, dtype=float)
    if np.any(p < 0) or np.any(np.abs(p.sum(axis=-1) - 1) > 1e-6):
        raise ValueError("p must be a probability distribution")
    p[p == 0] = 1.0
    return -np.sum(p * np.log(p), axis=-1)
