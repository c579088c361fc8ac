"""Builds the tensor straight from x, so an integer x gives an integer tensor autograd rejects.

kind: mistake
loses: test_hessian
"""


def hessian(f, x):
    return torch.autograd.functional.hessian(f, torch.as_tensor(x)).detach().numpy()
