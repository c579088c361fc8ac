"""Rounds down with int() instead of up with ceil.

kind: mistake
loses: test_predicted_iterations
"""


def predicted_iterations(kappa, eps):
    if kappa == 1:
        return 1
    return int(math.log(eps) / math.log((kappa - 1) / (kappa + 1)))
