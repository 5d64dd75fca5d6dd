"""The scikit-learn estimator: parameters, validation, labels, dtype, solver choice.

Where things happen, in order of a call to ``fit``:

1. ``_validate_params`` checks the constructor arguments (``_parameter_constraints``).
2. ``_validate_inputs`` checks X, y and sample_weight with scikit-learn's utilities,
   keeps float32 as float32, and encodes the two labels as 0.0 / 1.0.
3. ``_solvers.gradient_descent`` calls the Cython kernel (``_kernel.gd_fit``).
4. ``_store_result`` turns the kernel's status into warnings or errors and sets the
   fitted attributes (``coef_``, ``intercept_``, ``n_iter_``, ``history_``).
"""
import os
import warnings
from numbers import Integral, Real

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model._base import LinearClassifierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from . import _kernel, _solvers, _validation

SOLVERS = ("gd",)


class LogisticRegression(LinearClassifierMixin, BaseEstimator):
    """Binary logistic regression trained by a Cython kernel.

    Minimises the summed objective (scikit-learn's)::

        sum_i s_i * logloss(y_i, x_i @ w + b) + (1 - l1_ratio) / (2 C) * ||w||^2
                                              + l1_ratio / C * ||w||_1

    where ``s_i`` is the sample weight; the intercept ``b`` is never penalised and
    ``C=np.inf`` means no penalty.

    Parameters
    ----------
    C : float, default=1.0
        Inverse regularisation strength, > 0. ``np.inf`` switches the penalty off.
    l1_ratio : float in [0, 1], default=0.0
        Share of the penalty that is L1 (0: pure L2, 1: pure L1). With
        ``solver="gd"``, L1 is handled by a proximal (soft-threshold) step.
    solver : {"gd"}, default="gd"
        ``"gd"``: full-batch gradient descent, the tutorial's algorithm, with the
        whole loop over epochs inside the kernel.
    learning_rate : "auto" or float > 0, default="auto"
        Step applied to the gradient of the summed objective. ``"auto"`` uses ``1/L``
        for an upper bound ``L`` on the gradient's Lipschitz constant (see
        ``clogreg._solvers.lipschitz_bound``): it converges without tuning, but can
        be slow on badly conditioned data. A number is used as given: with summed
        gradients a good step shrinks as the number of rows grows.
    max_iter : int >= 1, default=100
        Maximum number of epochs (passes over the data).
    tol : float >= 0, default=1e-4
        Stop once the max-norm of the gradient (for L1: the proximal gradient
        mapping) of the *mean* objective, i.e. divided by the sum of the sample
        weights, is <= tol. ``tol=0`` runs all ``max_iter`` epochs.
    fit_intercept : bool, default=True
        Whether to fit an (unpenalised) intercept.
    verbose : int, default=0
        ``verbose >= 1`` prints the tutorial's line per epoch after fitting:
        ``Epoch: k | Accuracy: a | Cost: c``.
    random_state : int, RandomState instance or None, default=None
        Accepted for API compatibility; ``solver="gd"`` is deterministic.
    n_jobs : int or None, default=None
        Threads for the pass over the data (OpenMP over fixed row chunks, so the
        result is bit-identical for any value). ``None`` means 1, ``-1`` all CPUs.

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        The two labels; ``classes_[1]`` is the positive class.
    coef_ : ndarray of shape (1, n_features)
        Coefficients, in the dtype of X (float32 or float64).
    intercept_ : ndarray of shape (1,)
        Intercept (0.0 when ``fit_intercept=False``).
    n_iter_ : ndarray of shape (1,)
        Number of epochs run.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X had string column names (a pandas DataFrame).
    history_ : dict of ndarray
        ``"loss"``: the objective (the tutorial's "Cost" when ``C=np.inf``) and
        ``"accuracy"``: the training accuracy in percent, entry ``k`` measured at the
        parameters entering epoch ``k``; one entry per epoch run.

    Notes
    -----
    Inputs are checked before the kernel runs; the README's "Input contract" lists
    every case. A learning rate so large that the loss or a step overflows raises
    ``FloatingPointError``: the kernel stops before applying a non-finite step, and
    the estimator is left unfitted. With ``C=np.inf`` on linearly separable data the
    loss has no minimum; with ``tol > 0``, ``fit`` warns (``ConvergenceWarning``,
    "linearly separable") and keeps the finite coefficients reached. The kernel
    releases the GIL: separate estimators can be fitted from many threads at once.

    Examples
    --------
    >>> import numpy as np
    >>> from clogreg import LogisticRegression
    >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    >>> y = np.array(["no", "no", "yes", "yes"])
    >>> clf = LogisticRegression(C=10.0, tol=1e-8, max_iter=1000).fit(X, y)
    >>> clf.predict([[-3.0], [3.0]]).tolist()
    ['no', 'yes']
    >>> bool(clf.history_["loss"][0] == 4 * np.log(2))
    True
    """

    _parameter_constraints = {
        "C": [Interval(Real, 0, None, closed="right")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "solver": [StrOptions(set(SOLVERS))],
        "learning_rate": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "n_jobs": [None, Integral],
    }

    def __init__(self, C=1.0, *, l1_ratio=0.0, solver="gd", learning_rate="auto",
                 max_iter=100, tol=1e-4, fit_intercept=True, verbose=0,
                 random_state=None, n_jobs=None):
        self.C = C
        self.l1_ratio = l1_ratio
        self.solver = solver
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.verbose = verbose
        self.random_state = random_state
        self.n_jobs = n_jobs

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, sample_weight=None):
        """Fit the model to X, y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data. float32 stays float32 and float64 stays float64; any
            other numeric dtype (bool, integers, float16) is converted to float64;
            strings, complex numbers and other non-numbers are refused. A
            C-contiguous float array (read-only or memory-mapped included) is used
            without a copy; a Fortran-ordered or strided one is copied once.
        y : array-like of shape (n_samples,)
            Two distinct labels, all numbers or all strings.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative, finite weights, not all zero, with a finite sum; a
            scalar is used for every row.

        Returns
        -------
        self : LogisticRegression
            The fitted estimator.

        Raises
        ------
        ValueError
            For invalid parameters or data (the message names the problem; see the
            README's "Input contract"), including X so large that the automatic
            step size cannot be represented.
        TypeError
            For X or sample_weight whose dtype is not a number type (datetime,
            structured, objects that are not numbers) and for sparse X.
        FloatingPointError
            When the loss or a step becomes non-finite (a learning rate too large).
            The estimator is then left unfitted (no mix of old and new attributes).

        Warns
        -----
        ConvergenceWarning
            When ``max_iter`` epochs did not reach ``tol``, or, with ``C=np.inf``,
            when the data are linearly separable (then no minimum exists). Neither
            is raised with ``tol=0``, which asks for ``max_iter`` epochs.
        """
        self._validate_params()
        X, y01, sample_weight = self._validate_inputs(X, y, sample_weight)
        alpha = 0.0 if np.isinf(self.C) else 1.0 / self.C
        alpha_l1, alpha_l2 = alpha * self.l1_ratio, alpha * (1.0 - self.l1_ratio)

        if self.learning_rate == "auto":
            bound = _solvers.lipschitz_bound(X, sample_weight, self.fit_intercept, alpha_l2)
            if not np.isfinite(bound):
                raise ValueError(
                    f"X has values so large that the step-size bound (the sum of the "
                    f"squared row norms) overflows {X.dtype}; rescale X (e.g. "
                    f"sklearn.preprocessing.StandardScaler)")
            learning_rate = 1.0 / bound if bound > 0 else 1.0
        else:
            learning_rate = float(self.learning_rate)

        result = _solvers.gradient_descent(
            X, y01, sample_weight, np.zeros(X.shape[1], dtype=X.dtype), 0.0,
            learning_rate=learning_rate, alpha_l2=alpha_l2, alpha_l1=alpha_l1,
            fit_intercept=self.fit_intercept, max_iter=self.max_iter, tol=self.tol,
            n_threads=_n_threads(self.n_jobs),
        )
        self._store_result(result, X.dtype, learning_rate)
        return self

    def _validate_inputs(self, X, y, sample_weight):
        """Return C-contiguous float X, y as 0.0/1.0 in X's dtype, and weights.

        The README's "Input contract" lists what is refused and with which message;
        scikit-learn's ``validate_data`` does most of it, ``_validation`` the rest.
        """
        X = _validation.check_numeric(X, "X")
        _validation.check_label_types(y)
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], order="C",
                             ensure_min_samples=1)
        check_classification_targets(y)
        self.classes_, y_index = np.unique(y, return_inverse=True)
        if self.classes_.size != 2:
            raise ValueError(
                f"clogreg.LogisticRegression is binary: y must hold exactly 2 classes, "
                f"got {self.classes_.size} ({self.classes_[:5].tolist()}"
                f"{'...' if self.classes_.size > 5 else ''})")
        y01 = y_index.astype(X.dtype)
        sample_weight = _validation.check_sample_weight(sample_weight, X.shape[0], X.dtype)
        return X, y01, sample_weight

    def _store_result(self, result, dtype, learning_rate):
        if result.status == _kernel.Status.STATUS_NONFINITE:
            self._forget_fit()
            raise FloatingPointError(
                f"the loss or the update became non-finite at epoch {result.n_iter} "
                f"with learning_rate={learning_rate:g}: the step is too large for this "
                f"data (try learning_rate='auto' or a smaller value, or rescale X)")
        if self.tol > 0 and np.isinf(self.C) and np.any(result.accuracy == 100.0):
            # An iterate that classifies every row correctly certifies that the data
            # are linearly separable: without a penalty the loss then has no minimum.
            # (tol=0 asks for max_iter epochs, not a minimum: no warning, as below.)
            warnings.warn(
                f"the training data are linearly separable: with C=np.inf the loss has "
                f"no minimum and the coefficients would grow without bound; stopped "
                f"after {result.n_iter} epochs with finite coefficients whose size is "
                f"set by tol and max_iter (use a finite C)",
                ConvergenceWarning, stacklevel=3)
        elif result.status == _kernel.Status.STATUS_MAX_ITER and self.tol > 0:
            warnings.warn(
                f"gradient descent did not reach tol={self.tol:g} in max_iter="
                f"{self.max_iter} epochs; increase max_iter or rescale X",
                ConvergenceWarning, stacklevel=3)
        self.coef_ = result.coef.reshape(1, -1)
        self.intercept_ = np.array([result.intercept], dtype=dtype)
        self.n_iter_ = np.array([result.n_iter], dtype=np.int32)
        self.history_ = {"loss": result.loss, "accuracy": result.accuracy}
        if self.verbose:
            for k, (loss, acc) in enumerate(zip(result.loss, result.accuracy)):
                print(f"Epoch: {k} | Accuracy: {acc:.4f} | Cost: {loss:.4f}")

    def _forget_fit(self):
        """Drop every fitted attribute, so that a failed fit leaves no mixed state."""
        for name in [v for v in vars(self) if v.endswith("_") and not v.startswith("__")]:
            delattr(self, name)

    def __sklearn_is_fitted__(self):
        # Fitted means coefficients exist; a fit that failed after validation may have
        # set classes_ or n_features_in_ alone, and predict must then say "not fitted".
        return hasattr(self, "coef_")

    # ------------------------------------------------------------ predict
    def decision_function(self, X):
        """Signed distance to the decision boundary, ``X @ coef_.T + intercept_``.

        X is checked as in ``fit`` (strings and other non-numbers are refused), then
        by scikit-learn (NaN, inf, number of features).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        return super().decision_function(_validation.check_numeric(X, "X"))

    def predict_proba(self, X):
        """Probability of each class, shape (n_samples, 2), columns as ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, 2)
        """
        p1 = expit(self.decision_function(X))
        return np.column_stack([1.0 - p1, p1])

    def predict_log_proba(self, X):
        """Log of ``predict_proba``, computed stably (no log(0) for large |z|).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, 2)
        """
        z = self.decision_function(X)
        # log sigmoid(z) = -log(1 + exp(-z)); logaddexp never overflows
        return np.column_stack([-np.logaddexp(0.0, z), -np.logaddexp(0.0, -z)])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def _more_tags(self):  # scikit-learn < 1.6
        return {"binary_only": True}


def _n_threads(n_jobs):
    """Map scikit-learn's n_jobs convention to a thread count >= 1."""
    if n_jobs is None:
        return 1
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None, a positive count or -1")
    cpus = os.cpu_count() or 1
    return n_jobs if n_jobs > 0 else max(1, cpus + 1 + n_jobs)
