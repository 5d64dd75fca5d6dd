"""Solvers: the glue between validated arrays and the Cython kernel.

Every solver receives a `Problem` built from data that `clogreg._estimator` already
validated (C-contiguous float32 or float64 X; labels encoded as 0.0 / 1.0 for the
binary model or as class indices for the multinomial one, in X's dtype; sample
weights or an empty array) and minimises the *summed* objective::

    sum_i s_i * logloss_i + alpha_l2 / 2 * ||W||^2 + alpha_l1 * ||W||_1

(intercepts never penalised). Every pass over the data is one call into the Cython
kernel; Python only runs the outer iterations (epochs run inside the kernel for "gd").

History: entry k of ``loss``, ``accuracy`` and ``grad_norm`` is measured at the
parameters entering iteration k. ``grad_norm`` is the max-norm of the gradient of the
*mean* objective (for L1: of the proximal gradient mapping or the minimum-norm
subgradient), the quantity compared with ``tol``.
"""
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import scipy.linalg
from scipy.optimize import minimize

from ._dispatch import kernel as _kernel  # the baseline or the AVX2+FMA build

Status = _kernel.Status
_EPS = np.finfo(float).eps
_REASONS = {Status.STATUS_CONVERGED: "converged", Status.STATUS_MAX_ITER: "max_iter",
            Status.STATUS_NONFINITE: "nonfinite"}


@dataclass
class SolverResult:
    """What a solver hands back to the estimator."""

    coef: np.ndarray         # (n_out, d) in X's dtype; n_out = 1 binary, K multinomial
    intercept: np.ndarray    # (n_out,) float64
    n_iter: int
    stop_reason: str         # "converged", "max_iter", "nonfinite" or "line_search"
    loss: np.ndarray = field(default_factory=lambda: np.empty(0))
    accuracy: np.ndarray = field(default_factory=lambda: np.empty(0))
    grad_norm: np.ndarray = field(default_factory=lambda: np.empty(0))


class Problem:
    """Validated data plus one fused kernel pass: data loss, gradients, n_correct."""

    def __init__(self, X, y, sample_weight, n_out, fit_intercept, alpha_l2, alpha_l1,
                 n_threads=1, stats=None):
        self.X, self.y, self.sample_weight = X, y, sample_weight
        self.stats = stats  # column_stats(X, sample_weight[, y]) where already computed
        self.n_out, self.fit_intercept = n_out, fit_intercept
        self.alpha_l2, self.alpha_l1, self.n_threads = alpha_l2, alpha_l1, n_threads
        n, d = X.shape
        self.n_params = n_out * d
        self.sum_weights = float(sample_weight.sum(dtype=np.float64)) if sample_weight.size \
            else float(n)
        self._grad = np.empty(self.n_params, dtype=X.dtype)
        self._grad_b = np.empty(n_out, dtype=np.float64)

    def data_pass(self, w, b):
        """(sum s*logloss, grad_w (copy, float64), grad_b (copy), n_correct) at w, b.

        One kernel pass; none at w = 0, b = 0 (where every cold start begins) when
        `stats` has the label sums: there p = 1/2 for every row, so the loss is
        ``sum(s) log 2``, the gradient ``X.T @ (s (1/2 - y))`` is
        ``sums / 2 - label_sums``, and the rows with y = 0 are the correct ones.
        """
        st = self.stats
        if st is not None and st.label_sums is not None and self.n_out == 1 and \
                float(b[0]) == 0.0 and not np.any(w):
            return (self.sum_weights * np.log(2.0), 0.5 * st.sums - st.label_sums,
                    np.array([0.5 * self.sum_weights - st.label_sum]),
                    self.X.shape[0] - st.positives)
        w = np.ascontiguousarray(w, dtype=self.X.dtype)
        if self.n_out == 1:
            loss, gb, correct = _kernel.loss_grad(self.X, self.y, self.sample_weight, w,
                                                  float(b[0]), self._grad, self.n_threads)
            self._grad_b[0] = gb
        else:
            loss, correct = _kernel.multinomial_loss_grad(
                self.X, self.y, self.sample_weight, w, np.asarray(b, dtype=np.float64),
                self._grad, self._grad_b, self.n_threads)
        return loss, self._grad.astype(np.float64), self._grad_b.copy(), correct

    def penalty(self, w):
        l2 = 0.5 * self.alpha_l2 * np.dot(w, w) if self.alpha_l2 else 0.0
        return l2 + (self.alpha_l1 * np.abs(w).sum() if self.alpha_l1 else 0.0)

    def accuracy(self, correct):
        return 100.0 * correct / self.X.shape[0]


