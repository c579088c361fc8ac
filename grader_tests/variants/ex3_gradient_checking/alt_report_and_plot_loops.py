"""A report that copies the parameter dict per entry, and a plot with set_xscale/set_yscale.

kind: alternative
"""
import copy


def gradient_report(params, X, y):
    analytic = two_layer_net(params, X, y)[1]
    result = {}
    for key in ["W1", "b1", "W2", "b2"]:
        def loss_for(theta):
            trial = copy.deepcopy(params)
            trial[key] = theta
            return two_layer_net(trial, X, y)[0]
        result[key] = relative_error(analytic[key], numerical_gradient(loss_for, params[key]))
    return result


def plot_eps_sweep(f, grad_f, x, eps_values, ax=None):
    if ax is None:
        ax = plt.figure().gca()
    x = np.asarray(x, dtype=float)
    g = grad_f(x)
    ys_central, ys_forward = [], []
    for eps in eps_values:
        fwd = np.zeros_like(x)
        for i in range(x.size):
            xp = x.copy()
            xp[i] += eps
            fwd[i] = (f(xp) - f(x)) / eps
        ys_forward.append(relative_error(g, fwd))
        ys_central.append(relative_error(g, numerical_gradient(f, x, eps)))
    ax.plot(eps_values, ys_forward, "r--", label="forward")
    ax.plot(eps_values, ys_central, "b-", label="central")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.legend()
    return ax
