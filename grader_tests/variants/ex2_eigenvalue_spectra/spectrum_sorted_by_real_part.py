"""Sorts the eigenvalues with np.sort (by real part) instead of by modulus.

kind: mistake
loses: test_spectrum
"""


def spectrum(W):
    return np.sort(np.linalg.eigvals(W))[::-1]
