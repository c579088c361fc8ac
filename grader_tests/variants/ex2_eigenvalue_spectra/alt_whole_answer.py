"""A complete answer with loops, math.sqrt, the Gram matrix for singular values, sorted().

kind: alternative
"""
import math


def init_weights(n, scheme, rng):
    valid = ["xavier", "he"]
    if scheme not in valid:
        raise ValueError("scheme must be one of: " + ", ".join(valid))
    gain = 1 if scheme == "xavier" else 2
    return math.sqrt(gain / n) * rng.standard_normal(size=(n, n))


def spectrum(W):
    return np.array(sorted(np.linalg.eigvals(W), key=abs, reverse=True))


def spectral_radius(W):
    best = 0.0
    for value in np.linalg.eigvals(W):
        best = max(best, abs(value))
    return float(best)


def condition_number(W):
    gram_eigenvalues = np.linalg.eigvalsh(W.T @ W)
    smallest = max(gram_eigenvalues[0], 0.0)
    if smallest == 0:
        return float("inf")
    return math.sqrt(gram_eigenvalues[-1] / smallest)


def predicted_spectral_radius(scheme):
    return math.sqrt(2) if scheme == "he" else 1.0


def spectrum_table(sizes=(100, 500, 1000), seed=0):
    out = []
    for n in sizes:
        for scheme in ["xavier", "he"]:
            W = init_weights(n, scheme, np.random.default_rng(seed))
            out.append(dict(n=n, scheme=scheme, spectral_radius=spectral_radius(W),
                            condition_number=condition_number(W)))
    return out
