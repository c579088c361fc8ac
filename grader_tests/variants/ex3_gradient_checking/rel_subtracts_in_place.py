"""Computes a - b in place (a -= b), overwriting the caller's a (the eps sweep, which passes
the same exact gradient for every eps, goes wrong too).

kind: mistake
loses: test_relative_error, test_plot_eps_sweep
"""


def relative_error(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    denominator = max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12)
    a -= b
    return float(np.linalg.norm(a) / denominator)
