"""Sorts by modulus, but smallest first.

kind: mistake
loses: test_spectrum
"""


def spectrum(W):
    eigenvalues = np.linalg.eigvals(W)
    return eigenvalues[np.argsort(np.abs(eigenvalues))]
