"""Plots the eigenvalues' moduli on the real axis instead of the complex plane.

kind: mistake
loses: test_plot_spectra
"""


def plot_spectra(matrices, ax=None):
    if ax is None:
        _, ax = plt.subplots()
    t = np.linspace(0, 2 * np.pi, 200)
    for label, W in matrices.items():
        moduli = np.abs(np.linalg.eigvals(W))
        ax.scatter(moduli, np.zeros_like(moduli), s=4, label=label)
        r = np.linalg.norm(W) / np.sqrt(len(W))
        ax.plot(r * np.cos(t), r * np.sin(t), "k-")
    ax.set_aspect("equal")
    ax.legend()
    return ax
