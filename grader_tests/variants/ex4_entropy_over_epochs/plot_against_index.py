"""Plots against 0, 1, 2, 3 instead of the epochs.

kind: mistake
loses: test_plot_training_curves
"""


def plot_training_curves(epochs, curves, ax=None):
    if ax is None:
        _, ax = plt.subplots()
    for name, values in curves.items():
        ax.plot(values, label=name)
    ax.set_xscale("log")
    ax.legend()
    return ax
