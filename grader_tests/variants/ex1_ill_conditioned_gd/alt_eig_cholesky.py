"""Uses exact symmetry, a Cholesky test for definiteness and the general eig solver.

kind: alternative
"""


def max_stable_lr(H):
    H = np.array(H, dtype=float)
    if not np.array_equal(H, H.T):
        raise ValueError("H is not symmetric")
    try:
        np.linalg.cholesky(H)
    except np.linalg.LinAlgError as error:
        raise ValueError("H is not positive definite") from error
    return 2 / max(np.linalg.eig(H)[0].real)
