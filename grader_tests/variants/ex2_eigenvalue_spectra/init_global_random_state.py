"""Uses NumPy's global random state (np.random.randn) instead of rng.

kind: mistake
loses: test_init_weights, test_spectrum_table
"""


def init_weights(n, scheme, rng):
    if scheme not in ("xavier", "he"):
        raise ValueError("scheme must be 'xavier' or 'he'")
    scale = np.sqrt((1.0 if scheme == "xavier" else 2.0) / n)
    return np.random.randn(n, n) * scale
