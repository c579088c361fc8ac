"""Runs the given gradient_descent for max_iter steps and searches the gradient norms, vectorised.

kind: alternative
"""


def iterations_to_converge(grad, x0, lr, tol=1e-6, max_iter=10_000):
    path = gradient_descent(grad, x0, lr, max_iter)
    norms = np.array([np.linalg.norm(grad(row)) for row in path])
    hits = np.nonzero(norms < tol)[0]
    return int(hits[0]) if len(hits) else None


def convergence_table():
    table = []
    for rule in ("1/L", "optimal"):
        for name, f, grad in (("f2", f2, grad_f2), ("f1", f1, grad_f1)):
            H = hessian(f, X0)
            lr = 1 / max(np.linalg.eigvalsh(H)) if rule == "1/L" else optimal_lr(H)
            table.append(dict(function=name, lr_rule=rule, lr=lr, kappa=condition_number(H),
                              iterations=iterations_to_converge(grad, X0, lr), note="measured"))
    return table
