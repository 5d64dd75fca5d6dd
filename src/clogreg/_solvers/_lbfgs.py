"""L-BFGS-B (SciPy) in standardised coordinates, for L2 or no penalty."""
import numpy as np
from scipy.optimize import minimize

from ._result import History, SolverResult, StopReason


def lbfgs(objective, coef, intercept, *, max_iter, tol, progress=None):
    # a trial step may overflow to inf (or inf * 0 to NaN): every evaluation checks
    # for it and reports inf to SciPy, which backs off (no NumPy warnings)
    with np.errstate(over="ignore", invalid="ignore"):
        return _lbfgs(objective, coef, intercept, max_iter=max_iter, tol=tol,
                            progress=progress)


def _lbfgs(objective, coef, intercept, *, max_iter, tol, progress=None):
    """L-BFGS-B (SciPy) on the mean objective, each evaluation one kernel pass.

    L2 or no penalty only. It runs in standardised coordinates: ``v = s * w`` and
    ``c = b + w @ mu`` (``mu``, ``s``: the columns' weighted means and standard
    deviations; no centring without an intercept), so that ``z = v @ ((x - mu) / s)
    + c``. The objective is the same, but features of very different scales or
    offsets no longer make it ill-conditioned; X itself is never copied or changed.
    Stops when the max-norm of the mean objective's gradient (in the original
    coordinates, as documented for ``tol``) is <= tol, when the relative decrease of
    the objective falls below 64 machine epsilons (``ftol``, as scikit-learn), or
    after ``max_iter`` iterations.
    """
    if objective.alpha_l1 > 0:
        raise ValueError("lbfgs cannot handle an L1 penalty")  # the estimator says more
    p, n_out, scale = objective.n_params, objective.n_out, 1.0 / objective.sum_weights
    fit_b = objective.fit_intercept
    mu, s = _standardisation(objective.stats.sums, objective.stats.squares,
                             objective.sum_weights, center=fit_b)
    # h: the curvature of the mean loss per unit of standardised z at the start (p (1 -
    # p) at p = 1/2; 1/K (1 - 1/K) at the uniform softmax of K classes).
    h = 1.0 / max(n_out, 2) * (1.0 - 1.0 / max(n_out, 2))
    # With an L2 penalty, coefficient j's curvature in v = s w is h + alpha / (N s_j^2)
    # (N: the sum of weights): for rare columns (sparse one-hot or hashed features, s_j
    # ~ 1e-2) the penalty dominates and differs by orders of magnitude between columns,
    # and L-BFGS stalls (hashed 5,000 x 1e6: 3,327 after 300 iterations, optimum 342).
    # Scaling by s'_j = sqrt(s_j^2 + alpha / (h N)) makes every diagonal entry h.
    if objective.alpha_l2 > 0:
        with np.errstate(over="ignore"):
            s_l2 = np.sqrt(s * s + objective.alpha_l2 * scale / h)
        s = np.where(s_l2 < 1e100, s_l2, s)  # an extreme penalty: as without it
    S = np.tile(s, n_out)

    def to_wb(theta):
        w = theta[:p] / S
        b = theta[p:] - w.reshape(n_out, -1) @ mu if fit_b else fixed_b
        return w, b

    w0 = np.asarray(coef, np.float64).ravel()
    b0 = np.asarray(intercept, np.float64).ravel()
    fixed_b = b0.copy()
    theta0 = np.concatenate([w0 * S, b0 + w0.reshape(n_out, -1) @ mu])
    last, hist = {}, History(progress)

    def fun(theta, wb=None):
        w, b = to_wb(theta) if wb is None else wb
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            return np.inf, np.zeros_like(theta)  # a trial step too far: SciPy backs off
        loss, grad_w, grad_b, correct = objective.loss_grad(w, b)
        f = loss + objective.penalty(w)
        if not np.isfinite(f):
            return np.inf, np.zeros_like(theta)
        grad_w += objective.alpha_l2 * w
        if not fit_b:
            grad_b = np.zeros(n_out)
        gnorm = max(np.abs(grad_w).max(), np.abs(grad_b).max()) * scale
        last.update(f=f, acc=objective.accuracy(correct), gnorm=gnorm)
        # chain rule through w = v / s, b = c - w @ mu
        grad_v = (grad_w - np.outer(grad_b, mu).ravel()) / S
        return f * scale, np.concatenate([grad_v, grad_b]) * scale

    def record(*_):
        hist.append((last["f"], last["acc"], last["gnorm"]))
        if last["gnorm"] <= tol:
            raise StopIteration  # SciPy ends the run and returns this iterate

    # at the start exactly (w0, b0), not its round trip through theta0: a warm start
    # from the previous fit of a path then needs no pass (`LogisticObjective.loss_grad`)
    first = [theta0.copy(), fun(theta0, (w0, b0))]
    if not last:  # the objective is not finite where the solver starts
        return SolverResult(w0.astype(objective.dtype).reshape(n_out, -1), b0, 0,
                            StopReason.NONFINITE)
    hist.append((last["f"], last["acc"], last["gnorm"]))
    if last["gnorm"] <= tol:  # already optimal (warm start)
        return SolverResult(w0.astype(objective.dtype).reshape(n_out, -1), b0, 0,
                            StopReason.CONVERGED, *map(np.array, zip(*hist)))

    # SciPy's L-BFGS-B tries a first step of unit length along -g. Measured in
    # u = k * theta with k = h0 / ||g0||, that step is -g0 / h0 in theta: the Newton
    # step for a Hessian h0 * I, which is what the Hessian of the mean objective is
    # in standardised coordinates with uncorrelated features (h0 = p (1 - p) at
    # p = 1/2, or 1/K (1 - 1/K) for K classes at the uniform softmax, plus the L2
    # term). Later steps scale themselves (s.y / y.y), whatever k is.
    h0 = h + objective.alpha_l2 * scale * float(np.mean(1.0 / (S * S)))
    g0_norm = float(np.linalg.norm(first[1][1]))
    k = h0 / g0_norm if 0 < g0_norm < np.inf and 0 < h0 < np.inf else 1.0

    def fun_u(u):  # SciPy starts by asking for u0: its evaluation is reused
        if first and np.array_equal(u, k * first[0]):
            f0, g0 = first.pop()
            return f0, g0 / k
        first.clear()
        f, g = fun(u / k)
        return f, g / k

    res = minimize(fun_u, k * theta0, jac=True, method="L-BFGS-B", callback=record,
                   options={"maxiter": max_iter, "maxls": 50, "gtol": 0.0,
                            "ftol": 64 * np.finfo(float).eps})
    res.x = res.x / k
    if hist[-1][2] <= tol or res.status == 0:
        reason = StopReason.CONVERGED
    elif res.status == 1:
        reason = StopReason.MAX_ITER
    else:
        reason = StopReason.NONFINITE if not np.isfinite(res.fun) else StopReason.LINE_SEARCH
    theta = res.x if np.isfinite(res.x).all() else theta0
    w, b = to_wb(theta)
    loss, acc, gnorm = np.array(hist).T
    return SolverResult(w.astype(objective.dtype).reshape(n_out, -1), np.array(b, float),
                        len(hist) - 1, reason, loss, acc, gnorm)


def _standardisation(sums, squares, total, center):
    """Column means (0 if not ``center``) and standard deviations (root mean squares
    if not ``center``) from the column statistics; 1 for a constant column or one of
    extreme scale."""
    mu = sums / total if center else np.zeros(sums.size)
    with np.errstate(invalid="ignore", over="ignore"):
        s = np.sqrt(np.maximum(squares / total - mu * mu, 0.0))
    # Columns of extreme scale keep their own: v = s * w would underflow or overflow
    # where w itself is representable (w ~ 1e-300 for features ~ 1e300, say).
    s[~(np.isfinite(s) & (s > 1e-100) & (s < 1e100))] = 1.0
    mu[~np.isfinite(mu)] = 0.0
    return mu, s

