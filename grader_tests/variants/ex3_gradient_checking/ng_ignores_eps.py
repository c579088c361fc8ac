"""Always uses 1e-5, whatever eps it is given.

kind: mistake
loses: test_numerical_gradient, test_check_gradients, test_plot_eps_sweep
"""


def numerical_gradient(f, x, eps=1e-5):
    h = 1e-5
    point = np.array(x, dtype=float)
    grad = np.zeros_like(point)
    for i in range(point.size):
        step = np.zeros_like(point)
        step.flat[i] = h
        grad.flat[i] = (f(point + step) - f(point - step)) / (2 * h)
    return grad
