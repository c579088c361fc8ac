"""Reports the entropy of the true label (always 0) instead of the predictions'.

kind: mistake
loses: test_training_curves
"""


def training_curves(true_label, predictions):
    labels = np.tile(np.asarray(true_label, dtype=float), (len(predictions), 1))
    return {"entropy": np.asarray(entropy(labels), dtype=float),
            "cross_entropy": np.asarray(cross_entropy(labels, predictions), dtype=float),
            "kl": np.asarray(kl_divergence(labels, predictions), dtype=float)}
