"""Trust-region Newton-CG (LIBLINEAR's TRON) for the binary model with L2 or no
penalty, on rows that give Hessian-vector products (`clogreg._rows_sparse.SparseRows`).

No d x d Hessian is ever formed: each conjugate-gradient step is one pass over the
data (``rows.hessp``), so it suits high-dimensional sparse data (text, hashed
features), as LIBLINEAR's default solver for L2 logistic regression does.
"""
import numpy as np

from ._result import History, SolverResult, StopReason

# LIBLINEAR's constants (tron.cpp): trust-region ratio tests and radius updates
_ETA0, _ETA1, _ETA2 = 1e-4, 0.25, 0.75
_SIGMA1, _SIGMA2, _SIGMA3 = 0.25, 0.5, 4.0
#: CG stops when the preconditioned residual is below this fraction of the gradient's
_CG_TOL = 0.1
#: Consecutive rejected steps after which no decrease is possible in floating point
_MAX_REJECTED = 60


def tron(objective, coef, intercept, *, max_iter, tol, progress=None):
    with np.errstate(over="ignore", invalid="ignore"):
        return _tron(objective, coef, intercept, max_iter=max_iter, tol=tol,
                           progress=progress)


def _tron(objective, coef, intercept, *, max_iter, tol, progress=None):
    """Minimise the binary objective ``F(w, b)`` (L2 or no penalty) by trust-region
    Newton with preconditioned conjugate gradients (Lin, Weng & Keerthi, "Trust
    region Newton method for large-scale logistic regression", JMLR 2008; the
    diagonal preconditioner of LIBLINEAR >= 2.2).

    Each accepted iterate costs one fused pass (loss, gradient and the Hessian
    weights ``h = s p (1 - p)``) plus one for the preconditioner (the diagonal
    ``sum_i h_i x_ij^2``); each CG step one Hessian-vector pass. Stops when the
    max-norm of the mean objective's gradient is <= tol (``converged``), after
    max_iter accepted steps (``max_iter``), or when neither the actual nor the
    predicted decrease is above rounding (``line_search``).
    """
    rows, dtype = objective.rows, objective.dtype
    d, fit_b, a2 = objective.n_features, objective.fit_intercept, objective.alpha_l2
    scale = 1.0 / objective.sum_weights
    b_fixed = float(np.asarray(intercept, np.float64).ravel()[0])
    theta = np.concatenate([np.asarray(coef, np.float64).ravel(),
                            [b_fixed] if fit_b else []])
    h = np.empty(objective.n_samples, dtype)

    def evaluate(th, h_out):
        """(F, gradient (m,), n_correct) at th, filling the Hessian weights h_out."""
        if not np.isfinite(th).all():
            return np.inf, None, 0.0
        w = np.ascontiguousarray(th[:d], dtype=dtype)
        loss, gw, gb, correct = rows.loss_grad(w, np.array([th[d] if fit_b else b_fixed]),
                                               h_out=h_out)
        f = loss + 0.5 * a2 * float(th[:d] @ th[:d])
        g = gw.astype(np.float64) + a2 * th[:d]
        if fit_b:
            g = np.concatenate([g, gb])
        if not (np.isfinite(f) and np.isfinite(g).all()):
            return np.inf, None, correct
        return f, g, correct

    def hessp(v):
        hv, hv_b = rows.hessp(h, v[:d], v[d] if fit_b else 0.0)
        hv += a2 * v[:d]
        return np.concatenate([hv, [hv_b]]) if fit_b else hv

    def preconditioner():
        """The Hessian's diagonal (1 where it is 0: an empty column, no penalty)."""
        diag = rows.hessian_diagonal(h) + a2
        if fit_b:
            diag = np.concatenate([diag, [float(h.sum(dtype=np.float64))]])
        diag[~(diag > 0) | ~np.isfinite(diag)] = 1.0
        return diag

    f, g, correct = evaluate(theta, h)
    hist = History(progress)
    gnorm = float(np.abs(g).max()) * scale if g is not None else np.inf
    hist.append((f, objective.accuracy(correct), gnorm))
    if g is None:
        return _result(theta, d, fit_b, b_fixed, dtype, 0, StopReason.NONFINITE, hist)
    if gnorm <= tol:
        return _result(theta, d, fit_b, b_fixed, dtype, 0, StopReason.CONVERGED, hist)
    M = preconditioner()
    delta = float(np.sqrt(g @ (g / M)))
    h_new = np.empty_like(h)
    n_iter, rejected, first = 0, 0, True
    reason = StopReason.MAX_ITER
    while n_iter < max_iter:
        s, r, boundary = _trpcg(delta, g, M, hessp)
        gs = float(g @ s)
        prered = -0.5 * (gs - float(s @ r))
        cand = theta + s
        f_new, g_new, c_new = evaluate(cand, h_new)
        actred = f - f_new
        dnorm = float(np.sqrt(s @ (M * s)))
        if first:
            delta = min(delta, dnorm)
            first = False
        curv = f_new - f - gs
        alpha = _SIGMA3 if curv <= 0 else max(_SIGMA1, -0.5 * (gs / curv))
        if not np.isfinite(actred):
            delta = _SIGMA1 * min(delta, dnorm)
        elif actred < _ETA0 * prered:
            delta = min(alpha * dnorm, _SIGMA2 * delta)
        elif actred < _ETA1 * prered:
            delta = max(_SIGMA1 * delta, min(alpha * dnorm, _SIGMA2 * delta))
        elif actred < _ETA2 * prered:
            delta = max(_SIGMA1 * delta, min(alpha * dnorm, _SIGMA3 * delta))
        elif boundary:
            delta = _SIGMA3 * delta
        else:
            delta = max(delta, min(alpha * dnorm, _SIGMA3 * delta))
        if np.isfinite(actred) and actred > _ETA0 * prered:
            theta, f, g, correct = cand, f_new, g_new, c_new
            h, h_new = h_new, h
            n_iter += 1
            rejected = 0
            gnorm = float(np.abs(g).max()) * scale
            hist.append((f, objective.accuracy(correct), gnorm))
            if gnorm <= tol:
                reason = StopReason.CONVERGED
                break
            M = preconditioner()
        else:
            rejected += 1
        if prered <= 0 or rejected >= _MAX_REJECTED or not delta > 0 or (
                abs(actred) <= 1e-12 * abs(f) and abs(prered) <= 1e-12 * abs(f)):
            reason = StopReason.LINE_SEARCH   # at the optimum to machine precision
            break
    return _result(theta, d, fit_b, b_fixed, dtype, n_iter, reason, hist)


