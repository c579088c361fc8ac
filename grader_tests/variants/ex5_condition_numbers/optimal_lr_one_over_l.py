"""Uses 1 / lambda_max as the optimal rate.

kind: mistake
loses: test_optimal_lr, test_convergence_table
"""


def optimal_lr(H):
    return float(1.0 / np.linalg.eigvalsh(np.asarray(H, dtype=float))[-1])
