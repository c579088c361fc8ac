"""Calls ax.legend() before drawing the lines: the legend is empty.

kind: mistake
loses: test_plot_paths
"""


def plot_paths(paths, ax=None):
    if ax is None:
        _, ax = plt.subplots()
    ax.legend()
    xs, ys = np.meshgrid(np.linspace(-2, 2, 100), np.linspace(-2, 2, 100))
    ax.contour(xs, ys, f(np.array([xs, ys])))
    for lr, path in paths.items():
        ax.plot(path[:, 0], path[:, 1], label=f"lr={lr}")
    return ax
