"""Raises ValueError for an unknown scheme, but the message does not say which are valid.

kind: mistake
loses: test_init_weights
"""


def init_weights(n, scheme, rng):
    scales = {"xavier": np.sqrt(1.0 / n), "he": np.sqrt(2.0 / n)}
    if scheme not in scales:
        raise ValueError("bad scheme")
    return rng.standard_normal((n, n)) * scales[scheme]
