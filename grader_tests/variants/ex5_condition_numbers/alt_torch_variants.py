"""Other valid numerics: torch.from_numpy, eigvals of a general matrix, np.linalg.cond, log10.

kind: alternative
"""


def hessian(f, x):
    point = torch.from_numpy(np.array(x, dtype=np.float64))
    return np.array(torch.autograd.functional.hessian(f, point), dtype=float)


def condition_number(H):
    H = np.array(H, dtype=float)
    if not np.array_equal(H, H.T):
        raise ValueError("H is not symmetric")
    try:
        np.linalg.cholesky(H)
    except np.linalg.LinAlgError:
        raise ValueError("H is not positive definite") from None
    return float(np.linalg.cond(H))


def optimal_lr(H):
    eigenvalues = np.sort(np.linalg.eigvals(np.asarray(H, dtype=float)).real)
    return 2 / (eigenvalues.min() + eigenvalues.max())


def predicted_iterations(kappa, eps):
    if kappa == 1:
        return 1
    return int(np.ceil(np.log10(eps) / np.log10((kappa - 1) / (kappa + 1))))
