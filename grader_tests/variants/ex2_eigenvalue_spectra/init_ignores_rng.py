"""Ignores the given generator and seeds its own with 0.

kind: mistake
loses: test_init_weights, test_spectrum_table
"""


def init_weights(n, scheme, rng):
    if scheme not in ("xavier", "he"):
        raise ValueError("scheme must be 'xavier' or 'he'")
    scale = np.sqrt((1.0 if scheme == "xavier" else 2.0) / n)
    return np.random.default_rng(0).standard_normal((n, n)) * scale
