"""Draws each circle as an Ellipse with equal axes, eigenvalues as markers of a labelled line,
and a figure legend.

kind: alternative
"""
from matplotlib.patches import Ellipse


def plot_spectra(matrices, ax=None):
    if ax is None:
        _, ax = plt.subplots()
    for label, W in matrices.items():
        eigenvalues = np.linalg.eigvals(W)
        ax.plot(eigenvalues.real, eigenvalues.imag, "o", markersize=2, label=label)
        diameter = 2 * np.sqrt(np.mean(np.asarray(W) ** 2) * W.shape[0])
        ax.add_patch(Ellipse((0.0, 0.0), diameter, diameter, fill=False, ls="--"))
    ax.set_aspect("equal", adjustable="datalim")
    ax.figure.legend(loc="upper right")
    return ax