#: Up to this many features the "auto" step of "gd" uses the exact largest eigenvalue
#: of the (d + 1, d + 1) Gram matrix; above it, the cheaper Frobenius-norm bound.
GRAM_MAX_FEATURES = 1000


def lipschitz_bound(X, sample_weight, fit_intercept, alpha_l2, n_out=1):
    """Upper bound on the Lipschitz constant of the summed objective's gradient.

    The Hessian is ``A.T @ diag(s * c_i) @ A + alpha_l2 * I`` with ``A = [X, 1]``
    and ``c_i <= 1/4`` (binary: p (1 - p); softmax: the norm of diag(p) - p p.T is
    <= 1/2), so its largest eigenvalue is at most
    ``c * lambda_max(A.T @ diag(s) @ A) + alpha_l2``. Up to GRAM_MAX_FEATURES features
    ``lambda_max`` is computed exactly from the Gram matrix (BLAS, no copy of X);
    above, it is bounded by the squared Frobenius norm ``sum_i s_i ||a_i||^2``.
    Computed in float64. Returns inf when the bound overflows, or, for float32 X,
    when the summed gradient could overflow float32.
    """
    c = 0.25 if n_out == 1 else 0.5
    n, d = X.shape
    total = float(sample_weight.sum(dtype=np.float64)) if sample_weight.size else float(n)
    with np.errstate(over="ignore", invalid="ignore"):  # overflow: inf, reported below
        if d <= GRAM_MAX_FEATURES:
            gram = _weighted_gram(X, sample_weight, fit_intercept)
            if not np.isfinite(gram).all():
                return np.inf
            frob = float(np.trace(gram)) - (total if fit_intercept else 0.0)
            top = float(scipy.linalg.eigvalsh(gram, subset_by_index=[gram.shape[0] - 1] * 2)[0])
        else:
            frob = squared_norm_sum(X, sample_weight)
            top = frob + (total if fit_intercept else 0.0)
    if not np.isfinite(top) or not _gradient_fits(X, total, frob):
        return np.inf
    return c * top + alpha_l2


def squared_norm_sum(X, sample_weight):
    """``sum_i s_i ||x_i||^2`` in float64, one pass over X without a copy (inf on
    overflow)."""
    with np.errstate(over="ignore", invalid="ignore"):
        if sample_weight.size:
            return float(np.einsum("ij,ij,i->", X, X, sample_weight, dtype=np.float64))
        flat = X.ravel()  # a view: X is C-contiguous
        frob = float(np.dot(flat, flat))  # BLAS, no temporary
        if not np.isfinite(frob) and X.dtype != np.float64:
            # float32 squares overflow from |x| ~ 1e19 on; the sum is wanted in float64
            frob = float(np.einsum("i,i->", flat, flat, dtype=np.float64))
        return frob


def _gradient_fits(X, total, frob):
    """Whether every gradient sum ``sum_i s_i |x_ij|`` (<= sqrt(total * frob)) is
    sure to be finite in X's dtype."""
    return bool(np.sqrt(total) * np.sqrt(frob) <= float(np.finfo(X.dtype).max))


class ColumnStats(NamedTuple):
    """Weighted column sums of X, in float64 (`column_stats`)."""

    sums: np.ndarray                # sum_i s_i x_i
    squares: np.ndarray             # sum_i s_i x_i**2
    label_sums: np.ndarray | None   # sum_i s_i y_i x_i (binary labels), or None
    label_sum: float | None         # sum_i s_i y_i
    positives: float | None         # the number of rows with y_i = 1

    def finite(self):
        return bool(np.isfinite(self.sums).all() and np.isfinite(self.squares).all()
                    and (self.label_sums is None or np.isfinite(self.label_sums).all()))


