"""Proximal Newton for the multinomial model, on its whole (coupled) Hessian."""
import numpy as np

from .._objective import min_norm_subgradient, penalty_centre
from ._newton import _EPS, record_and_check
from ._result import History, SolverResult, StopReason


def multinomial_newton(objective, coef, intercept, *, max_iter, tol, progress=None):
    """Proximal Newton for the multinomial model (any penalty), its classes coupled.

    Each step minimises the proximal Newton model of the whole softmax Hessian (the
    classes coupled through ``diag(p) - p p.T``) over a working set: each class's
    nonzero coefficients and the violators of the optimality condition (as
    `clogreg._solvers._newton`), plus the intercepts. The model is solved by
    `clogreg._objective.MultinomialCoordinateModel` (coordinate descent reading X's
    columns, no Hessian formed) until that crawls, that is stops at its sweep cap;
    from then on, where the working set is small enough
    (`LogisticObjective.can_form_multinomial`), by
    `clogreg._objective.MultinomialQuadraticModel` (the Hessian over the working set
    formed; Cholesky, or coordinate descent and ADMM with L1). Armijo backtracking on
    the full objective (each trial one pass, which also gives the next gradient)
    scales the step. After each step the one direction the data term ignores, a
    vector added to every class, is set to the penalty's best
    (`clogreg._objective.penalty_centre`), without a pass.

    Stops when the minimum-norm subgradient of the mean objective has max-norm <= tol.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return _multinomial_newton(objective, coef, intercept, max_iter=max_iter, tol=tol,
                                   progress=progress)


def _multinomial_newton(objective, coef, intercept, *, max_iter, tol, progress):
    K, d, fit_b = objective.n_out, objective.n_features, objective.fit_intercept
    a2, a1, scale = objective.alpha_l2, objective.alpha_l1, 1.0 / objective.sum_weights
    W = np.array(coef, dtype=np.float64).reshape(K, d)
    b = np.array(intercept, dtype=np.float64).ravel()
    l1 = np.zeros((K, d + 1))               # the intercepts' column: 0 (and b fixed
    l1[:, :d] = a1                          # without an intercept)

    def evaluate(W_, b_):
        """(objective, gradient (K, d + 1) with the intercepts' last, n_correct)."""
        if not (np.isfinite(W_).all() and np.isfinite(b_).all()):
            return np.inf, None, 0.0
        loss, gw, gb, correct = objective.loss_grad(W_.ravel(), b_)
        f_ = loss + objective.penalty(W_.ravel())
        G_ = np.empty((K, d + 1))
        G_[:, :d] = gw.reshape(K, d) + a2 * W_
        G_[:, d] = gb if fit_b else 0.0
        if not (np.isfinite(f_) and np.isfinite(G_).all()):
            return np.inf, None, correct
        return f_, G_, correct

    def optimality(G_, W_, b_):
        return min_norm_subgradient(G_.ravel(), np.hstack([W_, b_[:, None]]).ravel(),
                                     l1.ravel()) * scale

    f, G, correct = evaluate(W, b)
    gnorm = optimality(G, W, b) if G is not None else np.inf
    hist, n_iter, formed = History(progress), 0, False
    while (reason := record_and_check(hist, f, objective.accuracy(correct), gnorm,
                                      G is not None, tol, n_iter, max_iter)) is None:
        cols = [np.flatnonzero((W[k] != 0) | (np.abs(G[k, :d]) >= l1[k, :d]))
                if a1 > 0 else np.arange(d) for k in range(K)]
        n_coords = sum(c.size for c in cols) + (K if fit_b else 0)
        model = objective.multinomial_model(W, b, l1, n_coords, formed)
        delta = model.step(G, np.hstack([W, b[:, None]]), cols)
        # once the coordinate model crawls (its sweep cap reached short of its
        # tolerance), the steps that follow form the Hessian where they can
        formed = formed or model.crawled
        # Armijo on F = smooth + L1 with the model decrease D = G.delta + L1 change
        theta = np.hstack([W, b[:, None]])
        D = float(np.sum(G * delta))
        if a1 > 0:
            D += float(np.sum(l1 * (np.abs(theta + delta) - np.abs(theta))))
        in_noise = abs(D) <= 256 * _EPS * abs(f)
        t = 1.0
        while True:
            cand = theta + t * delta
            f_new, G_new, c_new = evaluate(cand[:, :d], np.ascontiguousarray(cand[:, d]))
            if f_new <= f + 1e-4 * t * D or (in_noise and t == 1.0) or t < 1e-12:
                break
            t *= 0.5
        if t < 1e-12:  # no decrease possible: at the optimum to machine precision
            reason = StopReason.LINE_SEARCH
            break
        W, b = cand[:, :d].copy(), cand[:, d].copy()
        f, G, correct = f_new, G_new, c_new
        if G is not None and (a1 > 0 or a2 > 0):
            # the direction the blocks miss: one vector added to every class's
            # coefficients leaves the data term as it is; its best length, for the
            # penalty, is found exactly (a free decrease, no pass)
            c = penalty_centre(W, a1, a2)
            if c.any():
                f -= objective.penalty(W.ravel())
                W -= c
                f += objective.penalty(W.ravel())
                G[:, :d] -= a2 * c
        gnorm = optimality(G, W, b) if G is not None else np.inf
        n_iter += 1
    loss, acc, gnorm_hist = np.array(hist).T
    return SolverResult(W.astype(objective.dtype), b, n_iter, reason, loss, acc,
                        gnorm_hist)

