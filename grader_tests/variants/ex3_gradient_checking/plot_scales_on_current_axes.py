"""Sets the log scales with plt.xscale and plt.yscale, on the current axes, not on ax.

kind: mistake
loses: test_plot_eps_sweep
"""


def plot_eps_sweep(f, grad_f, x, eps_values, ax=None):
    if ax is None:
        _, ax = plt.subplots()
    x = np.array(x, dtype=float)
    exact = grad_f(x)
    central = [relative_error(exact, numerical_gradient(f, x, eps)) for eps in eps_values]
    forward = [relative_error(exact, np.array([(f(x + eps * e) - f(x)) / eps for e in np.eye(x.size)]))
               for eps in eps_values]
    ax.plot(eps_values, central, label="central")
    ax.plot(eps_values, forward, label="forward")
    plt.xscale("log")
    plt.yscale("log")
    ax.legend()
    return ax