def column_stats(X, sample_weight, n_threads=1, y=None):
    """`ColumnStats` of X (inf on overflow, NaN where X has one): one kernel pass
    without a copy; with binary labels y (0.0 / 1.0) also the label-weighted sums,
    which give the gradient at w = 0 (`Problem.data_pass`)."""
    out = np.empty((2 if y is None else 3, X.shape[1]))
    with np.errstate(over="ignore", invalid="ignore"):
        _kernel.column_stats(X, sample_weight, np.empty(0, X.dtype) if y is None else y,
                             out, n_threads)
    if y is None:
        return ColumnStats(out[0], out[1], None, None, None)
    s = sample_weight.astype(np.float64) if sample_weight.size else None
    label_sum = float(np.dot(s, y)) if s is not None else float(y.sum(dtype=np.float64))
    return ColumnStats(out[0], out[1], out[2], label_sum, float(y.sum(dtype=np.float64)))


def check_scale(X, sample_weight, n_threads=1, stats=None, y=None):
    """Raise ValueError when X is so large that the passes' sums could overflow;
    return `column_stats` (the one pass this takes, unless ``stats`` gives them; with
    the binary labels ``y``, the label sums too) for the solvers to reuse."""
    total = float(sample_weight.sum(dtype=np.float64)) if sample_weight.size \
        else float(X.shape[0])
    if stats is None:
        stats = column_stats(X, sample_weight, n_threads, y)
    with np.errstate(over="ignore", invalid="ignore"):
        frob = float(stats.squares.sum())
    if not np.isfinite(frob) or not _gradient_fits(X, total, frob):
        raise ValueError(_scale_message(X.dtype))
    return stats


def _scale_message(dtype, what="the step-size bound (the sum of the squared row norms)"):
    return (f"X has values so large that {what} overflows {dtype}; rescale X "
            f"(e.g. sklearn.preprocessing.StandardScaler)")


def _weighted_gram(X, sample_weight, fit_intercept):
    """``A.T @ diag(s) @ A`` for ``A = [X, 1]`` (or X) in float64, in row chunks."""
    n, d = X.shape
    m = d + 1 if fit_intercept else d
    gram = np.zeros((m, m))
    if not sample_weight.size:
        with np.errstate(over="ignore", invalid="ignore"):
            gram[:d, :d] = X.T @ X  # BLAS on X itself, no copy
        if np.isfinite(gram).all() or X.dtype == np.float64:
            if fit_intercept:
                gram[:d, d] = gram[d, :d] = X.sum(axis=0, dtype=np.float64)
                gram[d, d] = n
            return gram
        gram[:] = 0.0  # float32 products overflowed: redo in float64, below
    rows_per_chunk = 1024  # bounded float64 temporaries, no copy of X
    for start in range(0, n, rows_per_chunk):
        rows = slice(start, start + rows_per_chunk)
        Xs = X[rows].astype(np.float64)
        s = sample_weight[rows].astype(np.float64) if sample_weight.size \
            else np.ones(Xs.shape[0])
        gram[:d, :d] += Xs.T @ (Xs * s[:, None])
        if fit_intercept:
            gram[:d, d] += Xs.T @ s
    if fit_intercept:
        gram[d, :d] = gram[:d, d]
        gram[d, d] = sample_weight.sum(dtype=np.float64) if sample_weight.size else n
    return gram


def gradient_descent(X, y, sample_weight, coef, intercept, *, learning_rate, alpha_l2,
                     alpha_l1, fit_intercept, max_iter, tol, n_threads):
    """Run `_kernel.gd_fit` (all epochs inside the kernel) from (coef, intercept).

    ``coef`` has shape (d,) or (n_out, d) and ``intercept`` is a number or (n_out,);
    n_out = 1 trains the binary model, n_out = K the multinomial one.
    """
    b = np.array(intercept, dtype=np.float64, ndmin=1, copy=True)
    w = np.array(coef, dtype=X.dtype, copy=True).reshape(-1)
    n_out = b.shape[0]
    hist = np.empty((3, max_iter), dtype=np.float64)
    grad_scale = float(sample_weight.sum(dtype=np.float64)) if sample_weight.size \
        else float(X.shape[0])
    n_iter, status = _kernel.gd_fit(
        X, y, sample_weight, w, b, hist, float(learning_rate), float(alpha_l2),
        float(alpha_l1), bool(fit_intercept), int(max_iter), float(tol), grad_scale,
        int(n_threads),
    )
    return SolverResult(w.reshape(n_out, -1), b, n_iter, _REASONS[status],
                        hist[0, :n_iter].copy(), hist[1, :n_iter].copy(),
                        hist[2, :n_iter].copy())


