"""scipy.special.entr for 0 log 0, and rel_entr for KL.

kind: alternative
"""
from scipy.special import entr, rel_entr


def entropy(p):
    p = np.asarray(p, dtype=float)
    if (p < 0).any():
        raise ValueError("negative probability")
    if np.any(np.abs(p.sum(axis=-1) - 1) > 1e-6):
        raise ValueError("does not sum to 1")
    return entr(p).sum(axis=-1)


def kl_divergence(p, q):
    return np.sum(rel_entr(np.asarray(p, float), np.clip(np.asarray(q, float), 1e-12, 1)), axis=-1)
