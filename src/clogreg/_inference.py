"""Statistical inference for a fitted logistic regression: the statistician's table.

``InferenceMixin`` gives `clogreg.LogisticRegression` the statistics of statsmodels'
``Logit`` / ``MNLogit`` (``cov_params``, ``bse``, ``pvalues``, ``conf_int``,
``summary``) and glum's (``covariance_matrix``, ``coef_table``), in scikit-learn's
manner: the fitted model holds no data, so every method takes the training data
``X, y`` (and ``sample_weight``) again. What each method computes:

* the parameters: ``[const, x1, ..., xd]`` (the intercept first, named ``const`` as by
  statsmodels' ``add_constant``; without ``fit_intercept`` the features alone; names
  from ``feature_names_in_``, else ``x1 ... xd``). Multinomial models are reported
  in statsmodels' ``MNLogit`` parametrisation: the coefficients of class ``k >= 1``
  *relative to the reference class* ``classes_[0]`` (``coef_[k] - coef_[0]``), one
  block per class, named ``"<class>:<name>"``. (The symmetric softmax
  parametrisation the estimator fits is not identifiable without a penalty.)
* ``kind="classical"``: the inverse of the observed (= expected) information
  ``X1.T @ diag(s * p * (1 - p)) @ X1`` (``X1``: X with a column of ones, ``s``: the
  sample weights times the class weights, treated as frequency weights).
  ``"HC0"``: White's sandwich ``A^-1 B A^-1`` with ``B = sum_i s_i^2 (y_i - p_i)^2
  x1_i x1_i.T``; ``"HC1"``: HC0 times ``n / (n - k)`` (MacKinnon and White's factor, as
  statsmodels' OLS; its ``Logit`` and ``GLM`` apply none and give HC0 for ``"HC1"``);
  ``"cluster"``: ``B`` from the per-cluster sums of the scores, times
  ``G / (G - 1) * (n - 1) / (n - k)`` (statsmodels' ``cov_type="cluster"``).
* L2-penalised fits (finite ``C``, ``l1_ratio=0``): the same with the *penalised*
  Hessian ``A + I / C`` (no penalty on the intercept) in place of ``A``; these are the
  usual ridge "sandwich" approximations, not exact sampling statistics (the
  estimate is biased towards 0). L1 or elastic-net fits: ``ValueError`` (no valid
  classical standard errors after variable selection).
* Separation: with ``C=np.inf`` a fit (binary or multinomial) is first checked for
  complete or quasi-complete separation (then the maximum-likelihood estimate does not exist);
  see `detect_separation`. The separating coefficients get NaN statistics and a
  `PerfectSeparationWarning` names them. The linear program runs only where the fit
  does not certify overlap itself: by Stiemke's theorem no separating direction
  exists iff some ``u > 0`` has ``sum_i u_i t_i x1_i = 0`` (``t_i = +-1`` the class);
  the fit's ``u_i = s_i (1 - p_i(observed class)) > 0`` leaves the residual
  ``g`` (the gradient), which ``delta_i = -t_i h_i x1_i @ A^-1 g`` cancels while keeping
  ``u + delta > 0`` whenever the Newton step ``A^-1 g`` moves no row's linear
  predictor by 1 or more (``|delta_i| <= u_i |x1_i @ A^-1 g|``). A fit near its optimum
  passes with a wide margin (we ask for < 0.5), checked first by the bound
  ``max|X| ||step_w||_1 + |step_b|`` (``max|X|`` comes with the finiteness check) and,
  where that bound is too loose, by one matrix-vector product over X. For K classes the same holds with the pairwise differences of the
  classes' linear predictors in place of the linear predictor.

The Hessian comes from the kernel's one-pass ``newton_pass`` (the pass the
``"newton"`` solver uses), accumulated in float64 also for float32 X (cast per
block); everything else runs over fixed row blocks in NumPy, in a fixed order, so the
results do not depend on ``n_jobs``. Up to ``MAX_PARAMS`` (5,001) parameters.

Examples
--------
>>> import numpy as np
>>> from clogreg import LogisticRegression
>>> rng = np.random.default_rng(0)
>>> X = rng.normal(size=(500, 2))
>>> y = (X @ [1.0, -0.5] + 0.3 + rng.logistic(size=500) > 0).astype(int)
>>> clf = LogisticRegression(C=np.inf, solver="newton", tol=1e-10).fit(X, y)
>>> table = clf.summary(X, y)
                         Logistic regression results
==============================================================================
No. observations:          500   Log-likelihood:                       -282.94
Df model:                    2   LL-null:                              -346.32
Covariance:          classical   Pseudo R-squ. (McFadden):               0.183
Penalty:                  none   AIC:                                   571.87
Reference class:             -   BIC:                                   584.52
                                 LLR p-value:                        2.977e-28
==============================================================================
                   coef    std err          z      P>|z|     [0.025     0.975]
------------------------------------------------------------------------------
const            0.1752     0.1028      1.704    0.08832   -0.02628     0.3767
x1                1.192     0.1306      9.127  7.054e-20     0.9358      1.448
x2              -0.3984     0.1091     -3.652  0.0002604    -0.6123    -0.1846
==============================================================================
>>> bool(table.loc["x1", "P>|z|"] < 1e-10)
True
>>> test = clf.wald_test(X, y, ["x1", "x2"])
>>> test.df, round(test.statistic, 2)
(2, 88.89)
"""
import warnings
from collections import namedtuple

