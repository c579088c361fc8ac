"""Forgets the kappa == 1 case and returns 0 steps there.

kind: mistake
loses: test_predicted_iterations
"""


def predicted_iterations(kappa, eps):
    ratio = (kappa - 1) / (kappa + 1)
    if ratio == 0:
        return 0
    return math.ceil(math.log(eps) / math.log(ratio))
