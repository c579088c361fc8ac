"""Clips q in place (np.clip(..., out=q)), overwriting the caller's zeros with 1e-12 (KL, which
uses it, changes its q too).

kind: mistake
loses: test_cross_entropy, test_kl_divergence
"""


def cross_entropy(p, q):
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    np.clip(q, 1e-12, 1.0, out=q)
    return -np.sum(p * np.log(q), axis=-1)
