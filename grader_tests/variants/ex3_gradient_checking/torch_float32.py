"""Builds the tensors in PyTorch's default float32.

kind: mistake
loses: test_torch_gradients
"""


def torch_gradients(params, X, y):
    tensors = {k: torch.tensor(v, dtype=torch.float32, requires_grad=True) for k, v in params.items()}
    h = torch.tanh(torch.tensor(X, dtype=torch.float32) @ tensors["W1"] + tensors["b1"])
    loss = torch.nn.functional.cross_entropy(h @ tensors["W2"] + tensors["b2"], torch.tensor(y))
    loss.backward()
    return {k: t.grad.numpy() for k, t in tensors.items()}
