"""Uses the matrix 2-norm (ord=2) for 2-D arrays instead of the norm over all entries.

kind: mistake
loses: test_relative_error
"""


def relative_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    norm = (lambda m: np.linalg.norm(m, 2)) if a.ndim == 2 else np.linalg.norm
    return float(norm(a - b) / max(norm(a) + norm(b), 1e-12))
