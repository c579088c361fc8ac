"""Raises "must be positive definite" for any negative entry, so [[2, -1], [-1, 2]] fails.

kind: mistake
loses: test_max_stable_lr
"""


def max_stable_lr(H):
    H = np.asarray(H, dtype=float)
    if not np.allclose(H, H.T, rtol=1e-10, atol=1e-12):
        raise ValueError("H must be symmetric")
    if np.any(H < 0) or np.any(np.linalg.eigvalsh(H) <= 0):
        raise ValueError("H must be positive definite")
    return float(2.0 / np.linalg.eigvalsh(H)[-1])
