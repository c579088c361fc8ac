"""Perturbs x itself and undoes each step by subtracting: x + eps - eps is not always x, so the
caller's x (and the report's parameters) come back changed in their last digits.

kind: mistake
loses: test_numerical_gradient, test_gradient_report
"""


def numerical_gradient(f, x, eps=1e-5):
    grad = np.zeros(np.shape(x))
    for i in range(x.size):
        x.flat[i] += eps
        f_plus = f(x)
        x.flat[i] -= 2 * eps
        f_minus = f(x)
        x.flat[i] += eps
        grad.flat[i] = (f_plus - f_minus) / (2 * eps)
    return grad
