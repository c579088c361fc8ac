"""Divides the largest diagonal entry by the smallest instead of using eigenvalues.

kind: mistake
loses: test_condition_number
"""


def condition_number(H):
    H = np.asarray(H, dtype=float)
    if not np.allclose(H, H.T) or np.any(np.linalg.eigvalsh(H) <= 0):
        raise ValueError("H must be symmetric positive definite")
    return float(np.max(np.diag(H)) / np.min(np.diag(H)))
