"""Plots eigenvalues as point markers with ax.plot and the circle as a Circle patch.

kind: alternative
"""
from matplotlib.patches import Circle


def plot_spectra(matrices, ax=None):
    ax = ax or plt.figure(figsize=(6, 6)).add_subplot()
    for name in matrices:
        W = np.asarray(matrices[name])
        lam = np.linalg.eigvals(W)
        ax.plot(lam.real, lam.imag, ".", label=name)
        sigma = np.sqrt(np.mean(W ** 2))
        ax.add_patch(Circle((0, 0), sigma * np.sqrt(W.shape[0]), fill=False, ls=":"))
    ax.axis("equal")
    ax.legend()
    return ax
