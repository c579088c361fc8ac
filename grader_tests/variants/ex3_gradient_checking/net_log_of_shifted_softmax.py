"""Subtracts the row maximum, then takes -log of the softmax: a true class ~745 or more below
the maximum gets probability 0 and an infinite loss (the gradients stay right).

kind: mistake
loses: test_two_layer_net_loss
"""


def two_layer_net(params, X, y):
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    n = X.shape[0]
    h = np.tanh(X @ W1 + b1)
    logits = h @ W2 + b2
    exp_logits = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = exp_logits / exp_logits.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        loss = -np.log(probs[np.arange(n), y]).mean()
    d_logits = probs.copy()
    d_logits[np.arange(n), y] -= 1.0
    d_logits /= n
    d_pre = (d_logits @ W2.T) * (1.0 - h ** 2)
    return float(loss), {"W1": X.T @ d_pre, "b1": d_pre.sum(0), "W2": h.T @ d_logits, "b2": d_logits.sum(0)}
