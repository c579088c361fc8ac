"""Makes ax the current axes (plt.sca), then draws with pyplot, and puts the legend on the figure.

kind: alternative
"""


def plot_paths(paths, ax=None):
    if ax is None:
        ax = plt.figure().add_subplot()
    plt.sca(ax)
    xs, ys = np.meshgrid(np.linspace(-2, 2, 100), np.linspace(-2, 2, 100))
    plt.contour(xs, ys, f(np.array([xs, ys])))
    for lr in sorted(paths):
        plt.plot(paths[lr][:, 0], paths[lr][:, 1], label=f"lr={lr}")
    ax.figure.legend()
    return ax
