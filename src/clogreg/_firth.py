"""Firth's bias-reduced logistic regression (Heinze & Schemper 2002; R's ``logistf``).

Maximises the penalised log-likelihood with Jeffreys' prior,
``l*(beta) = l(beta) + 1/2 log det I(beta)``, ``I = X1.T @ diag(s p (1 - p)) @ X1``
(``X1``: X with a column of ones, ``s``: sample weights as frequency weights), whose
estimate is finite also under separation and has O(1/n^2) bias. As ``logistf``: the
modified score ``U* = X1.T @ (s (y - p) + h (1/2 - p))`` with the leverages ``h_i = s_i
p_i (1 - p_i) x1_i.T @ I^-1 @ x1_i``; Newton steps ``I^-1 U*`` capped at ``max_step``
in max-norm and halved while ``l*`` does not increase. Per iteration: one kernel pass
(`clogreg._inference.hessian_pass`: the log-likelihood and ``I``) and one NumPy pass
over row blocks (leverages and ``U*``).

Confidence intervals: profile-likelihood (``logistf``'s default: the values of
``beta_j`` where ``2 (l*(beta_hat) - max_{beta_-j} l*(beta)) = chi2_1(1 - alpha)``, the
penalty always that of the full model, found by Brent's method on constrained fits)
or Wald (``beta_j +- z se_j``, ``se = sqrt(diag(I(beta_hat)^-1))``, as ``logistf``'s
``vcov``). p-values: penalised likelihood-ratio tests of ``beta_j = 0`` (``logistf``'s
default) or Wald tests.
"""
import warnings
from numbers import Integral, Real

import numpy as np
from scipy import linalg, optimize, stats
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model._base import LinearClassifierMixin
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _validation
from ._covariance import _block, _row_blocks, hessian_pass
from ._inference import MAX_PARAMS, InferenceMixin
from ._separation import _with_const


class _FirthState:
    """Penalised log-likelihood, modified score and information at theta."""

    def __init__(self, X, y, sw, theta, fit_intercept):
        b = theta[0] if fit_intercept else 0.0
        w = theta[1:] if fit_intercept else theta
        loss, _, _, H, H_wb, h_sum = hessian_pass(X, y, sw, w, b)
        if fit_intercept:
            d = H.shape[0]
            info = np.empty((d + 1, d + 1))
            info[0, 0], info[0, 1:], info[1:, 0], info[1:, 1:] = h_sum, H_wb, H_wb, H
        else:
            info = H
        self.info = info
        try:
            self.chol = linalg.cholesky(info, lower=True)
        except linalg.LinAlgError:
            raise _Singular("the information matrix is singular: X has collinear "
                            "columns (drop the redundant ones)") from None
        logdet = 2.0 * np.sum(np.log(np.diag(self.chol)))
        self.loglik = -float(loss) + 0.5 * logdet
        score = np.zeros(info.shape[0])
        # I^-1 = L^-T L^-1: the leverage of row i is ||L^-1 x1_i||^2 s_i p_i (1 - p_i)
        L_inv = linalg.solve_triangular(self.chol, np.eye(info.shape[0]), lower=True)
        for a, c in _row_blocks(X.shape[0], info.shape[0]):
            X1 = _with_const(_block(X, a, c), fit_intercept)
            p = expit(X1 @ theta)
            s = sw[a:c] if sw.size else 1.0
            V = (X1 * np.sqrt(s * p * (1 - p))[:, None]) @ L_inv.T
            h = np.einsum("ij,ij->i", V, V)  # diag(W^1/2 X1 I^-1 X1.T W^1/2)
            score += X1.T @ (s * (y[a:c] - p) + h * (0.5 - p))
        self.score = score


class _Singular(ValueError):
    """The information matrix is singular at the point tried."""


def _state_or_none(X, y, sw, theta, fit_intercept):
    try:
        return _FirthState(X, y, sw, theta, fit_intercept)
    except _Singular:
        return None


def _newton(X, y, sw, theta, fit_intercept, free, max_iter, tol, max_step=5.0,
            max_halfstep=25):
    """Maximise l* over the coordinates ``free`` (bool mask) from theta (logistf's
    iteration). Returns ``(theta, state, n_iter, converged)``; converged when the full
    Newton step's max-norm is <= tol."""
    theta = theta.copy()
    state = _FirthState(X, y, sw, theta, fit_intercept)
    for it in range(1, max_iter + 1):
        U = state.score[free]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", linalg.LinAlgWarning)
            step = linalg.solve(state.info[np.ix_(free, free)], U, assume_a="pos")
        full = np.max(np.abs(step), initial=0.0)
        if full > max_step:
            step *= max_step / full
        improved, halved = False, False
        for _ in range(max_halfstep + 1):
            trial = theta.copy()
            trial[free] += step
            new = _state_or_none(X, y, sw, trial, fit_intercept)
            if new is not None and new.loglik >= state.loglik:
                improved = True
                break
            step *= 0.5
            halved = True
        if halved and full <= np.sqrt(tol):
            # the full step no longer increases l* in floating point: at the maximum
            # to machine precision
            return (trial, new, it, True) if improved else (theta, state, it, True)
        if not improved:
            return theta, state, it, False
        # I underestimates the curvature of l* where the penalty bends it strongly
        # (the scoring step then overshoots and oscillates): where the slope along
        # the step changed sign, one secant step on that slope
        g0, g1 = U @ step, new.score[free] @ step
        if g1 < 0 < g0:
            alt = theta.copy()
            alt[free] += g0 / (g0 - g1) * step
            alt_state = _state_or_none(X, y, sw, alt, fit_intercept)
            if alt_state is not None and alt_state.loglik >= new.loglik:
                trial, new = alt, alt_state
        theta, state = trial, new
        if full <= tol:
            return theta, state, it, True
    return theta, state, max_iter, False


