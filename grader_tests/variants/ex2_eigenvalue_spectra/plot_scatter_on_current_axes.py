"""Scatters the eigenvalues with plt.scatter, on the current axes, which need not be the ax given.

kind: mistake
loses: test_plot_spectra
"""


def plot_spectra(matrices, ax=None):
    if ax is None:
        _, ax = plt.subplots()
    angles = np.linspace(0, 2 * np.pi, 200)
    for label, W in matrices.items():
        eigenvalues = np.linalg.eigvals(W)
        plt.scatter(eigenvalues.real, eigenvalues.imag, s=4, label=label)
        radius = np.linalg.norm(W) / np.sqrt(W.shape[0])
        ax.plot(radius * np.cos(angles), radius * np.sin(angles), "k--")
    ax.set_aspect("equal")
    ax.legend()
    return ax
