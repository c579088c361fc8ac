"""Plots the paths at the optimal rate instead of 1/L.

kind: mistake
loses: test_plot_convergence
"""


def plot_convergence(ax=None):
    if ax is None:
        _, ax = plt.subplots()
    xs, ys = np.meshgrid(np.linspace(-2, 2, 100), np.linspace(-2, 2, 100))
    ax.contour(xs, ys, f2(np.array([xs, ys])))
    for name, grad, lr in [("f1", grad_f1, 0.5), ("f2", grad_f2, 2 / (2 + 2 * KAPPA))]:
        path = gradient_descent(grad, X0, lr, 100)
        ax.plot(path[:, 0], path[:, 1], label=name)
    ax.legend()
    return ax
