"""Sets the log scale with plt.xscale, on the current axes, which need not be the ax given.

kind: mistake
loses: test_plot_training_curves
"""


def plot_training_curves(epochs, curves, ax=None):
    if ax is None:
        _, ax = plt.subplots()
    for name, values in curves.items():
        ax.plot(epochs, values, label=name)
    plt.xscale("log")
    ax.legend()
    return ax
