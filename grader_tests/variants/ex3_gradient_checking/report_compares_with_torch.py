"""Compares the backprop with torch_gradients instead of finite differences.

Both gradients are exact, so every entry of the report is ~1e-16: it never exercises the loss
function the way a gradient check must, and the test's floor of 1e-14 catches it.

kind: mistake
loses: test_gradient_report
"""


def gradient_report(params, X, y):
    _, grads = two_layer_net(params, X, y)
    trusted = torch_gradients(params, X, y)
    return {name: relative_error(grads[name], trusted[name]) for name in params}
