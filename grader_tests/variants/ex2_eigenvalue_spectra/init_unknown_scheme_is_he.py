"""Treats every scheme other than xavier as he instead of raising ValueError.

kind: mistake
loses: test_init_weights
"""


def init_weights(n, scheme, rng):
    scale = np.sqrt(1.0 / n) if scheme == "xavier" else np.sqrt(2.0 / n)
    return rng.standard_normal((n, n)) * scale
