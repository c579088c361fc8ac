"""Calls ax.legend() before drawing the lines: the legend is empty.

kind: mistake
loses: test_plot_training_curves
"""


def plot_training_curves(epochs, curves, ax=None):
    if ax is None:
        _, ax = plt.subplots()
    ax.legend()
    for name, values in curves.items():
        ax.plot(epochs, values, label=name)
    ax.set_xscale("log")
    return ax
