"""Returns the sorted moduli instead of the eigenvalues (so the plot built on it is wrong too).

kind: mistake
loses: test_spectrum, test_plot_spectra
"""


def spectrum(W):
    return np.sort(np.abs(np.linalg.eigvals(W)))[::-1]
