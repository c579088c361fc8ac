"""Draws the paths but not the contour lines of f.

kind: mistake
loses: test_plot_paths
"""


def plot_paths(paths, ax=None):
    if ax is None:
        _, ax = plt.subplots()
    for lr, path in paths.items():
        ax.plot(path[:, 0], path[:, 1], label=f"lr={lr}")
    ax.legend()
    return ax
