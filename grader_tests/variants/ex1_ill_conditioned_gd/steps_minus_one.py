"""Returns -1 instead of None when the path never gets within tol.

kind: mistake
loses: test_steps_to_tolerance
"""


def steps_to_tolerance(path, tol=1e-6):
    norms = np.linalg.norm(path, axis=1)
    hits = np.where(norms < tol)[0]
    return int(hits[0]) if len(hits) else -1
