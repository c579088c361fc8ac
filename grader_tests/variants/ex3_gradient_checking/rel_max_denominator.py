"""Divides by max(||a||, ||b||) instead of ||a|| + ||b||.

kind: mistake
loses: test_relative_error, test_plot_eps_sweep
"""


def relative_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a), np.linalg.norm(b), 1e-12))
