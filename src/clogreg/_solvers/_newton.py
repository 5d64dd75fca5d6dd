"""Newton / IRLS for the binary model; proximal Newton (coordinate descent) for L1."""
import numpy as np

from .._objective import min_norm_subgradient as _min_norm_subgradient
from ._result import History, SolverResult, StopReason

_EPS = np.finfo(float).eps


def newton(objective, coef, intercept, *, max_iter, tol, progress=None, l1_prev=None):
    # overflow gives inf, which every step checks for (no NumPy warnings)
    with np.errstate(over="ignore", invalid="ignore"):
        return _newton(objective, coef, intercept, max_iter=max_iter, tol=tol,
                       progress=progress, l1_prev=l1_prev)


def _newton(objective, coef, intercept, *, max_iter, tol, progress=None, l1_prev=None):
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

    With L1, each step moves only a working set of coordinates (`_working_set`:
    the nonzero ones and those violating the optimality (KKT) condition at the
    current point, as newGLMNET's shrinking), and the Hessian is formed for its
    columns only: O(n k^2) for k columns in the set instead of O(n d^2). The others
    stay at 0 for that step; the gradient of every pass covers all coordinates, so
    the set is checked again at each iteration and the stopping test below is the
    full problem's. ``l1_prev`` (a regularisation path: the L1 strength at which
    the warm start is the solution, >= ``alpha_l1``) adds glmnet's sequential strong
    rule to the first working set: every coordinate with ``|g_j| >= 2 alpha_l1 -
    l1_prev``, those likely to enter at the new strength (Tibshirani et al. 2012), so
    that few need adding later; it applies where ``l1_prev < 2 alpha_l1`` (on coarser
    grids its threshold is <= 0 and it would keep every coordinate).

    Stops when the optimality measure (gradient, or minimum-norm subgradient with
    L1) of the mean objective has max-norm <= tol.
    """
    dtype, d, fit_b = objective.dtype, objective.n_features, objective.fit_intercept
    a2, a1, scale = objective.alpha_l2, objective.alpha_l1, 1.0 / objective.sum_weights
    b_fixed = float(np.asarray(intercept, np.float64).ravel()[0])
    theta = np.concatenate([np.asarray(coef, np.float64).ravel(),
                            [b_fixed] if fit_b else []])
    m = theta.size
    l1 = np.zeros(m)
    l1[:d] = a1
    has_l1 = a1 > 0

    def evaluate(th):
        """(objective, its gradient (m,), n_correct) at th: one loss-gradient pass."""
        if not np.isfinite(th).all():
            return np.inf, None, 0.0
        w_ = th[:d]
        loss, gw, gb, correct = objective.loss_grad(w_, th[d:] if fit_b else [b_fixed])
        f_ = loss + objective.penalty(w_)
        g_ = np.concatenate([gw + a2 * w_, gb]) if fit_b else gw + a2 * w_
        if not (np.isfinite(f_) and np.isfinite(g_).all()):
            return np.inf, None, correct
        return f_, g_, correct

    # A chord step saves a Hessian pass but converges only linearly: worth it where
    # the Hessian (n d^2 / 2 multiply-adds) costs much more than a gradient pass
    # (a model without a formed Hessian, sparse X with L1, saves only one pass: never)
    reuse_pays = objective.forms_hessian and \
        objective.n_samples * d * (d + 1) / 2 >= REUSE_MIN_FLOPS
    # Without L1 and without chord steps (small problems), the step comes from one
    # kernel call (the Hessian pass and its Cholesky solve) where the rows have it:
    # the same step as the model's, without the model's Python
    one_call = not has_l1 and not reuse_pays
    f, g, correct = evaluate(theta)
    hist, n_iter, model, reuse = History(progress), 0, None, False
    model_free = None
    gnorm = _min_norm_subgradient(g, theta, l1) * scale if g is not None else np.inf
    while (reason := record_and_check(hist, f, objective.accuracy(correct), gnorm,
                                      g is not None, tol, n_iter, max_iter)) is None:
        free = None
        if has_l1:  # strong rule: first step of a path only
            # (on a grid coarser than a factor 2 the rule's threshold is <= 0 and
            # keeps every coordinate: then the KKT violators alone, as later steps)
            strong = n_iter == 0 and l1_prev is not None and a1 < l1_prev < 2 * a1
            free = _working_set(theta, g, 2 * l1 - l1_prev * (l1 > 0) if strong else l1, d)
        if reuse and free is not None and (model_free is None or
                                           not np.isin(free, model_free).all()):
            reuse = False  # new KKT violators: the model must include them
        while True:
            stale = reuse
            delta = objective.newton_direction(
                theta[:d], theta[d] if fit_b else b_fixed, g) if one_call else None
            if delta is None:
                # the rows have no one-call step, or its Hessian needs least squares
                # (singular: it stays so, the one-call pass would be spent in vain)
                one_call = False
                if not reuse:
                    model_free = free
                    cols = None if free is None else free[free < d]
                    model = objective.quadratic_model(
                        theta[:d], theta[d] if fit_b else b_fixed,
                        l1 if free is None else l1[free], cols)
                if model_free is None:
                    delta = model.step(g, theta)
                else:  # coordinates outside the working set stay at 0
                    delta = np.zeros(m)
                    delta[model_free] = model.step(g[model_free], theta[model_free])
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
            reason = StopReason.LINE_SEARCH
            break
        reuse = reuse_pays and t == 1.0 and g_norm_new * REUSE_FACTOR <= gnorm
        theta, f, g, correct, gnorm = cand, f_new, g_new, c_new, g_norm_new
        n_iter += 1
    loss, acc, gnorm = np.array(hist).T
    b_out = theta[d] if fit_b else b_fixed
    return SolverResult(theta[:d].astype(dtype).reshape(1, -1), np.array([b_out]), n_iter,
                        reason, loss, acc, gnorm)


#: A Newton step whose gradient shrank at least this much lets the next step reuse
#: the Hessian (see `newton`), on objectives whose Hessian takes at least
#: REUSE_MIN_FLOPS multiply-adds (below, a Hessian pass costs little more than a
#: gradient pass and Python's overhead).
REUSE_FACTOR = 4.0
REUSE_MIN_FLOPS = 1e7

#: Above this share of the columns in the working set, proximal Newton forms the
#: whole Hessian (one contiguous kernel pass) rather than gathering the set's columns.
WORKING_SET_MAX_SHARE = 0.95


def record_and_check(hist, f, accuracy, gnorm, finite, tol, n_iter, max_iter):
    """Append the history entry of the point entering iteration ``n_iter``; return
    why a Newton solver stops there (non-finite gradient, converged, max_iter), or
    None to go on."""
    hist.append((f, accuracy, gnorm))
    if not finite:
        return StopReason.NONFINITE
    if gnorm <= tol:
        return StopReason.CONVERGED
    if n_iter == max_iter:
        return StopReason.MAX_ITER
    return None


def _working_set(theta, g, threshold, d):
    """The coordinates that an L1 proximal Newton step moves (sorted indices of
    theta), or None for all of them: those with ``theta_j != 0`` or ``|g_j| >=
    threshold_j``. With the L1 strengths as thresholds these are the nonzero
    coordinates and the violators of the optimality (KKT) condition (a zero
    coordinate whose gradient is below its L1 strength satisfies it); the intercept,
    threshold 0, is always in."""
    free = np.flatnonzero((theta != 0) | (np.abs(g) >= threshold))
    return None if free.size > WORKING_SET_MAX_SHARE * d + (theta.size - d) else free

