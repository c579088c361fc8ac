"""A flat draw reshaped to (n, n), scipy.linalg.eigvals, and sigma_max / sigma_min without a branch.

rng.standard_normal(n * n).reshape(n, n) fills the matrix with the same numbers, in the same
order, as rng.standard_normal((n, n)); dividing by a zero sigma_min gives inf in NumPy floats.

kind: alternative
"""
import scipy.linalg


def init_weights(n, scheme, rng):
    gains = {"xavier": 1.0, "he": 2.0}
    if scheme not in gains:
        raise ValueError(f"unknown scheme {scheme}: use 'xavier' or 'he'")
    return rng.standard_normal(n * n).reshape(n, n) / np.sqrt(n / gains[scheme])


def spectrum(W):
    values = scipy.linalg.eigvals(W)
    return values[np.argsort(np.abs(values))[::-1]]


def condition_number(W):
    s = np.linalg.svd(np.asarray(W, dtype=float), compute_uv=False)
    with np.errstate(divide="ignore"):
        return s.max() / s.min()