def firth_fit(X, y, sample_weight=None, *, fit_intercept=True, max_iter=100, tol=1e-10):
    """Fit Firth's bias-reduced binary logistic regression (``logistf``'s estimate).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    y : array-like of shape (n_samples,) of 0 / 1 (1 the positive class)
    sample_weight : array-like of shape (n_samples,), default=None
        Frequency weights.
    fit_intercept : bool, default=True
    max_iter : int, default=100
        Newton iterations.
    tol : float, default=1e-10
        Stop when the Newton step's max-norm is <= tol (or, where no step increases
        the penalised log-likelihood in floating point, <= sqrt(tol)).

    Returns
    -------
    theta : ndarray of shape (n_params,)
        ``[intercept, coef...]`` (no intercept entry without ``fit_intercept``).
    loglik : float
        The penalised log-likelihood at theta.
    n_iter : int
    converged : bool

    Examples
    --------
    >>> import numpy as np
    >>> from clogreg._firth import firth_fit
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0]])   # completely separated
    >>> theta, loglik, n_iter, converged = firth_fit(X, [0, 0, 1, 1])
    >>> converged, np.round(theta, 4).tolist()
    (True, [-1.9649, 1.3099])
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    sw = _validation.check_sample_weight(sample_weight, X.shape[0], np.float64)
    p = X.shape[1] + bool(fit_intercept)
    theta, state, n_iter, ok = _newton(X, y, sw, np.zeros(p), fit_intercept,
                                       np.ones(p, bool), max_iter, tol)
    return theta, state.loglik, n_iter, ok


def fit_into(estimator, X, y01, sample_weight):
    """Fit Firth's model and store it on ``estimator`` as its ``fit`` would.

    For ``clogreg.LogisticRegression(firth=True)``: X validated, y01 the labels
    encoded 0.0 / 1.0, ``sample_weight`` an array (empty: all ones). Sets ``coef_``
    (X's dtype), ``intercept_``, ``n_iter_``, ``solver_ = "firth"``,
    ``stop_reason_``, ``history_`` (the penalised log-likelihood under ``"loss"``,
    negated) and ``loglik_``. Refuses a finite ``C`` and more than two classes.
    """
    if not np.isinf(getattr(estimator, "C", np.inf)):
        raise ValueError(f"firth=True is its own penalty (Jeffreys prior): use C=np.inf, "
                         f"got C={estimator.C}")
    if estimator.classes_.size != 2:
        raise ValueError(f"firth=True supports binary problems only, got "
                         f"{estimator.classes_.size} classes")
    p = X.shape[1] + bool(estimator.fit_intercept)
    if p > MAX_PARAMS:
        raise ValueError(f"firth=True: at most {MAX_PARAMS} parameters, got {p}")
    sw = np.asarray(sample_weight, np.float64)
    tol = min(estimator.tol, 1e-8)
    theta, state, n_iter, ok = _newton(np.asarray(X), np.asarray(y01, np.float64), sw,
                                       np.zeros(p), estimator.fit_intercept,
                                       np.ones(p, bool), max(estimator.max_iter, 25), tol)
    if not ok:
        warnings.warn(f"Firth's Newton iteration did not reach tol={tol:g}",
                      ConvergenceWarning, stacklevel=3)
    estimator.intercept_ = np.array([theta[0] if estimator.fit_intercept else 0.0],
                                    dtype=X.dtype)
    estimator.coef_ = (theta[1:] if estimator.fit_intercept else theta)[None, :] \
        .astype(X.dtype)
    estimator.n_iter_ = np.array([n_iter], dtype=np.int32)
    estimator.solver_ = "firth"
    estimator.stop_reason_ = "converged" if ok else "max_iter"
    estimator.loglik_ = state.loglik
    estimator.history_ = {"loss": np.array([-state.loglik]), "accuracy": np.array([]),
                          "grad_norm": np.array([])}
    return estimator


class FirthLogisticRegression(InferenceMixin, LinearClassifierMixin, BaseEstimator):
    """Binary logistic regression with Firth's bias reduction (R's ``logistf``).

    The estimate is finite even when the classes are separated, where the
    maximum-likelihood one does not exist. Besides the `InferenceMixin` methods
    (Wald statistics from ``I(beta_hat)^-1``, as ``logistf``'s ``vcov``), it gives
    ``logistf``'s defaults: profile penalised-likelihood confidence intervals
    (`profile_ci`) and penalised likelihood-ratio p-values (`lr_pvalues`), both in
    `coef_table` and `summary` with ``method="profile"``.

    Parameters
    ----------
    fit_intercept : bool, default=True
    max_iter : int, default=100
        Newton iterations (per fit, and per constrained fit of the profile).
    tol : float, default=1e-10
        Newton stops when the step's max-norm is <= tol.

    Attributes
    ----------
    classes_, coef_ (1, n_features), intercept_ (1,), n_iter_, n_features_in_,
    feature_names_in_ : as `clogreg.LogisticRegression`.
    loglik_ : float
        The penalised log-likelihood at the estimate.

    Examples
    --------
    >>> import numpy as np
    >>> from clogreg import FirthLogisticRegression
    >>> X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])
    >>> y = np.array([0, 0, 0, 1, 1, 1])                  # completely separated
    >>> clf = FirthLogisticRegression().fit(X, y)
    >>> round(float(clf.coef_[0, 0]), 4)
    1.1289
    >>> [round(float(v), 3) for v in clf.profile_ci(X, y)[1]]   # the slope's interval
    [0.002, 6.07]
    """

    _parameter_constraints = {
        "fit_intercept": ["boolean"],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
    }
    firth = True  # for InferenceMixin: no separation check (the estimate is finite)

    def __init__(self, *, fit_intercept=True, max_iter=100, tol=1e-10):
        self.fit_intercept = fit_intercept
        self.max_iter = max_iter
        self.tol = tol

    def fit(self, X, y, sample_weight=None):
        """Fit the model.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,), two classes
        sample_weight : array-like of shape (n_samples,), default=None
            Frequency weights.

        Returns
        -------
        self : FirthLogisticRegression
        """
        self._validate_params()
        X = _validation.check_numeric(X, "X")
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], order="C")
        from sklearn.utils.multiclass import check_classification_targets
        check_classification_targets(y)
        self.classes_, y_enc = np.unique(y, return_inverse=True)
        if self.classes_.size != 2:
            raise ValueError(f"Only binary classification is supported by "
                             f"FirthLogisticRegression; y has {self.classes_.size} classes")
        p = X.shape[1] + bool(self.fit_intercept)
        if p > MAX_PARAMS:
            raise ValueError(f"at most {MAX_PARAMS} parameters, got {p}")
        sw = _validation.check_sample_weight(sample_weight, X.shape[0], np.float64)
        if sw.size and np.unique(y_enc[sw > 0]).size < 2:
            raise ValueError("only one class has rows of positive sample_weight: Firth's "
                             "logistic regression needs both classes")
        theta, state, n_iter, ok = _newton(X, y_enc.astype(np.float64), sw, np.zeros(p),
                                           self.fit_intercept, np.ones(p, bool),
                                           self.max_iter, self.tol)
        if not ok:
            warnings.warn(f"Firth's Newton iteration did not reach tol={self.tol:g} in "
                          f"max_iter={self.max_iter} iterations", ConvergenceWarning,
                          stacklevel=2)
        self.intercept_ = np.array([theta[0] if self.fit_intercept else 0.0])
        self.coef_ = (theta[1:] if self.fit_intercept else theta)[None, :].astype(X.dtype)
        self.n_iter_ = np.array([n_iter], dtype=np.int32)
        self.loglik_ = state.loglik
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def _firth_inputs(self, X, y, sample_weight):
        check_is_fitted(self)
        X, y_enc, sw, _, _ = self._inference_inputs(X, y, sample_weight, "classical", None)
        theta = np.concatenate([self.intercept_ if self.fit_intercept else [],
                                np.asarray(self.coef_[0], np.float64)])
        return np.asarray(X, np.float64), y_enc, sw, theta

    def _profile(self, X, y, sw, theta, j):
        """l* maximised over every parameter but j, as a function of theta_j."""
        start = {"theta": theta.copy()}
        free = np.ones(theta.size, bool)
        free[j] = False

        def profile(v):
            t0 = start["theta"].copy()
            t0[j] = v
            try:
                t, state, _, ok = _newton(X, y, sw, t0, self.fit_intercept, free,
                                          self.max_iter, self.tol)
            except _Singular:  # saturated far out: the penalty is -inf there
                return -np.inf
            if not ok:
                warnings.warn(f"a constrained fit of the profile of parameter {j} did not "
                              f"converge", ConvergenceWarning, stacklevel=4)
            start["theta"] = t
            return state.loglik
        return profile

    def profile_ci(self, X, y, sample_weight=None, *, alpha=0.05):
        """Profile penalised-likelihood confidence intervals (``logistf``'s default).

        Parameters
        ----------
        X, y, sample_weight
            The training data.
        alpha : float in (0, 1), default=0.05

        Returns
        -------
        ci : ndarray of shape (n_params, 2)
            Parameters ordered as `parameter_names` (``const`` first). An end that
            the profile does not reach within 1,000 standard errors is +-inf.
        """
        X, y, sw, theta = self._firth_inputs(X, y, sample_weight)
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        target = self.loglik_ - stats.chi2.ppf(1.0 - alpha, 1) / 2.0
        se = np.sqrt(np.diag(np.linalg.inv(_FirthState(X, y, sw, theta,
                                                       self.fit_intercept).info)))
        ci = np.empty((theta.size, 2))
        for j in range(theta.size):
            for side, col in ((-1.0, 0), (1.0, 1)):
                f = self._profile(X, y, sw, theta, j)
                step, inner = se[j], theta[j]
                outer = inner + side * step
                while f(outer) > target:
                    inner, step = outer, 2.0 * step
                    outer = theta[j] + side * step
                    if step > 1000 * se[j]:
                        outer = None
                        break
                if outer is None:
                    ci[j, col] = side * np.inf
                    continue
                ci[j, col] = optimize.brentq(lambda v, f=f: f(v) - target,
                                             min(inner, outer), max(inner, outer),
                                             xtol=1e-12, rtol=1e-13)
        return ci

    def lr_pvalues(self, X, y, sample_weight=None):
        """p-values of penalised likelihood-ratio tests of each ``beta_j = 0``
        (``logistf``'s default): ``chi2_1.sf(2 (l*(beta_hat) - max_{beta_j=0} l*))``.

        Returns
        -------
        pvalues : ndarray of shape (n_params,)
        """
        X, y, sw, theta = self._firth_inputs(X, y, sample_weight)
        out = np.empty(theta.size)
        for j in range(theta.size):
            stat = 2.0 * (self.loglik_ - self._profile(X, y, sw, theta, j)(0.0))
            out[j] = stats.chi2.sf(max(stat, 0.0), 1)
        return out

    def coef_table(self, X, y, sample_weight=None, *, alpha=0.05, method="profile"):
        """The coefficient table; ``method="profile"`` (default, as ``logistf``):
        profile-likelihood intervals and likelihood-ratio p-values; ``"wald"``: Wald
        ones. Standard errors and z are Wald's in both.

        Returns
        -------
        table : pandas.DataFrame or dict
            As `clogreg.LogisticRegression.coef_table`.
        """
        if method not in ("profile", "wald"):
            raise ValueError(f"method must be 'profile' or 'wald', got {method!r}")
        s = self._statistics(X, y, sample_weight, "classical", None)
        table = self._table(s, alpha)
        if method == "profile":
            ci = self.profile_ci(X, y, sample_weight, alpha=alpha)
            pv = self.lr_pvalues(X, y, sample_weight)
            keys = list(table.keys() if isinstance(table, dict) else table.columns)
            lo = next(k for k in keys if k.startswith("["))
            hi = next(k for k in keys if k.endswith("]"))
            table["P>|z|"], table[lo], table[hi] = pv, ci[:, 0], ci[:, 1]
            if not isinstance(table, dict):
                table = table.rename(columns={"P>|z|": "P>chi2"})
            else:
                table["P>chi2"] = table.pop("P>|z|")
        return table
