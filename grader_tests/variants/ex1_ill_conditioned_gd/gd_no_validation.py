"""Never raises ValueError for a bad learning rate or step count.

kind: mistake
loses: test_gradient_descent_contract
"""


def gradient_descent(grad, x0, lr, n_steps):
    path = np.zeros((max(n_steps, 0) + 1, len(x0)))
    path[0] = x0
    for k in range(n_steps):
        path[k + 1] = path[k] - lr * grad(path[k])
    return path
