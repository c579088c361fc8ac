"""Labels the forward-difference curve "central" and vice versa.

kind: mistake
loses: test_plot_eps_sweep
"""


def plot_eps_sweep(f, grad_f, x, eps_values, ax=None):
    if ax is None:
        _, ax = plt.subplots()
    x = np.array(x, dtype=float)
    exact = grad_f(x)
    central, forward = [], []
    for eps in eps_values:
        central.append(relative_error(exact, numerical_gradient(f, x, eps)))
        fwd = np.array([(f(x + eps * e) - f(x)) / eps for e in np.eye(x.size)])
        forward.append(relative_error(exact, fwd))
    ax.loglog(eps_values, central, label="forward")
    ax.loglog(eps_values, forward, label="central")
    ax.legend()
    return ax
