"""Always draws the unit circle, whatever the scale of W.

kind: mistake
loses: test_plot_spectra
"""


def plot_spectra(matrices, ax=None):
    if ax is None:
        _, ax = plt.subplots()
    t = np.linspace(0, 2 * np.pi, 200)
    for label, W in matrices.items():
        eigenvalues = np.linalg.eigvals(W)
        ax.scatter(eigenvalues.real, eigenvalues.imag, s=4, label=label)
    ax.plot(np.cos(t), np.sin(t), "k-")
    ax.set_aspect("equal")
    ax.legend()
    return ax
