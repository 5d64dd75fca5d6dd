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
from scipy import sparse, stats
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _validation
from ._covariance import (
    _CERTIFICATE_MARGIN,
    _binary_evaluation,
    _covariance,
    _max_abs,
    _multinomial_evaluation,
    _Statistics,
    _weights,
)
from ._separation import detect_separation

#: The most parameters (intercept included) whose covariance matrix is formed.
MAX_PARAMS = 5001
KINDS = ("classical", "HC0", "HC1", "cluster")
#: Warn when the fit is this many standard errors (a Newton step) from the optimum.
_OFF_OPTIMUM_SE = 0.5

WaldTestResult = namedtuple("WaldTestResult", "statistic df pvalue")
WaldTestResult.__doc__ = """Result of `InferenceMixin.wald_test`: the chi-squared
statistic, its degrees of freedom and the p-value."""



class PerfectSeparationWarning(ConvergenceWarning):
    """The data are completely or quasi-completely separated: the maximum-likelihood
    estimate does not exist, and the statistics of the separating coefficients are
    reported as NaN. Remedies: Firth's method (`clogreg.FirthLogisticRegression`) or a
    penalty (finite ``C``)."""


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


def _model_statistics(s):
    k = s.params.size
    llr = 2.0 * (s.llf - s.llnull)
    return {"nobs": s.nobs, "llf": s.llf, "llnull": s.llnull,
            "pseudo_r2": 1.0 - s.llf / s.llnull if s.llnull != 0 else np.nan,
            "aic": 2.0 * k - 2.0 * s.llf, "bic": k * np.log(s.nobs) - 2.0 * s.llf,
            "llr": llr, "df_model": s.df_model,
            "llr_pvalue": float(stats.chi2.sf(llr, s.df_model)) if s.df_model else np.nan,
            "separation": s.separation}
