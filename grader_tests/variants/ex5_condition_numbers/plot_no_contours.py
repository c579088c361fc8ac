"""Draws the two paths but no contour lines.

kind: mistake
loses: test_plot_convergence
"""


def plot_convergence(ax=None):
    if ax is None:
        _, ax = plt.subplots()
    for name, grad, lr in [("f1", grad_f1, 0.5), ("f2", grad_f2, 1 / (2 * KAPPA))]:
        path = gradient_descent(grad, X0, lr, 100)
        ax.plot(path[:, 0], path[:, 1], label=name)
    ax.legend()
    return ax
