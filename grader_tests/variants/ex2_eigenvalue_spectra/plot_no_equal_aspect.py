"""Leaves the default aspect ratio, so the circle looks like an ellipse.

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
        r = np.linalg.norm(W) / np.sqrt(len(W))
        ax.plot(r * np.cos(t), r * np.sin(t), "k-")
    ax.legend()
    return ax
