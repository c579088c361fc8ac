"""Computes KL(q || p) instead of KL(p || q).

kind: mistake
loses: test_kl_divergence, test_training_curves
"""


def kl_divergence(p, q):
    return cross_entropy(q, p) - entropy(q)
