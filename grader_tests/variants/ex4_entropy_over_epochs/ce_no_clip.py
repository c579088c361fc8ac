"""Takes log q without clipping, so q = 0 where p > 0 gives infinity.

kind: mistake
loses: test_cross_entropy, test_kl_divergence
"""


def cross_entropy(p, q):
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.sum(np.where(p > 0, p * np.log(q), 0.0), axis=-1)
