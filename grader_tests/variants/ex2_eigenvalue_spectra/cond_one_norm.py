"""Uses the 1-norm condition number np.linalg.cond(W, 1).

kind: mistake
loses: test_condition_number, test_spectrum_table
"""


def condition_number(W):
    return float(np.linalg.cond(W, 1))
