"""Computes the Hessian in float32 and casts the result to float64.

kind: mistake
loses: test_hessian
"""


def hessian(f, x):
    point = torch.tensor(np.asarray(x, dtype=float), dtype=torch.float32)
    return torch.autograd.functional.hessian(f, point).numpy().astype(np.float64)
