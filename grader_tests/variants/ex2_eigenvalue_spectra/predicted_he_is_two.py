"""Predicts radius 2 for He (the variance ratio) instead of sqrt(2).

kind: mistake
loses: test_predicted_spectral_radius
"""


def predicted_spectral_radius(scheme):
    return {"xavier": 1.0, "he": 2.0}[scheme]
