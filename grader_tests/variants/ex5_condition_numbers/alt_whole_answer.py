"""The whole answer in another style: torch.func is not used, tensors made with torch.tensor(list).

kind: alternative
"""


def hessian(f, x):
    values = [float(v) for v in np.ravel(x)]
    H = torch.autograd.functional.hessian(f, torch.tensor(values, dtype=torch.double))
    return H.detach().cpu().numpy().astype(np.float64)


def condition_number(H):
    H = np.asarray(H, dtype=np.float64)
    if H.shape[0] != H.shape[1] or not np.allclose(H, H.T, rtol=0, atol=1e-10):
        raise ValueError("condition_number needs a symmetric matrix")
    lam = np.linalg.eigvalsh(H)
    if lam.min() <= 0:
        raise ValueError("condition_number needs a positive definite matrix")
    return lam.max() / lam.min()


def optimal_lr(H):
    lam = np.linalg.eigvalsh(H)
    return 2.0 / (lam[0] + lam[-1])


def predicted_iterations(kappa, eps):
    return 1 if kappa == 1 else math.ceil(math.log(1 / eps) / math.log((kappa + 1) / (kappa - 1)))
