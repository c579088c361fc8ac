"""Keeps only the second derivatives d2f/dx_i^2, dropping the mixed partials.

kind: mistake
loses: test_hessian
"""


def hessian(f, x):
    point = torch.tensor(np.asarray(x, dtype=float), dtype=torch.float64)
    full = torch.autograd.functional.hessian(f, point).detach().numpy()
    return np.diag(np.diag(full))