def _trpcg(delta, g, M, hessp):
    """Preconditioned CG for ``H s = -g`` inside the trust region ``||s||_M <= delta``
    (Steihaug). Returns ``(s, r, reached_boundary)`` with the residual ``r = -g - H s``."""
    s = np.zeros_like(g)
    r = -g
    z = r / M
    dvec = z.copy()
    zTr = float(z @ r)
    cgtol = _CG_TOL * np.sqrt(zTr)
    for _ in range(max(10, 2 * g.size)):
        if np.sqrt(zTr) <= cgtol:
            break
        Hd = hessp(dvec)
        dHd = float(dvec @ Hd)
        if not dHd > 0:   # no curvature along d (a flat direction): go to the boundary
            return s + _to_boundary(s, dvec, M, delta) * dvec, r, True
        alpha = zTr / dHd
        s_next = s + alpha * dvec
        if np.sqrt(s_next @ (M * s_next)) > delta:
            alpha = _to_boundary(s, dvec, M, delta)
            return s + alpha * dvec, r - alpha * Hd, True
        s = s_next
        r = r - alpha * Hd
        z = r / M
        znew = float(z @ r)
        dvec = z + (znew / zTr) * dvec
        zTr = znew
    return s, r, False


def _to_boundary(s, dvec, M, delta):
    """The step t >= 0 with ``||s + t d||_M = delta``."""
    sMd, sMs, dMd = float(s @ (M * dvec)), float(s @ (M * s)), float(dvec @ (M * dvec))
    rad = np.sqrt(max(sMd * sMd + dMd * (delta * delta - sMs), 0.0))
    if sMd >= 0:
        return (delta * delta - sMs) / (sMd + rad) if sMd + rad > 0 else 0.0
    return (rad - sMd) / dMd


def _result(theta, d, fit_b, b_fixed, dtype, n_iter, reason, hist):
    loss, acc, gnorm = np.array(hist).T
    b_out = theta[d] if fit_b else b_fixed
    return SolverResult(theta[:d].astype(dtype).reshape(1, -1), np.array([b_out]), n_iter,
                        reason, loss, acc, gnorm)
