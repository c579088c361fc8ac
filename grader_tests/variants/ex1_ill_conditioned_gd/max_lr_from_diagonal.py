"""Takes the largest diagonal entry as lambda_max (right only for diagonal matrices).

kind: mistake
loses: test_max_stable_lr
"""


def max_stable_lr(H):
    H = np.asarray(H, dtype=float)
    if not np.allclose(H, H.T) or np.any(np.linalg.eigvalsh(H) <= 0):
        raise ValueError("H must be symmetric positive definite")
    return 2.0 / np.max(np.diag(H))