def lbfgs(problem, coef, intercept, *, max_iter, tol):
    # a trial step may overflow to inf (or inf * 0 to NaN): every evaluation checks
    # for it and reports inf to SciPy, which backs off (no NumPy warnings)
    with np.errstate(over="ignore", invalid="ignore"):
        return _lbfgs(problem, coef, intercept, max_iter=max_iter, tol=tol)


def _lbfgs(problem, coef, intercept, *, max_iter, tol):
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
    if problem.alpha_l1 > 0:
        raise ValueError("lbfgs cannot handle an L1 penalty")  # the estimator says more
    p, n_out, scale = problem.n_params, problem.n_out, 1.0 / problem.sum_weights
    fit_b = problem.fit_intercept
    if problem.stats is None:
        problem.stats = column_stats(problem.X, problem.sample_weight, problem.n_threads)
    mu, s = _standardisation(problem.stats.sums, problem.stats.squares,
                             problem.sum_weights, center=fit_b)
    S = np.tile(s, n_out)

    def to_wb(theta):
        w = theta[:p] / S
        b = theta[p:] - w.reshape(n_out, -1) @ mu if fit_b else fixed_b
        return w, b

    w0 = np.asarray(coef, np.float64).ravel()
    b0 = np.asarray(intercept, np.float64).ravel()
    fixed_b = b0.copy()
    theta0 = np.concatenate([w0 * S, b0 + w0.reshape(n_out, -1) @ mu])
    last, hist = {}, []

    def fun(theta):
        w, b = to_wb(theta)
        if not (np.isfinite(w).all() and np.isfinite(b).all()):
            return np.inf, np.zeros_like(theta)  # a trial step too far: SciPy backs off
        loss, grad_w, grad_b, correct = problem.data_pass(w, b)
        f = loss + problem.penalty(w)
        if not np.isfinite(f):
            return np.inf, np.zeros_like(theta)
        grad_w += problem.alpha_l2 * w
        if not fit_b:
            grad_b = np.zeros(n_out)
        gnorm = max(np.abs(grad_w).max(), np.abs(grad_b).max()) * scale
        last.update(f=f, acc=problem.accuracy(correct), gnorm=gnorm)
        # chain rule through w = v / s, b = c - w @ mu
        grad_v = (grad_w - np.outer(grad_b, mu).ravel()) / S
        return f * scale, np.concatenate([grad_v, grad_b]) * scale

    def record(*_):
        hist.append((last["f"], last["acc"], last["gnorm"]))
        if last["gnorm"] <= tol:
            raise StopIteration  # SciPy ends the run and returns this iterate

    first = [theta0.copy(), fun(theta0)]
    hist.append((last["f"], last["acc"], last["gnorm"]))
    if last["gnorm"] <= tol:  # already optimal (warm start)
        return SolverResult(w0.astype(problem.X.dtype).reshape(n_out, -1), b0, 0,
                            "converged", *map(np.array, zip(*hist)))

    # SciPy's L-BFGS-B tries a first step of unit length along -g. Measured in
    # u = k * theta with k = h0 / ||g0||, that step is -g0 / h0 in theta: the Newton
    # step for a Hessian h0 * I, which is what the Hessian of the mean objective is
    # in standardised coordinates with uncorrelated features (h0 = p (1 - p) at
    # p = 1/2, or 1/K (1 - 1/K) for K classes at the uniform softmax, plus the L2
    # term). Later steps scale themselves (s.y / y.y), whatever k is.
    h0 = 1.0 / max(n_out, 2) * (1.0 - 1.0 / max(n_out, 2)) + \
        problem.alpha_l2 * scale * float(np.mean(1.0 / (S * S)))
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
        reason = "converged"
    elif res.status == 1:
        reason = "max_iter"
    else:
        reason = "nonfinite" if not np.isfinite(res.fun) else "line_search"
    theta = res.x if np.isfinite(res.x).all() else theta0
    w, b = to_wb(theta)
    loss, acc, gnorm = np.array(hist).T
    return SolverResult(w.astype(problem.X.dtype).reshape(n_out, -1), np.array(b, float),
                        len(hist) - 1, reason, loss, acc, gnorm)


