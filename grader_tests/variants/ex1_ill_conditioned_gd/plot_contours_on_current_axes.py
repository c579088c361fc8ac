"""Draws the contours with plt.contour, on the current axes, which need not be the ax given.

kind: mistake
loses: test_plot_paths
"""


def plot_paths(paths, ax=None):
    if ax is None:
        _, ax = plt.subplots()
    xs, ys = np.meshgrid(np.linspace(-2, 2, 100), np.linspace(-2, 2, 100))
    plt.contour(xs, ys, f(np.array([xs, ys])))
    for lr, path in paths.items():
        ax.plot(path[:, 0], path[:, 1], label=f"lr={lr}")
    ax.legend()
    return ax
