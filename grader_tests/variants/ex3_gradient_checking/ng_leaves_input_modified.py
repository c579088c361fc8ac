"""Perturbs x in place and forgets to add eps back, so x ends up modified.

For a separable f (the check_gradients tests) the shifted coordinates do not matter; for
the network loss and the shared `point` of the plot they do.

kind: mistake
loses: test_numerical_gradient, test_gradient_report, test_plot_eps_sweep
"""


def numerical_gradient(f, x, eps=1e-5):
    grad = np.zeros(x.shape)
    for i in range(x.size):
        x.flat[i] += eps
        f_plus = f(x)
        x.flat[i] -= 2 * eps
        f_minus = f(x)
        grad.flat[i] = (f_plus - f_minus) / (2 * eps)
    return grad
