"""Returns 0 instead of infinity for a singular matrix.

kind: mistake
loses: test_condition_number
"""


def condition_number(W):
    s = np.linalg.svd(W, compute_uv=False)
    return 0.0 if s[-1] == 0 else float(s[0] / s[-1])
