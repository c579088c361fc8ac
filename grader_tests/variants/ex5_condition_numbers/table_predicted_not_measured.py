"""Fills the iterations column with predicted_iterations instead of measuring.

kind: mistake
loses: test_convergence_table
"""


def convergence_table():
    rows = []
    for name, f in [("f1", f1), ("f2", f2)]:
        H = hessian(f, X0)
        kappa = condition_number(H)
        for rule, lr in [("1/L", 1.0 / np.linalg.eigvalsh(H)[-1]), ("optimal", optimal_lr(H))]:
            rows.append({"function": name, "kappa": kappa, "lr_rule": rule, "lr": float(lr),
                         "iterations": predicted_iterations(kappa, 1e-6)})
    return rows
