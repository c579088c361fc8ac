"""Perturbs each parameter array in place and restores it, leaving round-off in the caller's
parameters (x + eps - eps is not always x).

kind: mistake
loses: test_gradient_report
"""


def gradient_report(params, X, y):
    _, grads = two_layer_net(params, X, y)
    report = {}
    for name, value in params.items():
        numeric = np.zeros_like(value)
        for i in range(value.size):
            value.flat[i] += 1e-5
            plus = two_layer_net(params, X, y)[0]
            value.flat[i] -= 2e-5
            minus = two_layer_net(params, X, y)[0]
            value.flat[i] += 1e-5
            numeric.flat[i] = (plus - minus) / 2e-5
        report[name] = relative_error(grads[name], numeric)
    return report
