"""Returns 1 / lambda_max instead of 2 / lambda_max.

kind: mistake
loses: test_max_stable_lr
"""


def max_stable_lr(H):
    H = np.asarray(H, dtype=float)
    if not np.allclose(H, H.T) or np.any(np.linalg.eigvalsh(H) <= 0):
        raise ValueError("H must be symmetric positive definite")
    return 1.0 / np.linalg.eigvalsh(H)[-1]
