"""Lists he before xavier for each n.

kind: mistake
loses: test_spectrum_table
"""


def spectrum_table(sizes=(100, 500, 1000), seed=0):
    rows = []
    for n in sizes:
        for scheme in ("he", "xavier"):
            W = init_weights(n, scheme, np.random.default_rng(seed))
            rows.append({"n": n, "scheme": scheme, "spectral_radius": spectral_radius(W),
                         "condition_number": condition_number(W)})
    return rows
