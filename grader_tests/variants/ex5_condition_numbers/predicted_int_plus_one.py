"""Rounds up with int(x) + 1 instead of a ceiling: one too many when the ratio is an integer.

kind: mistake
loses: test_predicted_iterations
"""


def predicted_iterations(kappa, eps):
    if kappa == 1:
        return 1
    return int(math.log(eps) / math.log((kappa - 1) / (kappa + 1))) + 1