import numpy as np
from scipy import linalg, optimize, sparse, stats
from scipy.special import expit, log_softmax, softmax
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _validation
from ._dispatch import kernel as _kernel

#: The most parameters (intercept included) whose covariance matrix is formed.
MAX_PARAMS = 5001
KINDS = ("classical", "HC0", "HC1", "cluster")
#: Target size (float64 elements) of one row block of the NumPy passes (~32 MB).
_BLOCK_ELEMS = 1 << 22
#: The certificate of non-separation: a Newton step from the fit that moves no row's
#: linear predictor by this much proves that the MLE exists (module docstring).
_CERTIFICATE_MARGIN = 0.5
#: Warn when the fit is this many standard errors (a Newton step) from the optimum.
_OFF_OPTIMUM_SE = 0.5
#: Margins and direction components below this count as 0 in the LPs (scaled data).
_LP_TOL = 1e-7

WaldTestResult = namedtuple("WaldTestResult", "statistic df pvalue")
WaldTestResult.__doc__ = """Result of `InferenceMixin.wald_test`: the chi-squared
statistic, its degrees of freedom and the p-value."""

SeparationResult = namedtuple("SeparationResult",
                              "kind direction columns rows")
SeparationResult.__doc__ = """Result of `detect_separation`.

kind : ``"none"``, ``"quasi-complete"`` or ``"complete"``.
direction : ndarray of shape (n_params,), the separating direction ``b`` (scaled to
    max-norm 1; zeros when ``kind == "none"``), parameters ordered ``[const, x1...]``.
columns : list of the parameter names (or indices) with a nonzero component: the
    estimates that diverge.
rows : ndarray of int, the rows predicted perfectly (``y_i x_i b > 0``).
"""


class PerfectSeparationWarning(ConvergenceWarning):
    """The data are completely or quasi-completely separated: the maximum-likelihood
    estimate does not exist, and the statistics of the separating coefficients are
    reported as NaN. Remedies: Firth's method (`clogreg.FirthLogisticRegression`) or a
    penalty (finite ``C``)."""


