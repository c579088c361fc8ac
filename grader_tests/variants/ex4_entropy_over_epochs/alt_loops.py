"""Plain Python loops over rows and entries with math.log.

kind: alternative
"""
import math


def _rows(a):
    a = np.asarray(a, dtype=float)
    return (a[None, :] if a.ndim == 1 else a), a.ndim == 1


def entropy(p):
    rows, single = _rows(p)
    out = []
    for row in rows:
        if any(v < 0 for v in row) or abs(sum(row) - 1) > 1e-6:
            raise ValueError("each row must be a probability distribution")
        out.append(-sum(v * math.log(v) for v in row if v > 0))
    return out[0] if single else np.array(out)


def cross_entropy(p, q):
    p_rows, single = _rows(p)
    q_rows, _ = _rows(q)
    out = [-sum(a * math.log(min(max(b, 1e-12), 1.0)) for a, b in zip(pr, qr)) for pr, qr in zip(p_rows, q_rows)]
    return out[0] if single else np.array(out)


def training_curves(true_label, predictions):
    result = {"entropy": [], "cross_entropy": [], "kl": []}
    for q in predictions:
        result["entropy"].append(entropy(q))
        result["cross_entropy"].append(cross_entropy(true_label, q))
        result["kl"].append(kl_divergence(true_label, q))
    return {k: np.array(v, dtype=float) for k, v in result.items()}
