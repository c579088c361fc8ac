"""Averages the loss over the batch but forgets the 1/N in dL/dlogits, so every gradient is N times too large.

The gradient report finds it: relative_error(N g, g) = (N - 1) / (N + 1).

kind: mistake
loses: test_two_layer_net_grads, test_gradient_report
"""


def two_layer_net(params, X, y):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    rows = np.arange(X.shape[0])
    h = np.tanh(X @ W1 + b1)
    logits = h @ W2 + b2
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[rows, y].mean()
    d_logits = np.exp(log_probs)
    d_logits[rows, y] -= 1.0
    d_pre = (d_logits @ W2.T) * (1.0 - h ** 2)
    return float(loss), {"W1": X.T @ d_pre, "b1": d_pre.sum(0), "W2": h.T @ d_logits, "b2": d_logits.sum(0)}