class _Statistics:
    """What one evaluation at the fitted parameters gives (float64 throughout)."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


class InferenceMixin:
    """Standard errors, tests, intervals and a summary table for a fitted model.

    Mixed into `clogreg.LogisticRegression`; see the module docstring of
    ``clogreg._inference`` for the definitions. Every method takes the training data
    again: ``X`` (n, d), ``y`` (n,), ``sample_weight`` (n,) or None.
    """

    # ---------------------------------------------------------------- public
    def covariance_matrix(self, X, y, sample_weight=None, *, kind="classical",
                          clusters=None):
        """Covariance matrix of the estimated parameters (glum's name).

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            The training data.
        y : array-like of shape (n_samples,)
        sample_weight : array-like of shape (n_samples,), default=None
        kind : {"classical", "HC0", "HC1", "cluster"}, default="classical"
        clusters : array-like of shape (n_samples,), default=None
            Cluster labels; required for (and only for) ``kind="cluster"``.

        Returns
        -------
        cov : ndarray of shape (n_params, n_params)
            Parameters ordered as `parameter_names`; NaN rows and columns for the
            coefficients of a separating direction.
        """
        return self._statistics(X, y, sample_weight, kind, clusters).cov

    def cov_params(self, X, y, sample_weight=None, *, kind="classical", clusters=None):
        """Alias of `covariance_matrix` (statsmodels' name)."""
        return self.covariance_matrix(X, y, sample_weight, kind=kind, clusters=clusters)

    def bse(self, X, y, sample_weight=None, *, kind="classical", clusters=None):
        """Standard errors of the parameters, shape (n_params,)."""
        return self._statistics(X, y, sample_weight, kind, clusters).bse

    def pvalues(self, X, y, sample_weight=None, *, kind="classical", clusters=None):
        """Two-sided p-values of the z tests that each parameter is 0."""
        s = self._statistics(X, y, sample_weight, kind, clusters)
        return 2.0 * stats.norm.sf(np.abs(s.params / s.bse))

    def conf_int(self, X, y, sample_weight=None, *, alpha=0.05, kind="classical",
                 clusters=None):
        """Wald confidence intervals at level ``1 - alpha``, shape (n_params, 2)."""
        s = self._statistics(X, y, sample_weight, kind, clusters)
        q = stats.norm.ppf(1.0 - alpha / 2.0)
        return np.column_stack([s.params - q * s.bse, s.params + q * s.bse])

    def parameter_names(self):
        """Names of the parameters, in the order of every statistic here.

        Returns
        -------
        names : list of str
        """
        check_is_fitted(self)
        names = (list(map(str, self.feature_names_in_)) if hasattr(self, "feature_names_in_")
                 else [f"x{j + 1}" for j in range(self.n_features_in_)])
        if self.fit_intercept:
            names = ["const"] + names
        if self.classes_.size == 2:
            return names
        return [f"{c}:{name}" for c in self.classes_[1:] for name in names]

    def coef_table(self, X, y, sample_weight=None, *, alpha=0.05, kind="classical",
                   clusters=None):
        """The coefficient table: estimate, standard error, z, p-value, interval.

        Parameters
        ----------
        X, y, sample_weight, kind, clusters
            As in `covariance_matrix`.
        alpha : float in (0, 1), default=0.05
            The intervals' level is ``1 - alpha``.

        Returns
        -------
        table : pandas.DataFrame or dict
            Indexed by `parameter_names`, columns ``coef``, ``std err``, ``z``,
            ``P>|z|``, ``[alpha/2``, ``1-alpha/2]``. A dict of arrays (with the names
            under ``"names"``) when pandas is not installed.
        """
        return self._table(self._statistics(X, y, sample_weight, kind, clusters), alpha)

    def summary(self, X, y, sample_weight=None, *, alpha=0.05, kind="classical",
                clusters=None, print_table=True):
        """Print a statsmodels-like summary and return the coefficient table.

        The header gives the number of observations, the log-likelihood, the
        intercept-only model's log-likelihood (LL-null), McFadden's pseudo R-squared
        ``1 - llf / llnull``, AIC ``2k - 2 llf``, BIC ``k log(n) - 2 llf`` and the p-value
        of the likelihood-ratio test against the intercept-only model
        (``chi2(2 (llf - llnull), df_model)``); with sample weights, ``n`` is their
        sum. For penalised fits the log-likelihood is the unpenalised one.

        Parameters
        ----------
        X, y, sample_weight, alpha, kind, clusters
            As in `coef_table`.
        print_table : bool, default=True
            Print the summary; False only returns it.

        Returns
        -------
        table : pandas.DataFrame or dict
            `coef_table`, with the header's numbers in ``table.attrs`` (pandas; keys
            ``nobs``, ``llf``, ``llnull``, ``pseudo_r2``, ``aic``, ``bic``,
            ``llr``, ``llr_pvalue``, ``df_model``, ``separation``) or under
            ``"model"`` (dict).
        """
        s = self._statistics(X, y, sample_weight, kind, clusters)
        table = self._table(s, alpha)
        model = _model_statistics(s)
        if isinstance(table, dict):
            table["model"] = model
        else:
            table.attrs.update(model)
        if print_table:
            print(self._summary_text(s, model, alpha))
        return table

    def wald_test(self, X, y, columns=None, *, R=None, q=None, sample_weight=None,
                  kind="classical", clusters=None):
        """Wald test of the linear hypothesis ``R @ params = q`` (chi-squared form).

        Parameters
        ----------
        X, y
            The training data.
        columns : list of str or int, default=None
            Test that these parameters (names from `parameter_names`, or indices)
            are all 0. Exactly one of ``columns`` and ``R`` is given.
        R : array-like of shape (n_constraints, n_params), default=None
        q : array-like of shape (n_constraints,), default=None (zeros)
        sample_weight, kind, clusters
            As in `covariance_matrix`.

        Returns
        -------
        result : WaldTestResult
            ``statistic``, ``df`` (the number of constraints) and ``pvalue``.
        """
        s = self._statistics(X, y, sample_weight, kind, clusters)
        k = s.params.size
        if (columns is None) == (R is None):
            raise ValueError("give exactly one of columns and R")
        if columns is not None:
            idx = []
            for c in ([columns] if isinstance(columns, (str, int)) else columns):
                if isinstance(c, str):
                    if c not in s.names:
                        raise ValueError(f"unknown parameter {c!r}; the parameters are "
                                         f"{s.names}")
                    idx.append(s.names.index(c))
                else:
                    if not 0 <= int(c) < k:
                        raise ValueError(f"parameter index {c} out of range 0..{k - 1}")
                    idx.append(int(c))
            R = np.eye(k)[idx]
        R = np.atleast_2d(np.asarray(R, dtype=np.float64))
        if R.shape[1] != k:
            raise ValueError(f"R must have {k} columns (one per parameter), got {R.shape[1]}")
        q = np.zeros(R.shape[0]) if q is None else np.asarray(q, dtype=np.float64).ravel()
        if q.shape != (R.shape[0],):
            raise ValueError(f"q must have shape ({R.shape[0]},), got {q.shape}")
        diff = R @ s.params - q
        stat = float(diff @ np.linalg.solve(R @ s.cov @ R.T, diff))
        df = R.shape[0]
        return WaldTestResult(stat, df, float(stats.chi2.sf(stat, df)))

    # -------------------------------------------------------------- internals
    def _inference_penalty(self):
        """The L2 strength 1/C of the fit; ValueError for an L1 part."""
        C = getattr(self, "C", np.inf)
        if np.isinf(C):
            return 0.0
        if getattr(self, "l1_ratio", 0.0) > 0:
            raise ValueError(
                f"standard errors, p-values and intervals are not defined for L1 or "
                f"elastic-net fits (l1_ratio={self.l1_ratio}): after variable selection "
                f"the classical statistics are invalid; refit with l1_ratio=0 (L2 or "
                f"C=np.inf) on the selected columns")
        return 1.0 / C

    def _statistics(self, X, y, sample_weight, kind, clusters):
        check_is_fitted(self)
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}; got {kind!r}")
        alpha_l2 = self._inference_penalty()
        X, y_enc, sw, groups, max_abs = self._inference_inputs(X, y, sample_weight, kind,
                                                               clusters)
        n_classes = self.classes_.size
        p = (X.shape[1] + bool(self.fit_intercept)) * (1 if n_classes == 2 else n_classes - 1)
        if p > MAX_PARAMS:
            raise ValueError(
                f"the covariance matrix would have {p} x {p} entries: statistics are "
                f"computed for at most {MAX_PARAMS} parameters (intercept included)")
        names = self.parameter_names()
        if n_classes == 2:
            params = np.concatenate([np.asarray(self.intercept_, np.float64)
                                     if self.fit_intercept else [],
                                     np.asarray(self.coef_[0], np.float64)])
            ev = _binary_evaluation(X, y_enc, sw, params, self.fit_intercept, alpha_l2,
                                    kind, groups, max_abs)
        else:
            coef = np.asarray(self.coef_, np.float64)
            b = np.asarray(self.intercept_, np.float64)
            if alpha_l2 > 0:
                raise ValueError(
                    "statistics of penalised multinomial fits are not defined here: the "
                    "penalty acts on the symmetric parametrisation, the statistics use "
                    "the reference-class one; fit with C=np.inf")
            full = np.column_stack([b, coef]) if self.fit_intercept else coef
            params = (full[1:] - full[0]).ravel()
            ev = _multinomial_evaluation(X, y_enc, sw, full, self.fit_intercept, kind,
                                         groups, max_abs)
        unreliable = np.zeros(p, dtype=bool)
        separation = "not checked" if (alpha_l2 > 0 or not self._is_ml_fit) \
            else "none"
        certified = ev.certificate is not None and ev.certificate < _CERTIFICATE_MARGIN
        if separation == "none" and not certified:
            sep = detect_separation(X, y_enc, sw if sw.size else None,
                                    fit_intercept=self.fit_intercept,
                                    names=names)
            separation = sep.kind
            if sep.kind != "none":
                unreliable = sep.direction != 0
                warnings.warn(
                    f"{sep.kind} separation: the direction "
                    f"{_format_direction(sep.direction, names)} separates the classes "
                    f"({len(sep.rows)} of {int(np.count_nonzero(_weights(sw, y_enc)))} rows "
                    f"predicted perfectly); the maximum-likelihood estimates of "
                    f"{', '.join(sep.columns)} do not exist (they diverge), so their "
                    f"standard errors, z, p-values and intervals are reported as NaN. Use "
                    f"Firth's method (clogreg.FirthLogisticRegression) or a finite C",
                    PerfectSeparationWarning, stacklevel=3)
        cov = _covariance(ev.A, ev.B, kind, ev.nobs, p, ev.n_groups, unreliable)
        bse = np.sqrt(np.diag(cov))
        if self._is_ml_fit and separation in ("none", "not checked") \
                and not np.all(unreliable):
            with np.errstate(invalid="ignore", divide="ignore"):
                off = np.nanmax(np.abs(ev.newton_step) / bse) if p else 0.0
            if off > _OFF_OPTIMUM_SE:
                warnings.warn(
                    f"the coefficients are not at the optimum for these data: a Newton "
                    f"step would move one by {off:.2g} standard errors (are X, y the "
                    f"training data? else refit with a smaller tol)",
                    ConvergenceWarning, stacklevel=3)
        return _Statistics(params=params, cov=cov, bse=bse, names=names, kind=kind,
                           unreliable=unreliable, separation=separation,
                           alpha_l2=alpha_l2, n_classes=n_classes, **ev.model)

    @property
    def _is_ml_fit(self):
        """A maximum-likelihood (or L2-penalised) fit: the separation and optimum
        checks apply. Not for Firth's penalised likelihood (``firth=True``)."""
        return not getattr(self, "firth", False)

    @property
    def _penalty_name(self):
        """The penalty line of the summary when not the C / l1_ratio one."""
        return "Firth" if getattr(self, "firth", False) else None

    def _inference_inputs(self, X, y, sample_weight, kind, clusters):
        X = _validation.check_numeric(X, "X")
        checks = {"reset": False, "dtype": [np.float64, np.float32], "order": "C",
                  "accept_sparse": "csr"}
        X, y = validate_data(self, X, y, ensure_all_finite=False, **checks)
        if not sparse.issparse(X) and not X.flags.aligned:
            X = X.copy()
        max_abs = _max_abs(X)  # also the finiteness check: NaN / inf propagate
        if not np.isfinite(max_abs):
            validate_data(self, X, y, **checks)  # scikit-learn's message
        y_index = np.searchsorted(self.classes_, y)
        unknown = (y_index >= self.classes_.size) | \
            (self.classes_[np.minimum(y_index, self.classes_.size - 1)] != y)
        if np.any(unknown):
            raise ValueError(f"y holds labels not seen in fit: "
                             f"{np.unique(np.asarray(y)[unknown])[:5].tolist()}")
        y_enc = y_index.astype(np.float64)
        sw = _validation.check_sample_weight(sample_weight, X.shape[0], np.float64)
        class_weight = getattr(self, "class_weight", None)
        if class_weight is not None:
            from sklearn.utils.class_weight import compute_class_weight
            per_class = compute_class_weight(class_weight, classes=self.classes_, y=y)
            cw = per_class[y_index]
            sw = sw * cw if sw.size else cw.astype(np.float64)
        groups = None
        if kind == "cluster":
            if clusters is None:
                raise ValueError('kind="cluster" needs the cluster labels: clusters=...')
            clusters = np.asarray(clusters)
            if clusters.shape != (X.shape[0],):
                raise ValueError(f"clusters must have shape ({X.shape[0]},), got "
                                 f"{clusters.shape}")
            _, groups = np.unique(clusters, return_inverse=True)
        elif clusters is not None:
            raise ValueError(f'clusters is used only with kind="cluster" (kind={kind!r})')
        return X, y_enc, sw, groups, max_abs

    def _table(self, s, alpha):
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        q = stats.norm.ppf(1.0 - alpha / 2.0)
        z = s.params / s.bse
        cols = {"coef": s.params, "std err": s.bse, "z": z,
                "P>|z|": 2.0 * stats.norm.sf(np.abs(z)),
                f"[{alpha / 2:g}": s.params - q * s.bse,
                f"{1 - alpha / 2:g}]": s.params + q * s.bse}
        try:
            import pandas as pd
        except ImportError:
            return {"names": list(s.names), **cols}
        return pd.DataFrame(cols, index=pd.Index(s.names))

    def _summary_text(self, s, model, alpha):
        width = 78
        penalty = self._penalty_name or (
            "none" if s.alpha_l2 == 0 else f"L2, C={1 / s.alpha_l2:.4g}")
        ref = "-" if s.n_classes == 2 else str(self.classes_[0])
        left = [("No. observations:", f"{model['nobs']:g}"),
                ("Df model:", f"{model['df_model']}"),
                ("Covariance:", s.kind),
                ("Penalty:", penalty),
                ("Reference class:", ref),
                ("Separation:", s.separation) if s.separation not in ("none",) else None]
        left = [x for x in left if x is not None]
        right = [("Log-likelihood:", f"{model['llf']:.5g}"),
                 ("LL-null:", f"{model['llnull']:.5g}"),
                 ("Pseudo R-squ. (McFadden):", f"{model['pseudo_r2']:.4g}"),
                 ("AIC:", f"{model['aic']:.5g}"),
                 ("BIC:", f"{model['bic']:.5g}"),
                 ("LLR p-value:", f"{model['llr_pvalue']:.4g}")]
        lines = [f"{'Logistic regression results':^{width}}".rstrip(), "=" * width]
        for i in range(max(len(left), len(right))):
            a = f"{left[i][0]:<17}{left[i][1]:>13}" if i < len(left) else " " * 30
            b = f"{right[i][0]:<28}{right[i][1]:>17}" if i < len(right) else ""
            lines.append(f"{a}   {b}".rstrip())
        lines.append("=" * width)
        q = stats.norm.ppf(1.0 - alpha / 2.0)
        head = ["coef", "std err", "z", "P>|z|", f"[{alpha / 2:g}", f"{1 - alpha / 2:g}]"]
        namew = max(12, max(len(n) for n in s.names) + 1)
        lines.append(" " * namew + "".join(f"{h:>11}" for h in head))
        lines.append("-" * max(width, namew + 66))
        z = s.params / s.bse
        pv = 2.0 * stats.norm.sf(np.abs(z))
        for j, name in enumerate(s.names):
            vals = (s.params[j], s.bse[j], z[j], pv[j], s.params[j] - q * s.bse[j],
                    s.params[j] + q * s.bse[j])
            lines.append(f"{name:<{namew}}" + "".join(f"{_fmt(v):>11}" for v in vals))
        lines.append("=" * max(width, namew + 66))
        if s.alpha_l2 > 0:
            lines.append("L2-penalised fit: the covariance uses the penalised Hessian "
                         "(biased estimates;\nthe intervals are approximate).")
        if np.any(s.unreliable):
            lines.append("NaN: the estimate diverges (separation); its statistics are "
                         "undefined.")
        return "\n".join(lines)


def _fmt(v):
    return f"{v:.4g}" if np.isfinite(v) else "nan"


def _format_direction(direction, names):
    terms = [f"{d:+.3g}*{n}" for d, n in zip(direction, names) if d != 0]
    return " ".join(terms)


def _weights(sw, y):
    return sw if sw.size else np.ones(y.shape[0])


def _model_statistics(s):
    k = s.params.size
    llr = 2.0 * (s.llf - s.llnull)
    return {"nobs": s.nobs, "llf": s.llf, "llnull": s.llnull,
            "pseudo_r2": 1.0 - s.llf / s.llnull if s.llnull != 0 else np.nan,
            "aic": 2.0 * k - 2.0 * s.llf, "bic": k * np.log(s.nobs) - 2.0 * s.llf,
            "llr": llr, "df_model": s.df_model,
            "llr_pvalue": float(stats.chi2.sf(llr, s.df_model)) if s.df_model else np.nan,
            "separation": s.separation}


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


def _with_const(Xb, fit_intercept):
    if not fit_intercept:
        return Xb
    return np.hstack([np.ones((Xb.shape[0], 1)), Xb])


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


def detect_separation(X, y, sample_weight=None, *, fit_intercept=True, names=None):
    """Detect complete and quasi-complete separation (Konis 2007; also multinomial).

    The maximum-likelihood estimate of a logistic regression exists if and only if
    no direction ``b != 0`` has ``t_i x1_i @ b >= 0`` for every row (``t_i = +1`` for
    the positive class, ``-1`` for the other, ``x1_i = [1, x_i]``; rows with zero
    weight do not count). As in Konis's ``safeBinaryRegression`` (R's
    ``detectseparation``) a linear program finds it, here the one that makes as many
    inequalities strict as possible: maximise ``sum_i s_i`` subject to ``t_i x1_i @ b
    >= s_i``, ``0 <= s_i <= 1`` (columns scaled to max-norm 1; SciPy's HiGHS). Since
    such directions can be scaled and added, ``s_i = 1`` for exactly the rows that some
    direction predicts perfectly. *Complete* separation: all of them; *quasi-complete*:
    some.

    Parameters
    ----------
    X : array-like or sparse matrix of shape (n_samples, n_features)
    y : array-like of shape (n_samples,)
        Two classes (the larger, ``np.unique(y)[1]``, is the positive one) or more:
        then a row and another class ``k`` give the constraint ``(b_{y_i} - b_k) @
        x1_i >= 0`` with ``b_0 = 0`` (reference class ``np.unique(y)[0]``), and ``b``
        stacks ``b_1 ... b_{K-1}``.
    sample_weight : array-like of shape (n_samples,), default=None
    fit_intercept : bool, default=True
        Whether the model has an intercept (the constant column ``x1_i[0] = 1``).
    names : list of str, default=None
        Names of the parameters (``[const, x1, ...]``, per class for K > 2) for
        ``columns``.

    Returns
    -------
    result : SeparationResult
        ``kind``, ``direction``, ``columns``, ``rows``.

    Examples
    --------
    >>> import numpy as np
    >>> from clogreg import detect_separation
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]])
    >>> detect_separation(X, [0, 0, 1, 1]).kind
    'complete'
    >>> detect_separation(X[:, :1], [0, 1, 0, 1]).kind
    'none'
    >>> detect_separation(np.array([[0.0], [1.0], [1.0], [2.0]]), [0, 0, 1, 1]).kind
    'quasi-complete'
    """
    y = np.asarray(y)
    classes, t = np.unique(y, return_inverse=True)
    K = classes.size
    if K < 2:
        raise ValueError(f"detect_separation needs two or more classes, got {K}")
    X1 = X.toarray() if sparse.issparse(X) else np.asarray(X, dtype=np.float64)
    X1 = _with_const(np.asarray(X1, np.float64), fit_intercept)
    if sample_weight is not None:
        keep = np.asarray(sample_weight) > 0
        X1, t = X1[keep], t[keep]
    n_rows, p1 = X1.shape
    p = (K - 1) * p1
    if names is None or len(names) != p:
        names = [str(j) for j in range(p1)] if K == 2 else \
            [f"{c}:{j}" for c in classes[1:] for j in range(p1)]
    scale = np.abs(X1).max(axis=0)
    scale[scale == 0] = 1.0
    X1s = X1 / scale
    # one constraint per row i and other class k: eta_{t_i}(x_i) - eta_k(x_i) >= 0,
    # eta_0 = 0 (reference class), eta_c = x1_i @ b_c; for two classes t_i x1_i @ b >= 0
    blocks, owner = [], []
    for k in range(K):
        idx = np.flatnonzero(t != k)
        R = np.zeros((idx.size, p))
        for c in range(1, K):
            R[t[idx] == c, (c - 1) * p1:c * p1] += X1s[idx[t[idx] == c]]
        if k >= 1:
            R[:, (k - 1) * p1:k * p1] -= X1s[idx]
        blocks.append(R)
        owner.append(idx)
    M, owner = np.vstack(blocks), np.concatenate(owner)
    n = M.shape[0]
    # maximise sum_i s_i subject to M b >= s, 0 <= s <= 1, b free: the cone of the
    # M b >= 0 directions is closed under scaling and sums, so s_i = 1 exactly for
    # every constraint that some direction makes strict (the largest such set)
    A_ub = sparse.hstack([-sparse.csr_matrix(M), sparse.identity(n)]).tocsr()
    res = optimize.linprog(np.r_[np.zeros(p), -np.ones(n)], A_ub=A_ub, b_ub=np.zeros(n),
                           bounds=[(None, None)] * p + [(0.0, 1.0)] * n, method="highs")
    if res.status != 0:
        raise RuntimeError(f"the separation LP failed: {res.message}")
    direction = res.x[:p]
    strict = res.x[p:] > 0.5
    if not np.any(strict):
        return SeparationResult("none", np.zeros(p), [], np.array([], dtype=np.intp))
    # a row is predicted perfectly when all its constraints hold strictly
    loose = np.zeros(n_rows, bool)
    loose[owner[~strict]] = True
    rows = np.flatnonzero(~loose)
    complete = bool(np.all(strict))
    b = direction / np.tile(scale, K - 1)
    b = b / np.abs(b).max()
    b[np.abs(b) < _LP_TOL] = 0.0
    cols = [names[j] for j in np.flatnonzero(b)]
    if sample_weight is not None:
        rows = np.flatnonzero(keep)[rows]
    return SeparationResult("complete" if complete else "quasi-complete", b, cols, rows)
