"""Takes the largest real part of the eigenvalues instead of the largest modulus.

kind: mistake
loses: test_spectral_radius, test_spectrum_table
"""


def spectral_radius(W):
    return float(np.max(np.linalg.eigvals(W).real))
