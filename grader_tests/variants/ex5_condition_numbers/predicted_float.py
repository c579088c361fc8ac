"""Returns np.ceil's float (691.0) instead of an int.

kind: mistake
loses: test_predicted_iterations
"""


def predicted_iterations(kappa, eps):
    if kappa == 1:
        return 1
    return np.ceil(np.log(eps) / np.log((kappa - 1) / (kappa + 1)))
