"""The passes behind `clogreg._inference`: the Hessian (the kernel's Newton pass), the
"meat" of the sandwich estimators, the covariance kinds, and the certificate that the
fit is at an optimum that exists. Every pass reads X in fixed row blocks and adds the
blocks in order (float64 whatever X's dtype), so the statistics do not depend on the
number of threads."""
import warnings

import numpy as np
from scipy import linalg, sparse
from scipy.special import expit, log_softmax, softmax

from ._dispatch import kernel as _kernel
from ._separation import _with_const

#: Target size (float64 elements) of one row block of the NumPy passes (~32 MB).
_BLOCK_ELEMS = 1 << 22
#: The certificate of non-separation: a Newton step from the fit that moves no row's
#: linear predictor by this much proves that the MLE exists (module docstring).
_CERTIFICATE_MARGIN = 0.5


class _Statistics:
    """What one evaluation at the fitted parameters gives (float64 throughout)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def _weights(sw, y):
    return sw if sw.size else np.ones(y.shape[0])


def _covariance(A, B, kind, nobs, k, n_groups, unreliable):
    """``A^-1`` (classical) or the sandwich ``A^-1 B A^-1`` with statsmodels' factors,
    for the parameters not marked unreliable (NaN rows and columns for those)."""
    p = A.shape[0]
    cov = np.full((p, p), np.nan)
    keep = ~unreliable
    if not np.any(keep):
        return cov
    Ak = A[np.ix_(keep, keep)]
    try:
        c, low = linalg.cho_factor(Ak, lower=True)
        pivots = np.diag(c) ** 2  # cond(A) >= max / min of these
        if pivots.min() <= 1e3 * np.finfo(float).eps * pivots.max() * Ak.shape[0]:
            raise linalg.LinAlgError("numerically singular")
        Ainv = linalg.cho_solve((c, low), np.eye(Ak.shape[0]))
    except linalg.LinAlgError:
        raise ValueError(
            "the Hessian (information matrix) is singular: X has collinear columns (or a "
            "constant column besides the intercept, or too few rows per parameter); "
            "drop the redundant columns") from None
    if kind != "classical":
        Bk = B[np.ix_(keep, keep)]
        Ainv = Ainv @ Bk @ Ainv
        if kind == "HC1":
            Ainv *= nobs / (nobs - k)
        elif kind == "cluster":
            Ainv *= n_groups / (n_groups - 1.0) * (nobs - 1.0) / (nobs - k)
    Ainv = 0.5 * (Ainv + Ainv.T)
    cov[np.ix_(keep, keep)] = Ainv
    return cov


def _solve_quietly(A, g):
    """``A^-1 g`` for the symmetric A, or NaN where A is (numerically) singular."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        try:
            return linalg.solve(A, g, assume_a="pos")
        except (linalg.LinAlgError, ValueError):
            return np.full(A.shape[0], np.nan)


