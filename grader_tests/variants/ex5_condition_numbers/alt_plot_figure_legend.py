"""Puts the legend on the figure (fig.legend()) and draws the contours of both functions.

kind: alternative
"""


def plot_convergence(ax=None):
    fig, ax = plt.subplots() if ax is None else (ax.figure, ax)
    xs, ys = np.meshgrid(np.linspace(-2, 2, 60), np.linspace(-2, 2, 60))
    for f in (f1, f2):
        ax.contour(xs, ys, f(np.array([xs, ys])), levels=6)
    ax.plot(*gradient_descent(grad_f1, X0, 0.5, 100).T, label="f1")
    ax.plot(*gradient_descent(grad_f2, X0, 1 / (2 * KAPPA), 100).T, label="f2")
    fig.legend()
    return ax