def _standardisation(sums, squares, total, center):
    """Column means (0 if not ``center``) and standard deviations (root mean squares
    if not ``center``) from `column_stats`; 1 for a constant column or one of
    extreme scale."""
    mu = sums / total if center else np.zeros(sums.size)
    with np.errstate(invalid="ignore", over="ignore"):
        s = np.sqrt(np.maximum(squares / total - mu * mu, 0.0))
    # Columns of extreme scale keep their own: v = s * w would underflow or overflow
    # where w itself is representable (w ~ 1e-300 for features ~ 1e300, say).
    s[~(np.isfinite(s) & (s > 1e-100) & (s < 1e100))] = 1.0
    mu[~np.isfinite(mu)] = 0.0
    return mu, s


def newton(problem, coef, intercept, *, max_iter, tol):
    # overflow gives inf, which every step checks for (no NumPy warnings)
    with np.errstate(over="ignore", invalid="ignore"):
        return _newton(problem, coef, intercept, max_iter=max_iter, tol=tol)


def _newton(problem, coef, intercept, *, max_iter, tol):
    """Newton / IRLS for the binary model; proximal Newton (coordinate descent) for L1.

    Each iteration solves for the Newton step with the Hessian
    ``[X, 1].T @ diag(s p (1 - p)) @ [X, 1]`` (one kernel pass: BLAS syrk on
    cache-sized tiles; a Cholesky solve, or with L1 the glmnet / newGLMNET
    coordinate descent on the quadratic model), then backtracks (Armijo) on the full
    objective, each trial point one loss-and-gradient pass. Passes are spent where
    they pay:

    * the gradient at a new point comes from the line search's pass, so convergence
      is checked before any Hessian is formed (the last iterate costs no Hessian);
    * after a full step that cut the gradient at least ``REUSE_FACTOR``-fold (the
      quadratic-convergence regime), the next step reuses the factorised Hessian
      (a chord step: one cheap pass instead of an O(n d^2) one) where that Hessian
      costs at least ``REUSE_MIN_FLOPS``; a reused Hessian whose full step fails
      the Armijo test or cuts the gradient less is refreshed at once.

    Stops when the optimality measure (gradient, or minimum-norm subgradient with
    L1) of the mean objective has max-norm <= tol.
    """
    X, dtype = problem.X, problem.X.dtype
    d, fit_b = X.shape[1], problem.fit_intercept
    a2, a1, scale = problem.alpha_l2, problem.alpha_l1, 1.0 / problem.sum_weights
    b_fixed = float(np.asarray(intercept, np.float64).ravel()[0])
    theta = np.concatenate([np.asarray(coef, np.float64).ravel(),
                            [b_fixed] if fit_b else []])
    m = theta.size
    l1 = np.zeros(m)
    l1[:d] = a1
    has_l1 = a1 > 0
    grad, H, H_wb = np.empty(d, dtype), np.empty((d, d), dtype), np.empty(d, dtype)

    def evaluate(th):
        """(objective, its gradient (m,), n_correct) at th: one loss-gradient pass."""
        if not np.isfinite(th).all():
            return np.inf, None, 0.0
        w_ = th[:d]
        loss, gw, gb, correct = problem.data_pass(w_, th[d:] if fit_b else [b_fixed])
        f_ = loss + problem.penalty(w_)
        g_ = np.concatenate([gw + a2 * w_, gb]) if fit_b else gw + a2 * w_
        if not (np.isfinite(f_) and np.isfinite(g_).all()):
            return np.inf, None, correct
        return f_, g_, correct

    def model_at(th):
        """The quadratic model's Hessian at th (one pass), ready to solve with."""
        h_sum = _kernel.newton_pass(X, problem.y, problem.sample_weight,
                                    th[:d].astype(dtype), th[d] if fit_b else b_fixed,
                                    grad, H, H_wb)[2]
        if not (np.isfinite(H).all() and np.isfinite(H_wb).all()):
            raise ValueError(_scale_message(X.dtype, "the Hessian's sums of squares"))
        return _HessianModel(H, H_wb, h_sum, a2, fit_b, l1)

    # A chord step saves a Hessian pass but converges only linearly: worth it where
    # the Hessian (n d^2 / 2 multiply-adds) costs much more than a gradient pass
    reuse_pays = X.shape[0] * d * (d + 1) / 2 >= REUSE_MIN_FLOPS
    f, g, correct = evaluate(theta)
    hist, reason, n_iter, model, reuse = [], "max_iter", 0, None, False
    gnorm = _min_norm_subgradient(g, theta, l1) * scale if g is not None else np.inf
    while True:
        hist.append((f, problem.accuracy(correct), gnorm))
        if g is None:
            reason = "nonfinite"
            break
        if gnorm <= tol:
            reason = "converged"
            break
        if n_iter == max_iter:
            break
        while True:
            stale = reuse
            if not reuse:
                model = model_at(theta)
            delta = model.step(g, theta)
            # Armijo backtracking on F = smooth + L1, with the model decrease
            # D = g.delta + l1 (||theta + delta||_1 - ||theta||_1) < 0
            D = g @ delta
            if has_l1:
                D += l1 @ (np.abs(theta + delta) - np.abs(theta))
            # Near the optimum the predicted decrease |D| drops below the rounding
            # noise of f itself; the full step is then taken (local convergence).
            in_noise = abs(D) <= 256 * _EPS * abs(f)
            t = 1.0
            while True:
                cand = theta + t * delta
                f_new, g_new, c_new = evaluate(cand)
                if f_new <= f + 1e-4 * t * D or (in_noise and t == 1.0) or t < 1e-12:
                    break
                if stale:
                    break  # a reused Hessian that needs damping: refresh it instead
                t *= 0.5
            g_norm_new = (_min_norm_subgradient(g_new, cand, l1) * scale
                          if g_new is not None else np.inf)
            if stale and (t < 1.0 or not g_norm_new * REUSE_FACTOR <= gnorm or
                          not f_new <= f + 1e-4 * D):
                reuse = False
                continue
            break
        if t < 1e-12:  # no decrease possible: at the optimum to machine precision
            reason = "line_search"
            break
        reuse = reuse_pays and t == 1.0 and g_norm_new * REUSE_FACTOR <= gnorm
        theta, f, g, correct, gnorm = cand, f_new, g_new, c_new, g_norm_new
        n_iter += 1
    loss, acc, gnorm = np.array(hist).T
    b_out = theta[d] if fit_b else b_fixed
    return SolverResult(theta[:d].astype(dtype).reshape(1, -1), np.array([b_out]), n_iter,
                        reason, loss, acc, gnorm)


