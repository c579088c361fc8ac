"""Draws all matrices from one generator instead of a fresh one per matrix.

kind: mistake
loses: test_spectrum_table
"""


def spectrum_table(sizes=(100, 500, 1000), seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for n in sizes:
        for scheme in SCHEMES:
            W = init_weights(n, scheme, rng)
            rows.append({"n": n, "scheme": scheme, "spectral_radius": spectral_radius(W),
                         "condition_number": condition_number(W)})
    return rows
