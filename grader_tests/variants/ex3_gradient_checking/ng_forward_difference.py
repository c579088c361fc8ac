"""Uses forward differences (error O(eps)) instead of central ones.

kind: mistake
loses: test_numerical_gradient, test_check_gradients, test_gradient_report, test_plot_eps_sweep
"""


def numerical_gradient(f, x, eps=1e-5):
    point = np.array(x, dtype=float)
    grad = np.zeros_like(point)
    base = f(point)
    for i in range(point.size):
        shifted = point.copy()
        shifted.flat[i] += eps
        grad.flat[i] = (f(shifted) - base) / eps
    return grad
