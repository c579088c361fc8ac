"""Scatters the eigenvalues but draws no circle.

kind: mistake
loses: test_plot_spectra
"""


def plot_spectra(matrices, ax=None):
    if ax is None:
        _, ax = plt.subplots()
    for label, W in matrices.items():
        eigenvalues = np.linalg.eigvals(W)
        ax.scatter(eigenvalues.real, eigenvalues.imag, s=4, label=label)
    ax.set_aspect("equal")
    ax.legend()
    return ax
