"""Loops over len(x) and indexes x[i], which is only right for 1-D x.

kind: mistake
loses: test_numerical_gradient, test_gradient_report
"""


def numerical_gradient(f, x, eps=1e-5):
    x = np.array(x, dtype=float)
    grad = np.zeros_like(x)
    for i in range(len(x)):
        step = np.zeros_like(x)
        step[i] = eps
        grad[i] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad
