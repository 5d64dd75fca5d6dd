"""The objective every solver minimises: the one place where data meet the maths.

For coefficients W (n_out x d; n_out = 1 binary, K multinomial) and intercepts b::

    F(W, b) = sum_i s_i logloss(y_i, x_i W.T + b) + alpha_l2 / 2 ||W||^2 + alpha_l1 ||W||_1

(intercepts never penalised). `LogisticObjective` wraps a *rows* object
(`clogreg._rows`: where the rows live and how a pass over them runs) and adds what
does not depend on the layout: the penalty, the weight sum, the value and gradient at
zero from the column statistics, the scale check, step-size bounds, and the quadratic
model that Newton steps solve. Solvers (`clogreg._solvers`) take a `LogisticObjective`
and never call the kernel or look at X themselves; scikit-learn's
``LinearModelLoss`` (``sklearn/linear_model/_linear_loss.py``) is the model for the
interface, with one difference: loss and gradient come from one fused pass that reads
X once.
"""
import numpy as np
import scipy.linalg


def penalty_strengths(C, l1_ratio):
    """``(alpha_l2, alpha_l1)`` from ``C`` and ``l1_ratio`` (``C=inf``: no penalty).

    Raises ValueError when ``1 / C`` overflows float64 (C below ~5.6e-309): the
    penalty could not be represented.
    """
    if np.isinf(C):
        return 0.0, 0.0
    with np.errstate(over="ignore", divide="ignore"):
        alpha = 1.0 / np.float64(C)
    if not np.isfinite(alpha):
        raise ValueError(f"C={C!r} is so small that 1 / C overflows float64; use C >= "
                         f"1e-300 (every coefficient is then 0 to machine precision)")
    alpha = float(alpha)
    return alpha * (1.0 - l1_ratio), alpha * l1_ratio


class LogisticObjective:
    """``F`` above for the rows of ``rows``, with ``alpha_l2`` and ``alpha_l1``.

    Parameters
    ----------
    rows : DenseRows (or another layout with the same methods)
    fit_intercept : bool
    alpha_l2, alpha_l1 : float
        Penalty strengths (``1 / C`` split by ``l1_ratio``).
    stats : ColumnStats, optional
        The rows' column statistics where a caller already has them (validation
        computes them in its finiteness pass); else computed on first use.
    """

    def __init__(self, rows, fit_intercept, alpha_l2, alpha_l1, stats=None):
        self.rows = rows
        self.fit_intercept = fit_intercept
        self.alpha_l2, self.alpha_l1 = alpha_l2, alpha_l1
        self.n_out, self.n_features = rows.n_out, rows.n_features
        self.n_samples, self.dtype = rows.n_samples, rows.dtype
        self.n_params = self.n_out * self.n_features
        self.sum_weights = rows.sum_weights
        self._stats = stats
        self._data_bounds = None  # (frob, top) of `lipschitz_bounds`, on first use
        self._last = None  # (w, b, result) of the last pass of `loss_grad`

    @property
    def stats(self):
        """`ColumnStats` of the rows (label sums too for the binary model): one pass,
        made on first use."""
        if self._stats is None:
            self._stats = self.rows.column_stats(labels=self.n_out == 1)
        return self._stats

    # --------------------------------------------------------------- values
    def loss_grad(self, w, b):
        """``(sum s*logloss, grad_w, grad_b, n_correct)`` of the data term at w, b.

        ``grad_w`` (float64, flat) and ``grad_b`` are fresh arrays. One pass; none at
        w = 0, b = 0 (where every cold start begins) when the column statistics have
        the label sums: there p = 1/2 for every row, so the loss is ``sum(s) log 2``,
        the gradient ``X.T @ (s (1/2 - y))`` is ``sums / 2 - label_sums``, and the
        rows with y = 0 are the correct ones. None either at the (w, b) of the last
        pass: the data term does not depend on the penalty, so a fit warm-started from
        the previous fit's solution on this objective (a regularisation path:
        `clogreg._cv`) starts without a pass.
        """
        st = self._stats
        if st is not None and st.label_sums is not None and self.n_out == 1 and \
                float(b[0]) == 0.0 and not np.any(w):
            return (self.sum_weights * np.log(2.0), 0.5 * st.sums - st.label_sums,
                    np.array([0.5 * self.sum_weights - st.label_sum]),
                    self.n_samples - st.positives)
        w = np.ascontiguousarray(w, dtype=self.dtype)
        last = self._last
        if last is not None and np.array_equal(last[0], w) and np.array_equal(last[1], b):
            loss, grad, grad_b, correct = last[2]
        else:
            loss, grad, grad_b, correct = self.rows.loss_grad(w, b)
            grad, grad_b = grad.astype(np.float64), np.array(grad_b)  # copies
            self._last = (w.copy(), np.array(b, dtype=np.float64), (loss, grad, grad_b,
                                                                     correct))
        return loss, grad.copy(), grad_b.copy(), correct

    def penalty(self, w):
        l2 = 0.5 * self.alpha_l2 * np.dot(w, w) if self.alpha_l2 else 0.0
        return l2 + (self.alpha_l1 * np.abs(w).sum() if self.alpha_l1 else 0.0)

    def accuracy(self, correct):
        """Percent of rows classified correctly, from a pass's ``n_correct``."""
        return 100.0 * correct / self.n_samples

    @property
    def forms_hessian(self):
        """Whether `quadratic_model` forms the (d + 1, d + 1) Hessian. Not with an L1
        part on rows that give their columns (sparse X): there the model is a
        `CoordinateModel`, which never forms it (newGLMNET)."""
        return not (self.alpha_l1 > 0 and getattr(self.rows, "is_sparse", False))

    def quadratic_model(self, w, b, l1, cols=None):
        """The Newton model at (w, b) of the binary objective: one Hessian pass.

        Returns a `QuadraticModel` over theta = (w, b) (b only with an intercept);
        ``l1`` holds the L1 strength of each coordinate of theta. With ``cols``
        (sorted column indices, ``w`` zero outside them), the model over
        ``(w[cols], b)`` only, ``l1`` then holding those coordinates' strengths.
        Where `forms_hessian` is False, a `CoordinateModel` with the same ``step``:
        one pass for the Hessian weights, the Hessian itself never formed.
        """
        w = np.asarray(w, dtype=self.dtype)
        if not self.forms_hessian:
            h = self.rows.hessian_weights(w, float(b))
            if cols is None:
                cols = np.arange(self.n_features)
            return CoordinateModel(self.rows.columns(), h, cols, l1, self.alpha_l2,
                                   self.fit_intercept, self.rows.kernel)
        H, H_wb, h_sum = self.rows.hessian(w, float(b), cols)
        if not (np.isfinite(H).all() and np.isfinite(H_wb).all()):
            raise self.scale_error("the Hessian's sums of squares")
        return QuadraticModel.binary(H, H_wb, h_sum, self.alpha_l2, self.fit_intercept,
                                     l1, self.rows.kernel)

    def newton_direction(self, w, b, g):
        """The Newton step at (w, b) of the binary objective without L1, or None.

        ``g`` is the objective's gradient over theta = (w, b) (b only with an
        intercept). Where the rows have the kernel's one-call step (dense X:
        ``newton_direction``, the Hessian pass and the Cholesky solve), it is
        ``quadratic_model(w, b, 0).step(g, theta)`` bit for bit, without the model's
        Python, which costs as much as the pass on small problems. None where that
        call does not apply (an L1 part, sparse or distributed rows) or does not
        take the step (a Hessian that is not positive definite, or whose condition
        estimate is below `QuadraticModel.RCOND_MIN`): then `quadratic_model`.
        """
        step = getattr(self.rows, "newton_direction", None)
        if step is None or self.alpha_l1 > 0 or self.n_out != 1:
            return None
        delta = np.empty(g.size)
        status = step(np.asarray(w, dtype=self.dtype), float(b), g, self.alpha_l2,
                      QuadraticModel.RCOND_MIN, delta)
        kernel = self.rows.kernel
        if status == kernel.NewtonStatus.NEWTON_NONFINITE:
            raise self.scale_error("the Hessian's sums of squares")
        return delta if status == kernel.NewtonStatus.NEWTON_STEP else None

    def multinomial_model(self, W, b, l1, n_coordinates, formed=False):
        """The multinomial model's proximal Newton model at (W (K, d), b (K,)), with
        ``l1`` (K, d + 1) the L1 strength of each coordinate (intercepts last, 0), over
        a working set of ``n_coordinates``. A `MultinomialCoordinateModel` (the whole
        softmax Hessian, never formed), or with ``formed`` a
        `MultinomialQuadraticModel` (its Hessian over the working set formed) where
        `can_form_multinomial`; where it can, the coordinate model's sweep cap is
        ``MultinomialQuadraticModel.SWITCH_SWEEPS`` (about twice the cost of forming),
        so that a crawl is cut short. One product for the probabilities."""
        P = self.rows.class_probabilities(W, b)
        can_form = self.can_form_multinomial(n_coordinates)
        if formed and can_form:
            return MultinomialQuadraticModel(self.rows, P, l1, self.alpha_l2,
                                             self.fit_intercept)
        return MultinomialCoordinateModel(
            self.rows.columns(), P, self.rows.sample_weight, l1, self.alpha_l2,
            self.fit_intercept, self.rows.kernel,
            MultinomialQuadraticModel.SWITCH_SWEEPS if can_form
            else MultinomialCoordinateModel.MAX_SWEEPS)

    def can_form_multinomial(self, n_coordinates):
        """Whether `multinomial_model` may form the Hessian over ``n_coordinates``
        coordinates: on dense rows (a sparse X's coordinate descent costs its stored
        entries a sweep, forming costs n p^2), at most ``MULTINOMIAL_FORM_MAX``."""
        return not getattr(self.rows, "is_sparse", False) \
            and n_coordinates <= MULTINOMIAL_FORM_MAX

    # ---------------------------------------------------- scale and step bounds
    def check_scale(self):
        """Raise ValueError when X is so large that the passes' sums could overflow
        (one pass, the column statistics, which the solvers then reuse)."""
        with np.errstate(over="ignore", invalid="ignore"):
            frob = float(self.stats.squares.sum())
        if not np.isfinite(frob) or not self._gradient_fits(frob):
            raise self.scale_error()

    def lipschitz_bound(self):
        """Upper bound on the Lipschitz constant of the gradient of F (see
        `lipschitz_bounds`, whose first value this is)."""
        return self.lipschitz_bounds()[0]

    def lipschitz_bounds(self):
        """Upper bound on the Lipschitz constant of the gradient of F.

        The Hessian is ``A.T @ diag(s * c_i) @ A + alpha_l2 * I`` with ``A = [X, 1]``
        and ``c_i <= 1/4`` (binary: p (1 - p); softmax: the norm of diag(p) - p p.T
        is <= 1/2), so its largest eigenvalue is at most
        ``c * lambda_max(A.T @ diag(s) @ A) + alpha_l2``. Up to GRAM_MAX_FEATURES
        features ``lambda_max`` is computed exactly from the Gram matrix; above, it
        is bounded by the squared Frobenius norm ``sum_i s_i ||a_i||^2``. Computed in
        float64. Returns inf when the bound overflows, or, for float32 X, when the
        summed gradient could overflow float32.
        """
        c = 0.25 if self.n_out == 1 else 0.5
        if self._data_bounds is None:  # the rows' part: computed once per objective
            self._data_bounds = self._gram_bounds()
        frob, top = self._data_bounds
        if not np.isfinite(top) or not self._gradient_fits(frob):
            return np.inf, np.inf
        return c * top + self.alpha_l2, c * self.sum_weights

    def _gram_bounds(self):
        """``(frob, top)``: the weighted sum of the squared row norms of X and the
        bound on ``lambda_max(A.T @ diag(s) @ A)`` (see `lipschitz_bounds`); inf where
        they overflow. One pass over X."""
        total, fit_b = self.sum_weights, self.fit_intercept
        with np.errstate(over="ignore", invalid="ignore"):  # overflow: inf
            if self.n_features <= GRAM_MAX_FEATURES:
                gram = self.rows.gram(fit_b)
                if not np.isfinite(gram).all():
                    return np.inf, np.inf
                frob = float(np.trace(gram)) - (total if fit_b else 0.0)
                top = float(scipy.linalg.eigvalsh(
                    gram, subset_by_index=[gram.shape[0] - 1] * 2)[0])
            else:
                frob = self.rows.squared_norm_sum()
                top = frob + (total if fit_b else 0.0)
        return frob, top

    def sgd_step_bound(self):
        """``(eta0, ratio)``: 1 / (max per-row Lipschitz constant of the mean
        objective), a safe SGD step, and how much longer the intercepts' step may be
        (`intercept_step_ratio`; a row's intercept curvature is at most c s_i)."""
        c = 0.25 if self.n_out == 1 else 0.5
        bound = c * self.rows.max_row_norm(self.fit_intercept) + \
            self.alpha_l2 / self.n_samples
        sw = self.rows.sample_weight
        top_weight = float(sw.max()) if sw.size else 1.0
        return (1.0 / bound if bound > 0 else 1.0), \
            self.intercept_step_ratio(bound, c * top_weight)

    def intercept_step_ratio(self, bound, intercept_curvature):
        """The intercepts' step over the coefficients' for automatic steps.

        The coefficients step by 1 / ``bound`` (data term and L2 penalty). The
        intercepts are not penalised, and their own curvature is at most
        ``intercept_curvature`` (c times the weight sum, or per row c s_i for sgd), so
        under a strong penalty they may step much further: by ``0.5 /
        intercept_curvature`` when that is longer. The Hessian preconditioned by the
        two steps is then at most 1 + 0.5 (for a positive semi-definite block matrix
        the largest eigenvalue is at most the sum of its diagonal blocks'): every step
        still decreases the objective, and the intercept reaches the log-odds of the
        base rate at the data's pace instead of the penalty's. 1 without an
        intercept or a penalty."""
        if not (self.fit_intercept and self.alpha_l2 > 0 and intercept_curvature > 0):
            return 1.0
        ratio = 0.5 * bound / intercept_curvature
        return ratio if 1.0 < ratio < np.inf else 1.0

    def _gradient_fits(self, frob):
        """Whether every gradient sum ``sum_i s_i |x_ij|`` (<= sqrt(total * frob)) is
        sure to be finite in X's dtype."""
        return bool(np.sqrt(self.sum_weights) * np.sqrt(frob) <=
                    float(np.finfo(self.dtype).max))

    def scale_error(self, what="the step-size bound (the sum of the squared row norms)"):
        if getattr(self.rows, "weighted", False):
            return ValueError(
                f"X and sample_weight together are so large that {what} (weighted) "
                f"overflows {self.dtype}; rescale X (e.g. sklearn.preprocessing."
                f"StandardScaler) or the weights (multiplying them all by k is like "
                f"multiplying C by k)")
        return ValueError(f"X has values so large that {what} overflows {self.dtype}; "
                          f"rescale X (e.g. sklearn.preprocessing.StandardScaler)")


def proximal_step(w, b, grad, grad_b, step, *, grad_div, alpha_l2, alpha_l1,
                  fit_intercept, b_ratio=1.0):
    """The kernel's proximal gradient step in NumPy, for the epoch loops that run in
    Python (layouts without the kernel's loops): ``(new_w, new_b, gmax)``, or None
    when the step is not finite::

        w' = soft_threshold(w - step * (grad / grad_div + alpha_l2 * w), step * alpha_l1)
        b' = b - b_ratio * step * grad_b / grad_div         (only with an intercept)

    computed in float64, ``new_w`` in w's dtype; ``gmax`` is the largest change, an
    intercept's divided by ``b_ratio`` (its step is b_ratio times longer: it is not
    penalised, see `LogisticObjective.intercept_step_ratio`).
    """
    w64 = w.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        new_w = w64 - step * (np.asarray(grad, np.float64) / grad_div + alpha_l2 * w64)
        thresh = step * alpha_l1
        new_w = np.where(new_w > thresh, new_w - thresh,
                         np.where(new_w < -thresh, new_w + thresh, 0.0))
        new_b = b - (b_ratio * step) * grad_b / grad_div if fit_intercept else b.copy()
        if not (np.isfinite(new_w).all() and np.isfinite(new_b).all()):
            return None
        gmax = max(float(np.abs(w64 - new_w).max(initial=0.0)),
                   float(np.abs(b - new_b).max(initial=0.0)) / b_ratio)
    return new_w.astype(w.dtype), new_b, gmax


#: Up to this many features the "auto" step of "gd" uses the exact largest eigenvalue
#: of the (d + 1, d + 1) Gram matrix; above it, the cheaper Frobenius-norm bound.
GRAM_MAX_FEATURES = 1000

#: The multinomial Newton forms the Hessian over at most this many coordinates (K x
#: the working set's columns, intercepts included): an (8 MB) matrix, formed in
#: O(n p^2), about p / 2 sweeps of the coordinate model's descent over the data.
MULTINOMIAL_FORM_MAX = 1000


#: The inexact inner solves stop once each coordinate's minimum-norm subgradient of
#: the model is at most this times the objective's at the current point (chosen by
#: measurement, stop 24: 0.1 was fastest to a 1e-8 gap on the sparse L1 problems).
INNER_FORCING = 0.1


class QuadraticModel:
    """A model ``g.delta + delta.A.delta/2 (+ sum l1 |theta + delta|)``, A positive
    semi-definite and formed, factorised once, solved for as many gradients as asked.

    It is factorised after Jacobi scaling (unit diagonal), so that features of very
    different scales do not make the factorisation look singular: a Cholesky solve
    while the scaled matrix's reciprocal condition number is above ``RCOND_MIN``;
    below it (constant or repeated features and no penalty), the minimum-norm
    least-squares step in the scaled coordinates, singular values below
    ``LSTSQ_CUTOFF`` of the largest counting as zero. With L1 the step is the
    proximal Newton step, solved by coordinate descent (glmnet / newGLMNET: at most
    ``cd_sweeps`` sweeps); where that misses the inner tolerance (``INNER_FORCING``
    times the objective's minimum-norm subgradient: coordinate descent crawls along
    the flat valleys of a singular A, such as collinear columns give the multinomial
    model), ADMM (`admm_l1`) takes over from its result.

    ``lower``: (m, m) float64 holding A in its lower triangle, its strict upper
    triangle 0; scaled in place. `binary` makes the binary model's.
    """

    RCOND_MIN = 1e-13
    LSTSQ_CUTOFF = 1e-12
    CD_SWEEPS = 1000

    def __init__(self, lower, l1, kernel, cd_sweeps=CD_SWEEPS):
        A = lower
        diag = A.diagonal().copy()
        # an all-zero column without penalty, or one of extreme scale, stays unscaled
        # (1 / sqrt(diag_j diag_k) must stay finite)
        diag[~((diag > 1e-300) & (diag < np.inf))] = 1.0
        self.scale = 1.0 / np.sqrt(diag)
        A *= self.scale
        A *= self.scale[:, None]
        self.lower, self.l1, self.chol, self._full = A, l1, None, None
        self._kernel, self.cd_sweeps = kernel, cd_sweeps
        self.admm_iterations = 0  # made by the last `step` (0: coordinate descent did)
        if not l1.any():
            # LAPACK reads A.T (Fortran order, no copy) on its upper triangle: A's lower
            c, info = scipy.linalg.lapack.dpotrf(A.T, lower=0, clean=0)
            if info == 0:
                absA = np.abs(A)      # the 1-norm of the symmetric matrix
                norm1 = (absA.sum(axis=0) + absA.sum(axis=1) - absA.diagonal()).max()
                rcond, info = scipy.linalg.lapack.dpocon(c, norm1, uplo="U")
                if info == 0 and rcond > self.RCOND_MIN:
                    self.chol = c

    @classmethod
    def binary(cls, H, H_wb, h_sum, a2, fit_b, l1, kernel):
        """The binary model over theta = (w, b) (b only with an intercept): from the
        Hessian pass's pieces, ``[X, 1].T diag(h) [X, 1] + alpha_l2`` (weights only)."""
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
        return cls(A, l1, kernel)

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
        sweeps = self._kernel.cd_quadratic(self.A, s * g, theta / s, s * self.l1, delta,
                                           self.cd_sweeps, 1e-12)
        step = s * delta
        self.admm_iterations = 0
        if sweeps < self.cd_sweeps:
            return step
        tol = INNER_FORCING * min_norm_subgradient(g, theta, self.l1)
        if self.optimality(g, theta, step) <= tol:
            return step
        u, self.admm_iterations = admm_l1(
            self.A, s * g, theta / s, s * self.l1, (theta + step) / s,
            lambda u_: self.optimality(g, theta, s * u_ - theta) <= tol)
        admm_step = s * u - theta
        admm_step[u == 0] = -theta[u == 0]        # theta + step exactly 0 there
        # ADMM's step where it met the tolerance, else the better of the two for the
        # model (ADMM's iterates do not descend)
        if self.optimality(g, theta, admm_step) <= tol or \
                self.value(g, theta, admm_step) < self.value(g, theta, step):
            return admm_step
        return step

    def value(self, g, theta, delta):
        """The model's value at delta, less its value at 0."""
        u = delta / self.scale
        return float(g @ delta + 0.5 * u @ (self.A @ u)
                     + self.l1 @ (np.abs(theta + delta) - np.abs(theta)))

    def optimality(self, g, theta, delta):
        """The model's minimum-norm subgradient at delta (`min_norm_subgradient`)."""
        s = self.scale
        return min_norm_subgradient(g + (self.A @ (delta / s)) / s, theta + delta,
                                    self.l1)


def admm_l1(A, g, theta, l1, u, converged, max_iter=2000):
    """ADMM for ``min_u g.(u - theta) + (u - theta).A.(u - theta)/2 + sum l1 |u|``, A
    positive semi-definite (scaled to a unit diagonal), from u: the lasso splitting of
    Boyd et al. (2011, section 6.4) with their residual balancing of the penalty rho
    (each change: one Cholesky factorisation of A + rho I, positive definite however
    singular A is). Unlike coordinate descent it moves along the directions A does not
    see (its linear convergence on this polyhedral problem does not depend on A's
    smallest eigenvalue). ``converged(u)`` is asked every 10 iterations. Returns
    ``(u, iterations)``; u has exact zeros where the soft threshold made them."""
    p = g.size
    rho = 0.1
    eye = np.eye(p)

    def factor(r):
        return scipy.linalg.cho_factor(A + r * eye, lower=True)

    cf, z, w = factor(rho), u.copy(), np.zeros(p)
    it = 0
    while it < max_iter:
        it += 1
        x = theta + scipy.linalg.cho_solve(cf, rho * (z - w - theta) - g)
        v = x + w
        z_prev, z = z, np.sign(v) * np.maximum(np.abs(v) - l1 / rho, 0.0)
        w += x - z
        if it % 10:
            continue
        if converged(z):
            break
        primal, dual = np.abs(x - z).max(), rho * np.abs(z - z_prev).max()
        if primal > 10 * dual and rho < 1e6:   # rebalance (w is the scaled dual)
            rho, w = 2 * rho, w / 2
            cf = factor(rho)
        elif dual > 10 * primal and rho > 1e-6:
            rho, w = rho / 2, w * 2
            cf = factor(rho)
    return z, it


class CoordinateModel:
    """The L1 proximal Newton model of the binary objective without its Hessian
    (newGLMNET, Yuan, Ho and Lin 2012): for rows that give their columns (sparse X).

    ``step`` runs the kernel's coordinate descent (``csc_cd_step``) over the columns
    ``cols`` (and the intercept), reading each column's stored entries once a sweep
    and keeping ``[X, 1] @ delta``: memory O(n), never O(d^2). The model is solved
    inexactly: the sweeps stop once every coordinate's smallest subgradient of the
    model is at most ``INNER_FORCING`` times that of the objective at the current
    point (or after ``MAX_SWEEPS``), so that early steps cost few sweeps and the
    last ones are accurate; the Newton solver's line search accepts or damps the step
    as for the formed model.

    Parameters
    ----------
    columns : (data, indices, indptr)
        X in CSC form (`clogreg._rows.RowsBase.columns`).
    h : ndarray (n,)
        Hessian weights ``s p (1 - p)`` at the current point, in X's dtype.
    cols : ndarray of int
        The working set's columns (sorted); the model is over ``(w[cols], b)``.
    l1 : ndarray
        The L1 strength of each of those coordinates (0 for the intercept).
    """

    INNER_FORCING = INNER_FORCING
    MAX_SWEEPS = 100

    def __init__(self, columns, h, cols, l1, alpha_l2, fit_b, kernel):
        self.columns, self.h = columns, h
        self.cols = np.ascontiguousarray(cols, dtype=np.intp)
        self.l1 = np.ascontiguousarray(l1, dtype=np.float64)
        self.alpha_l2, self.fit_b, self._kernel = alpha_l2, fit_b, kernel
        self.sweeps = 0  # made by the last `step`

    def step(self, g, theta):
        """Approximate minimiser of g.delta + delta.H.delta/2 + sum l1 |theta + delta|."""
        g = np.ascontiguousarray(g, dtype=np.float64)
        theta = np.ascontiguousarray(theta, dtype=np.float64)
        l1 = self.l1
        tol = self.INNER_FORCING * min_norm_subgradient(g, theta, l1)
        delta = np.empty_like(g)
        self.sweeps, _ = self._kernel.csc_cd_step(
            *self.columns, self.cols, self.h, g, theta, l1, self.alpha_l2, self.fit_b,
            delta, self.MAX_SWEEPS, tol)
        return delta


def min_norm_subgradient(g, theta, l1):
    """Max-norm of the smallest element of the subdifferential of smooth + L1 at
    theta (gradient g of the smooth part, L1 strengths l1 per coordinate): the
    optimality measure of the Newton solvers and of their inner coordinate descent."""
    if not l1.any():
        return float(np.abs(g).max()) if g.size else 0.0
    sub = np.where(theta != 0, g + l1 * np.sign(theta),
                   np.sign(g) * np.maximum(np.abs(g) - l1, 0.0))
    return float(np.abs(sub).max()) if sub.size else 0.0


def penalty_centre(W, a1, a2):
    """The vector c (d,) minimising the penalty of ``W - c`` (every row, a class,
    shifted by c), column by column: ``sum_k a1 |w_k - c| + a2 / 2 (w_k - c)^2``, a
    convex piecewise quadratic in c (the mean for L2, a median for L1). The data term
    of the multinomial model does not change under this shift (it adds ``x . c`` to
    every class's score), so the shifted W is at least as good (glmnet centres its
    multinomial coefficients in the same way). Exact: the minimum lies at a class's
    coefficient or at the stationary point of a piece between two of them."""
    K = W.shape[0]
    srt = np.sort(W, axis=0)                        # (K, d)
    cands = [srt]
    if a2 > 0:
        total = W.sum(axis=0)
        for m in range(K + 1):  # m coefficients below c, K - m above
            c = (a2 * total - a1 * (2 * m - K)) / (a2 * K)
            lo = srt[m - 1] if m > 0 else -np.inf
            hi = srt[m] if m < K else np.inf
            cands.append(np.clip(c, lo, hi)[None, :])
    cands = np.concatenate(cands)                   # (n_cands, d)
    diff = W[None, :, :] - cands[:, None, :]        # (n_cands, K, d)
    value = (a1 * np.abs(diff) + 0.5 * a2 * diff * diff).sum(axis=1)
    best = cands[value.argmin(axis=0), np.arange(W.shape[1])]
    # only a strict decrease moves W (ties and rounding keep it as it is)
    keep = value.min(axis=0) >= (a1 * np.abs(W) + 0.5 * a2 * W * W).sum(axis=0)
    best[keep] = 0.0
    return best


def _class_coordinates(G, theta, l1, cols, fit_b):
    """The multinomial models' working set, flattened: ``sel[k]`` (class k's columns of
    ``[X, 1]``, its intercept last), their positions ``flat`` in the (K, d + 1) arrays'
    ravel, and g, theta and l1 there."""
    d = G.shape[1] - 1
    sel = [np.append(c, d) if fit_b else np.asarray(c) for c in cols]
    flat = np.concatenate([k * (d + 1) + s for k, s in enumerate(sel)])
    return sel, flat, G.ravel()[flat], theta.ravel()[flat], l1.ravel()[flat]


def _scatter(step, flat, shape):
    delta = np.zeros(shape[0] * shape[1])
    delta[flat] = step
    return delta.reshape(shape)


class MultinomialCoordinateModel:
    """The proximal Newton model of the multinomial objective, its classes coupled,
    without its (K d, K d) Hessian: the kernel's ``csc_cd_multinomial_step`` over each
    class's working set (as `CoordinateModel`: X's columns read once a sweep, the same
    inexact stopping rule). ``step(G, theta, cols)``: G and theta (K, d + 1), the
    intercepts last; ``cols[k]``, class k's columns; returns delta (K, d + 1)."""

    INNER_FORCING = CoordinateModel.INNER_FORCING
    MAX_SWEEPS = CoordinateModel.MAX_SWEEPS

    def __init__(self, columns, P, sample_weight, l1, alpha_l2, fit_b, kernel,
                 max_sweeps=MAX_SWEEPS):
        self.columns, self.P, self.sample_weight = columns, P, sample_weight
        self.l1, self.alpha_l2, self.fit_b, self._kernel = l1, alpha_l2, fit_b, kernel
        self.max_sweeps, self.sweeps = max_sweeps, 0

    def step(self, G, theta, cols):
        _, flat, g, th, l1 = _class_coordinates(G, theta, self.l1, cols, self.fit_b)
        tol = self.INNER_FORCING * min_norm_subgradient(g, th, l1)
        offsets = np.concatenate([[0], np.cumsum([len(c) for c in cols])])
        step = np.empty(flat.size)
        self.sweeps, _ = self._kernel.csc_cd_multinomial_step(
            *self.columns, np.concatenate(cols).astype(np.intp), offsets, self.P,
            self.sample_weight, g, th, l1, self.alpha_l2, self.fit_b, step,
            self.max_sweeps, tol)
        return _scatter(step, flat, G.shape)

    @property
    def crawled(self):
        """Whether the last step stopped at the sweep cap, short of its tolerance."""
        return self.sweeps >= self.max_sweeps


class MultinomialQuadraticModel:
    """The proximal Newton model of the multinomial objective with its Hessian over
    the working set formed (`clogreg._rows.RowsBase.multinomial_hessian`: O(n p^2)
    for p coordinates) and solved as a `QuadraticModel`: a Cholesky (or minimum-norm)
    solve without L1, with L1 coordinate descent (at most ``CD_SWEEPS`` sweeps of
    O(p^2) each) and ADMM where that crawls. For the steps where the coordinate model
    crawls: collinear columns (one-hot data with every category, a column that sums
    others) give the model flat valleys besides the shift shared by all classes, along
    which coordinate descent moves by ever smaller amounts (on 20,000 x 50 with two
    redundant columns, 10 classes, L1, C = 1: 100 sweeps a step and a linear outer
    rate, 40 iterations and 66 s ending 8.8e-7 above the optimum; with this model
    after the first crawl, tol 1e-8 in 9-10 iterations, 2-2.5 s). Same
    ``step(G, theta, cols)``."""

    CD_SWEEPS = 100
    #: On 20,000 x 50, 10 classes, one sweep of the coordinate model took 19 ms and
    #: forming the Hessian over its 470 coordinates 0.2 s.
    SWITCH_SWEEPS = 20
    crawled = False

    def __init__(self, rows, P, l1, alpha_l2, fit_b):
        self.rows, self.P, self.l1 = rows, P, l1
        self.alpha_l2, self.fit_b = alpha_l2, fit_b
        self.admm_iterations = 0

    def step(self, G, theta, cols):
        sel, flat, g, th, l1 = _class_coordinates(G, theta, self.l1, cols, self.fit_b)
        A = self.rows.multinomial_hessian(self.P, sel)
        weights = np.flatnonzero(np.concatenate(sel) < G.shape[1] - 1)
        A[weights, weights] += self.alpha_l2        # the L2 penalty (not intercepts)
        model = QuadraticModel(np.tril(A), l1, self.rows.kernel, self.CD_SWEEPS)
        step = model.step(g, th)
        self.admm_iterations = model.admm_iterations
        return _scatter(step, flat, G.shape)
