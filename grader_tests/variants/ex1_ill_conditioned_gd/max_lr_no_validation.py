"""Never checks that H is symmetric positive definite.

kind: mistake
loses: test_max_stable_lr
"""


def max_stable_lr(H):
    return 2.0 / np.max(np.abs(np.linalg.eigvals(H)))
