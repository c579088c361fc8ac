"""rng.normal with a scale, np.linalg.eig with its eigenvectors discarded, np.linalg.cond.

kind: alternative
"""


def init_weights(n, scheme, rng):
    if scheme == "xavier":
        std = (1 / n) ** 0.5
    elif scheme == "he":
        std = (2 / n) ** 0.5
    else:
        raise ValueError(f"scheme must be one of xavier, he (got {scheme})")
    return rng.normal(0.0, std, size=(n, n))


def spectrum(W):
    values, _ = np.linalg.eig(W)
    order = sorted(range(len(values)), key=lambda i: abs(values[i]), reverse=True)
    return values[order]


def spectral_radius(W):
    return abs(spectrum(W)[0])


def condition_number(W):
    return np.linalg.cond(W)
