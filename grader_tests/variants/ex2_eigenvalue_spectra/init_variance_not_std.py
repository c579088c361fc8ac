"""Scales by the variance 2/n instead of the standard deviation sqrt(2/n).

kind: mistake
loses: test_init_weights, test_spectrum_table
"""


def init_weights(n, scheme, rng):
    if scheme not in ("xavier", "he"):
        raise ValueError("scheme must be 'xavier' or 'he'")
    variance = 1.0 / n if scheme == "xavier" else 2.0 / n
    return rng.standard_normal((n, n)) * variance
