"""A while loop with a counter, math.hypot-free manual norm, pyplot-style plotting, 1/L from the Hessian.

kind: alternative
"""


def iterations_to_converge(grad, x0, lr, tol=1e-6, max_iter=10_000):
    x = [float(v) for v in x0]
    k = 0
    while True:
        g = [float(v) for v in grad(np.array(x))]
        if math.sqrt(sum(v * v for v in g)) < tol:
            return k
        if k == max_iter:
            return None
        x = [xi - lr * gi for xi, gi in zip(x, g)]
        k += 1


def plot_convergence(ax=None):
    if ax is None:
        plt.figure()
        ax = plt.gca()
    grid = np.linspace(-2.5, 2.5, 80)
    xs, ys = np.meshgrid(grid, grid)
    ax.contourf(xs, ys, np.log1p(f2([xs, ys])), levels=20, cmap="viridis")
    ax.contour(xs, ys, f1([xs, ys]), colors="white", linestyles="dashed")
    ax.plot(*X0, "r*", markersize=12)
    for label, (grad, lr) in {"f1": (grad_f1, 1 / 2), "f2": (grad_f2, 1 / np.linalg.eigvalsh(hessian(f2, X0))[-1])}.items():
        path = gradient_descent(grad, X0, lr, 100)
        ax.plot(path[:, 0], path[:, 1], "-o", markersize=2, label=label)
    ax.set_aspect("equal")
    ax.legend(loc="upper left")
    return ax
