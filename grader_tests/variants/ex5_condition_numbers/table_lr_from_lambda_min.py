"""Takes L as the smallest eigenvalue for the 1/L rule.

kind: mistake
loses: test_convergence_table
"""


def convergence_table():
    rows = []
    for name, f, grad in [("f1", f1, grad_f1), ("f2", f2, grad_f2)]:
        H = hessian(f, X0)
        for rule, lr in [("1/L", 1.0 / np.linalg.eigvalsh(H)[0]), ("optimal", optimal_lr(H))]:
            rows.append({"function": name, "kappa": condition_number(H), "lr_rule": rule, "lr": float(lr),
                         "iterations": iterations_to_converge(grad, X0, lr, tol=1e-6)})
    return rows
