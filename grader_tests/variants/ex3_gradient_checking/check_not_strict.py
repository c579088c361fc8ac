"""Accepts a relative error equal to tol (<= instead of <).

kind: mistake
loses: test_check_gradients
"""


def check_gradients(f, grad_f, x, eps=1e-5, tol=1e-6):
    return relative_error(grad_f(x), numerical_gradient(f, x, eps)) <= tol