#: A Newton step whose gradient shrank at least this much lets the next step reuse
#: the Hessian (see `newton`), on problems whose Hessian takes at least
#: REUSE_MIN_FLOPS multiply-adds (below, a Hessian pass costs little more than a
#: gradient pass and Python's overhead).
REUSE_FACTOR = 4.0
REUSE_MIN_FLOPS = 1e7


class _HessianModel:
    """The (d + 1, d + 1) Hessian [X, 1].T diag(h) [X, 1] + alpha_l2 (weights only),
    factorised once, solved for as many gradients as asked.

    It is factorised after Jacobi scaling (unit diagonal), so that features of very
    different scales do not make the factorisation look singular: a Cholesky solve
    while the scaled matrix's reciprocal condition number is above ``RCOND_MIN``;
    below it (constant or repeated features and no penalty), the minimum-norm
    least-squares step in the scaled coordinates, singular values below
    ``LSTSQ_CUTOFF`` of the largest counting as zero.
    """

    RCOND_MIN = 1e-13
    LSTSQ_CUTOFF = 1e-12

    def __init__(self, H, H_wb, h_sum, a2, fit_b, l1):
        d = H.shape[0]
        m = d + 1 if fit_b else d
        A = np.empty((m, m))          # lower triangle (the kernel leaves H's upper 0)
        A[:d, :d] = H
        if fit_b:
            A[:d, d] = 0.0
            A[d, :d] = H_wb
            A[d, d] = h_sum
        if a2:
            A.flat[:m * d:m + 1] += a2    # the weights' diagonal
        diag = A.diagonal().copy()
        # an all-zero column without penalty, or one of extreme scale, stays unscaled
        # (1 / sqrt(diag_j diag_k) must stay finite)
        diag[~((diag > 1e-300) & (diag < np.inf))] = 1.0
        self.scale = 1.0 / np.sqrt(diag)
        A *= self.scale
        A *= self.scale[:, None]
        self.lower, self.l1, self.chol, self._full = A, l1, None, None
        if not l1.any():
            # LAPACK reads A.T (Fortran order, no copy) on its upper triangle: A's lower
            c, info = scipy.linalg.lapack.dpotrf(A.T, lower=0, clean=0)
            if info == 0:
                absA = np.abs(A)      # the 1-norm of the symmetric matrix
                norm1 = (absA.sum(axis=0) + absA.sum(axis=1) - absA.diagonal()).max()
                rcond, info = scipy.linalg.lapack.dpocon(c, norm1, uplo="U")
                if info == 0 and rcond > self.RCOND_MIN:
                    self.chol = c

    @property
    def A(self):
        """The full symmetric (scaled) matrix."""
        if self._full is None:
            self._full = self.lower + np.tril(self.lower, -1).T
        return self._full

    def step(self, g, theta):
        """Minimiser of g.delta + delta.A.delta/2 (+ sum l1 |theta + delta|)."""
        s = self.scale                # in scaled coordinates u = delta / s
        if self.chol is not None:
            x, _ = scipy.linalg.lapack.dpotrs(self.chol, s * g, lower=0)
            return -s * x.ravel()
        if not (self.l1 > 0).any():
            # singular values below LSTSQ_CUTOFF of the largest count as zero, so
            # that rounding noise along a null direction is not amplified
            return s * scipy.linalg.lstsq(self.A, -s * g, cond=self.LSTSQ_CUTOFF)[0]
        delta = np.zeros_like(g)
        _kernel.cd_quadratic(self.A, s * g, theta / s, s * self.l1, delta, 1000, 1e-12)
        return s * delta


