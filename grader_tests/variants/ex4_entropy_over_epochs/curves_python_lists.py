"""Returns Python lists instead of NumPy arrays.

kind: mistake
loses: test_training_curves
"""


def training_curves(true_label, predictions):
    return {"entropy": [float(entropy(q)) for q in predictions],
            "cross_entropy": [float(cross_entropy(true_label, q)) for q in predictions],
            "kl": [float(kl_divergence(true_label, q)) for q in predictions]}
