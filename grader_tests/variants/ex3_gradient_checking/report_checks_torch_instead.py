"""Checks PyTorch's gradients instead of the hand-written backprop, so it cannot find its bugs.

kind: mistake
loses: test_gradient_report
"""


def gradient_report(params, X, y):
    grads = torch_gradients(params, X, y)
    report = {}
    for name in params:
        def loss_of(value, name=name):
            return two_layer_net({**params, name: value}, X, y)[0]
        report[name] = relative_error(grads[name], numerical_gradient(loss_of, params[name]))
    return report
