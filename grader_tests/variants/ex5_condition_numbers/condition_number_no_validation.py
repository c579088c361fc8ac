"""Never raises: a non-symmetric or indefinite matrix gets a number too.

kind: mistake
loses: test_condition_number
"""


def condition_number(H):
    eigenvalues = np.linalg.eigvalsh(np.asarray(H, dtype=float))
    return float(eigenvalues[-1] / eigenvalues[0])
