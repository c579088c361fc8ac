"""Returns the W2 gradient transposed, shape (C, H) instead of (H, C).

kind: mistake
loses: test_two_layer_net_grads, test_gradient_report
"""


def two_layer_net(params, X, y):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    n = X.shape[0]
    h = np.tanh(X @ W1 + b1)
    logits = h @ W2 + b2
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), y].mean()
    d_logits = np.exp(log_probs)
    d_logits[np.arange(n), y] -= 1.0
    d_logits /= n
    d_pre = (d_logits @ W2.T) * (1.0 - h ** 2)
    return float(loss), {"W1": X.T @ d_pre, "b1": d_pre.sum(0), "W2": d_logits.T @ h, "b2": d_logits.sum(0)}
