"""np.ndindex over copies, a hand-written norm, and np.less for the verdict.

kind: alternative
"""


def numerical_gradient(f, x, eps=1e-5):
    x = np.asarray(x, dtype=np.float64)
    grad = np.empty(x.shape)
    for index in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[index] += eps
        down[index] -= eps
        grad[index] = (f(up) - f(down)) / (2 * eps)
    return grad


def relative_error(a, b):
    def norm(v):
        return np.sqrt(np.sum(np.square(np.asarray(v, dtype=float))))
    return norm(np.subtract(a, b)) / max(norm(a) + norm(b), 1e-12)


def check_gradients(f, grad_f, x, eps=1e-5, tol=1e-6):
    return np.less(relative_error(grad_f(x), numerical_gradient(f, x, eps)), tol)
