"""Uses the matrix 2-norm (largest singular value) as the spectral radius.

kind: mistake
loses: test_spectral_radius, test_spectrum_table
"""


def spectral_radius(W):
    return float(np.linalg.norm(W, 2))
