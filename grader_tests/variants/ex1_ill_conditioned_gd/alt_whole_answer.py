"""A complete answer written independently of the reference, task by task.

kind: alternative
"""


def gradient_descent(grad, x0, lr, n_steps):
    if lr <= 0:
        raise ValueError("learning rate must be > 0")
    if n_steps < 0:
        raise ValueError("number of steps must be >= 0")
    out = np.empty((n_steps + 1, np.size(x0)), dtype=float)
    out[0, :] = x0
    for i in range(1, n_steps + 1):
        out[i, :] = out[i - 1, :] - lr * np.asarray(grad(out[i - 1, :]), dtype=float)
    return out


paths = {}
for rate in LEARNING_RATES:
    paths[rate] = gradient_descent(grad_f, X0, rate, 100)


def steps_to_tolerance(path, tol=1e-6):
    close = np.linalg.norm(path, axis=-1) < tol
    return int(np.argmax(close)) if close.any() else None


def max_stable_lr(H):
    H = np.asarray(H, dtype=float)
    if H.shape[0] != H.shape[1] or not np.allclose(H, H.T, rtol=0, atol=1e-12):
        raise ValueError("not symmetric")
    lam = np.linalg.eigvalsh(H)
    if lam.min() <= 0:
        raise ValueError("not positive definite")
    return 2.0 / lam.max()


def plot_paths(paths, ax=None):
    ax = ax if ax is not None else plt.subplots()[1]
    u = np.linspace(-2, 2, 81)
    U, V = np.meshgrid(u, u)
    ax.contour(U, V, f([U, V]), 15)
    for lr, p in sorted(paths.items()):
        ax.plot(p[:, 0], p[:, 1], label=f"lr={lr}")
    ax.legend()
    return ax
