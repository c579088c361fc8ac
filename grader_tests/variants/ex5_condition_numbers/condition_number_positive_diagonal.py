"""Takes a positive diagonal for positive definiteness, so [[1, 2], [2, 1]] passes.

kind: mistake
loses: test_condition_number
"""


def condition_number(H):
    H = np.asarray(H, dtype=float)
    if not np.allclose(H, H.T, rtol=1e-10, atol=1e-12):
        raise ValueError("H must be symmetric")
    if np.any(np.diag(H) <= 0):
        raise ValueError("H must be positive definite")
    eigenvalues = np.linalg.eigvalsh(H)
    return float(eigenvalues[-1] / eigenvalues[0])
