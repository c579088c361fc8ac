"""Takes the first and last of np.linalg.eigvals, which are not sorted.

kind: mistake
loses: test_optimal_lr
"""


def optimal_lr(H):
    eigenvalues = np.linalg.eigvals(np.asarray(H, dtype=float)).real
    return float(2.0 / (eigenvalues[0] + eigenvalues[-1]))
