"""Plots y horizontally and x vertically.

kind: mistake
loses: test_plot_paths
"""


def plot_paths(paths, ax=None):
    if ax is None:
        _, ax = plt.subplots()
    xs, ys = np.meshgrid(np.linspace(-2, 2, 100), np.linspace(-2, 2, 100))
    ax.contour(xs, ys, f(np.array([xs, ys])))
    for lr, path in paths.items():
        ax.plot(path[:, 1], path[:, 0], label=f"lr={lr}")
    ax.legend()
    return ax
