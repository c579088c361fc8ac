"""Takes a positive diagonal for positive definiteness, so [[1, 2], [2, 1]] passes.

kind: mistake
loses: test_max_stable_lr
"""


def max_stable_lr(H):
    H = np.asarray(H, dtype=float)
    if not np.allclose(H, H.T, rtol=1e-10, atol=1e-12):
        raise ValueError("H must be symmetric")
    if np.any(np.diag(H) <= 0):
        raise ValueError("H must be positive definite")
    return float(2.0 / np.linalg.eigvalsh(H)[-1])
