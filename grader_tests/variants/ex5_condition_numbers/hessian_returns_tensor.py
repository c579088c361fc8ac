"""Returns the torch tensor instead of a NumPy array.

kind: mistake
loses: test_hessian
"""


def hessian(f, x):
    return torch.autograd.functional.hessian(f, torch.tensor(np.asarray(x, dtype=float)))