def _min_norm_subgradient(g, theta, l1):
    """Max-norm of the smallest element of the subdifferential of smooth + L1."""
    if not l1.any():
        return float(np.abs(g).max()) if g.size else 0.0
    sub = np.where(theta != 0, g + l1 * np.sign(theta),
                   np.sign(g) * np.maximum(np.abs(g) - l1, 0.0))
    return float(np.abs(sub).max()) if sub.size else 0.0


class SGDState:
    """What mini-batch SGD carries from one call to the next (``partial_fit``)."""

    def __init__(self, seed):
        self.rng_state = np.array([seed or 0x9E3779B97F4A7C15], dtype=np.uint64)
        self.epochs_seen = np.zeros(1)


def sgd(problem, coef, intercept, *, state, eta0, power_t, batch_size, max_iter, tol,
        n_iter_no_change=5):
    """Mini-batch SGD (`_kernel.sgd_fit`: all epochs inside the kernel).

    ``eta0`` is the first step on the *mean* objective; ``power_t`` = 0 keeps it
    constant, > 0 decays it as ``eta0 / (1 + epochs) ** power_t``. ``tol``:
    scikit-learn's SGD rule, stop when the epoch's mean loss has not improved by tol
    for ``n_iter_no_change`` epochs.
    """
    X, dtype = problem.X, problem.X.dtype
    b = np.array(intercept, dtype=np.float64, ndmin=1, copy=True)
    w = np.array(coef, dtype=dtype, copy=True).reshape(-1)
    hist = np.empty((3, max_iter), dtype=np.float64)
    n_iter, status = _kernel.sgd_fit(
        X, problem.y, problem.sample_weight, w, b, hist, state.rng_state,
        state.epochs_seen, float(eta0), float(power_t), problem.alpha_l2, problem.alpha_l1,
        bool(problem.fit_intercept), int(batch_size), int(max_iter), float(tol),
        int(n_iter_no_change))
    return SolverResult(w.reshape(problem.n_out, -1), b, n_iter, _REASONS[status],
                        hist[0, :n_iter].copy(), hist[1, :n_iter].copy(),
                        hist[2, :n_iter].copy())


def sgd_step_bound(problem):
    """1 / (max per-row Lipschitz constant of the mean objective): a safe SGD step."""
    X, sw = problem.X, problem.sample_weight
    c = 0.25 if problem.n_out == 1 else 0.5
    top = 0.0
    for start in range(0, X.shape[0], _kernel.CHUNK_ROWS):  # bounded temporaries
        rows = slice(start, start + _kernel.CHUNK_ROWS)
        norms = np.einsum("ij,ij->i", X[rows], X[rows], dtype=np.float64)
        norms += 1.0 if problem.fit_intercept else 0.0
        if sw.size:
            norms *= sw[rows]
        top = max(top, float(norms.max()))
    bound = c * top + problem.alpha_l2 / X.shape[0]
    return 1.0 / bound if bound > 0 else 1.0
