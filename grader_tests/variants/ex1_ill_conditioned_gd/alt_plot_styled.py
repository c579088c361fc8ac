"""Filled contours, markers, an extra labelled start point and pyplot's current Axes.

kind: alternative
"""


def plot_paths(paths, ax=None):
    if ax is None:
        plt.figure(figsize=(7, 5))
        ax = plt.gca()
    grid = np.linspace(-2.5, 2.5, 150)
    xs, ys = np.meshgrid(grid, grid)
    ax.contourf(xs, ys, xs ** 2 + 10 * ys ** 2, levels=20, alpha=0.4)
    for lr in paths:
        ax.plot(*np.transpose(paths[lr]), "o-", ms=2, label="lr=" + str(lr))
    first = next(iter(paths.values()))
    ax.plot(first[0, 0], first[0, 1], "k*", ms=12, label="start")
    ax.legend(loc="upper right")
    ax.set_aspect("equal")
    return ax