def _row_blocks(n, p):
    """Fixed row blocks ``(start, stop)`` of about _BLOCK_ELEMS elements."""
    rows = max(256, _BLOCK_ELEMS // max(p, 1))
    return [(a, min(n, a + rows)) for a in range(0, n, rows)]


def _block(X, a, b):
    """Rows a:b of X as a C-contiguous float64 array."""
    Xb = X[a:b]
    if sparse.issparse(Xb):
        return Xb.toarray().astype(np.float64, copy=False)
    return np.ascontiguousarray(Xb, dtype=np.float64)


def hessian_pass(X, y01, sw, w, b):
    """The binary model's loss, gradient and Hessian in float64: one kernel pass.

    Returns ``(loss, grad (d,), grad_b, H (d, d), H_wb (d,), h_sum)`` with ``loss =
    sum_i s_i logloss_i``, ``grad = X.T @ r``, ``r = s (p - y)``, ``H = X.T @ diag(h) @
    X`` (both triangles), ``H_wb = X.T @ h``, ``h = s p (1 - p)``. A C-contiguous
    float64 X goes to ``newton_pass`` whole; float32 and sparse X by blocks cast to
    float64 (the statistics accumulate in float64 whatever the data's dtype).
    """
    n, d = X.shape
    w = np.ascontiguousarray(w, dtype=np.float64)
    grad, H, H_wb = np.zeros(d), np.zeros((d, d)), np.zeros(d)
    g_t, H_t, Hwb_t = np.empty(d), np.empty((d, d)), np.empty(d)
    loss = grad_b = h_sum = 0.0
    whole = (not sparse.issparse(X)) and X.dtype == np.float64 and X.flags.c_contiguous
    blocks = [(0, n)] if whole else _row_blocks(n, d)
    for a, c in blocks:
        Xb = X if whole else _block(X, a, c)
        yb = np.ascontiguousarray(y01[a:c], dtype=np.float64)
        swb = sw[a:c] if sw.size else sw
        out = _kernel.newton_pass(Xb, yb, swb, w, float(b), g_t, H_t, Hwb_t)
        loss += out[0]
        grad_b += out[1]
        h_sum += out[2]
        grad += g_t
        H += H_t
        H_wb += Hwb_t
    H = np.tril(H) + np.tril(H, -1).T
    return loss, grad, grad_b, H, H_wb, h_sum


def _max_abs(X):
    """``max_ij |X_ij|`` over fixed row blocks: NaN where X has NaN, inf where inf (the
    finiteness check, at the cost of reading X once)."""
    if sparse.issparse(X):
        return float(np.max(np.abs(X.data), initial=0.0))
    out = 0.0
    for a, c in _row_blocks(X.shape[0], X.shape[1]):
        out = np.maximum(out, np.maximum(X[a:c].max(), -X[a:c].min()))
    return float(out)


def _step_bound(max_abs, step, fit_intercept):
    """An upper bound of ``max_i |x1_i @ step|``: ``max|X| ||step_w||_1 + |step_b|``."""
    if fit_intercept:
        return float(max_abs * np.abs(step[1:]).sum() + abs(step[0]))
    return float(max_abs * np.abs(step).sum())


def _binary_evaluation(X, y, sw, params, fit_intercept, alpha_l2, kind, groups, max_abs):
    """Hessian, meat and the non-separation certificate at params (binary)."""
    n, d = X.shape
    b = params[0] if fit_intercept else 0.0
    w = params[1:] if fit_intercept else params
    loss, g, g_b, H, H_wb, h_sum = hessian_pass(X, y, sw, w, b)
    if not (np.isfinite(H).all() and np.isfinite(loss)):
        raise ValueError("the Hessian or the log-likelihood is not finite: rescale X")
    pen = np.full(d, alpha_l2)
    if fit_intercept:
        A = np.empty((d + 1, d + 1))
        A[0, 0], A[0, 1:], A[1:, 0], A[1:, 1:] = h_sum, H_wb, H_wb, H
        grad = np.concatenate([[g_b], g + alpha_l2 * w])
        pen = np.concatenate([[0.0], pen])
    else:
        A, grad = H.copy(), g + alpha_l2 * w
    A[np.diag_indices_from(A)] += pen
    newton_step = _solve_quietly(A, -grad)
    p = A.shape[0]
    B = np.zeros((p, p)) if kind in ("HC0", "HC1") else None
    G = None
    if kind == "cluster":
        n_groups = int(groups.max()) + 1
        G = np.zeros((n_groups, p))
    certificate = 0.0 if np.isfinite(newton_step).all() else None
    weights = _weights(sw, y)
    step_w = newton_step[1:] if fit_intercept else newton_step
    step_b = newton_step[0] if fit_intercept else 0.0
    exact = False  # the certificate needs the pass below unless the bound already holds
    if certificate is not None:
        certificate = _step_bound(max_abs, newton_step, fit_intercept)
        exact = certificate >= _CERTIFICATE_MARGIN
        if exact:
            certificate = 0.0
    for a, c in (_row_blocks(n, p) if exact or kind != "classical" else []):
        Xb = _block(X, a, c)
        yb, sb = y[a:c], weights[a:c]
        if exact:
            # how far the Newton step moves each weighted row's linear predictor
            # (two matrix-vector products beat one with two columns in OpenBLAS)
            move = np.abs(Xb @ step_w + step_b)
            move = move[sb > 0] if sw.size else move
            certificate = max(certificate, float(move.max(initial=0.0)))
        if kind != "classical":
            X1 = _with_const(Xb, fit_intercept)
            z = Xb @ w + b
            S = X1 * (sb * (yb - expit(z)))[:, None]  # scores s_i (y_i - p_i) x1_i
            if G is None:
                B += S.T @ S
            else:
                gb = groups[a:c]
                G += sparse.csr_matrix((np.ones(c - a), (gb, np.arange(c - a))),
                                       shape=(G.shape[0], c - a)) @ S
    if G is not None:
        B = G.T @ G
    nobs = float(weights.sum())
    ybar = float(weights @ y) / nobs
    with np.errstate(divide="ignore", invalid="ignore"):
        llnull = nobs * (ybar * np.log(ybar) + (1 - ybar) * np.log1p(-ybar)) \
            if 0 < ybar < 1 else 0.0
    model = {"llf": -float(loss), "llnull": float(llnull), "nobs": nobs,
             "df_model": d}
    return _Statistics(A=A, B=B, newton_step=newton_step, certificate=certificate,
                       nobs=nobs, n_groups=None if G is None else G.shape[0], model=model)


def _multinomial_evaluation(X, y, sw, full, fit_intercept, kind, groups, max_abs):
    """Hessian and meat of the reference-class parametrisation (classes 1..K-1
    relative to class 0) at the fitted model ``full`` (K, p1), by NumPy blocks."""
    n, d = X.shape
    K, p1 = full.shape
    m = K - 1
    p = m * p1
    A = np.zeros((p, p))
    grad = np.zeros(p)
    B = np.zeros((p, p)) if kind in ("HC0", "HC1") else None
    G = np.zeros((int(groups.max()) + 1, p)) if kind == "cluster" else None
    weights = _weights(sw, y)
    yi = y.astype(np.intp)
    llf = 0.0
    for a, c in _row_blocks(n, p1 * K):
        X1 = _with_const(_block(X, a, c), fit_intercept)
        Z = X1 @ full.T
        logP = log_softmax(Z, axis=1)
        P = softmax(Z, axis=1)
        sb = weights[a:c]
        rows = np.arange(c - a)
        llf += float(sb @ logP[rows, yi[a:c]])
        Y = np.zeros_like(P)
        Y[rows, yi[a:c]] = 1.0
        R = sb[:, None] * (Y - P)[:, 1:]                      # (nb, m) score residuals
        S = (R[:, :, None] * X1[:, None, :]).reshape(c - a, p)
        grad += S.sum(axis=0)
        Pm = P[:, 1:]
        for k in range(m):
            for j in range(k, m):
                wk = sb * ((Pm[:, k] if j == k else 0.0) - Pm[:, k] * Pm[:, j])
                blk = (X1 * wk[:, None]).T @ X1
                A[k * p1:(k + 1) * p1, j * p1:(j + 1) * p1] += blk
                if j != k:
                    A[j * p1:(j + 1) * p1, k * p1:(k + 1) * p1] += blk.T
        if B is not None:
            B += S.T @ S
        elif G is not None:
            gb = groups[a:c]
            G += sparse.csr_matrix((np.ones(c - a), (gb, rows)),
                                   shape=(G.shape[0], c - a)) @ S
    if G is not None:
        B = G.T @ G
    newton_step = _solve_quietly(A, grad)
    certificate = None
    if np.isfinite(newton_step).all():
        # the certificate of overlap for K classes: the Newton step changes no row's
        # difference of two classes' linear predictors by 1 or more (module docstring)
        steps = newton_step.reshape(m, p1).T
        certificate = 2.0 * max(_step_bound(max_abs, steps[:, k], fit_intercept)
                                for k in range(m))
        blocks = [] if certificate < _CERTIFICATE_MARGIN else _row_blocks(n, p1 * K)
        if blocks:
            certificate = 0.0
        for a, c in blocks:
            D = _with_const(_block(X, a, c), fit_intercept) @ steps
            spread = np.maximum(D.max(axis=1), 0.0) - np.minimum(D.min(axis=1), 0.0)
            certificate = max(certificate, float(spread[weights[a:c] > 0].max(initial=0.0)))
    nobs = float(weights.sum())
    freq = np.bincount(yi, weights=weights, minlength=K) / nobs
    with np.errstate(divide="ignore"):
        llnull = float(nobs * np.sum(np.where(freq > 0, freq * np.log(freq), 0.0)))
    model = {"llf": llf, "llnull": llnull, "nobs": nobs, "df_model": m * d}
    return _Statistics(A=A, B=B, newton_step=newton_step, certificate=certificate, nobs=nobs,
                       n_groups=None if G is None else G.shape[0], model=model)
