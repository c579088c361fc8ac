"""Spells the rules "1/lambda_max" and "2/(mu+L)" instead of "1/L" and "optimal".

kind: mistake
loses: test_convergence_table
"""


def convergence_table():
    rows = []
    for name, f, grad in [("f1", f1, grad_f1), ("f2", f2, grad_f2)]:
        H = hessian(f, X0)
        for rule, lr in [("1/lambda_max", 1.0 / np.linalg.eigvalsh(H)[-1]), ("2/(mu+L)", optimal_lr(H))]:
            rows.append({"function": name, "kappa": condition_number(H), "lr_rule": rule, "lr": float(lr),
                         "iterations": iterations_to_converge(grad, X0, lr, tol=1e-6)})
    return rows
