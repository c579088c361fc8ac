"""Computes |lambda|_max / |lambda|_min instead of the singular-value ratio.

kind: mistake
loses: test_condition_number, test_spectrum_table
"""


def condition_number(W):
    moduli = np.abs(np.linalg.eigvals(W))
    if moduli.min() == 0:
        return np.inf
    return float(moduli.max() / moduli.min())
