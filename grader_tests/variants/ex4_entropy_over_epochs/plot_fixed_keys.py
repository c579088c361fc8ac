"""Plots the three expected keys by name instead of every key it is given.

kind: mistake
loses: test_plot_training_curves
"""


def plot_training_curves(epochs, curves, ax=None):
    if ax is None:
        _, ax = plt.subplots()
    for name in ("entropy", "cross_entropy", "kl"):
        if name in curves:
            ax.plot(epochs, curves[name], label=name)
    ax.set_xscale("log")
    ax.legend()
    return ax
