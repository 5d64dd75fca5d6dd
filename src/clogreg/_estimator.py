"""The scikit-learn estimator: parameters, validation, labels, dtype, solver choice.

Where things happen, in order of a call to ``fit``:

1. ``_validate_params`` checks the constructor arguments (``_parameter_constraints``)
   and ``_check_solver`` the combinations a solver does not support.
2. ``_validate_inputs`` checks X, y and sample_weight with scikit-learn's utilities,
   keeps float32 as float32, encodes the labels (0.0 / 1.0 for two classes, class
   indices for more) and folds ``class_weight`` into the sample weights.
3. ``_run_solver`` picks the solver (``"auto"``: ``_auto_solver``) and calls it in
   ``clogreg._solvers``, which calls the Cython kernel (``clogreg._kernel``).
4. ``_store_result`` turns the solver's stop reason into warnings or errors and sets
   the fitted attributes (``coef_``, ``intercept_``, ``n_iter_``, ``history_``).
"""
import os
import warnings
from numbers import Integral, Real

import numpy as np
from scipy.special import expit, log_softmax, softmax
from sklearn import get_config
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model._base import LinearClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from . import _solvers, _validation
from ._inference import InferenceMixin  # issue 15: statistical inference

SOLVERS = ("auto", "gd", "sgd", "lbfgs", "newton")
#: With an L1 part, "auto" uses proximal Newton for binary problems up to this many
#: features (its Hessian costs O(n d^2) a pass), gradient descent above.
AUTO_NEWTON_MAX_FEATURES = 200


class LogisticRegression(InferenceMixin, LinearClassifierMixin, BaseEstimator):  # issue 15
    """Logistic regression (binary or multinomial) trained by a Cython kernel.

    Minimises scikit-learn's summed objective::

        sum_i s_i * logloss(y_i, x_i @ W.T + b) + (1 - l1_ratio) / (2 C) * ||W||^2
                                                + l1_ratio / C * ||W||_1

    where ``s_i`` is the sample weight times the class weight; the intercept ``b`` is
    never penalised and ``C=np.inf`` means no penalty. Two classes train the binary
    model (``coef_`` of shape (1, n_features)); three or more the multinomial
    (softmax) model (``coef_`` of shape (n_classes, n_features)).

    Parameters
    ----------
    C : float, default=1.0
        Inverse regularisation strength, > 0. ``np.inf`` switches the penalty off.
    l1_ratio : float in [0, 1], default=0.0
        Share of the penalty that is L1 (0: pure L2, 1: pure L1).
    solver : {"auto", "gd", "sgd", "lbfgs", "newton"}, default="auto"
        - ``"gd"``: full-batch gradient descent, the tutorial's algorithm, all epochs
          inside the kernel; L1 by a proximal (soft-threshold) step. Any problem.
        - ``"sgd"``: mini-batch stochastic gradient descent on the mean objective
          (rows reshuffled every epoch by a small C generator seeded from
          ``random_state``; ``batch_size``, ``learning_rate``, ``lr_schedule``), all
          epochs inside the kernel; L1 by a proximal step. Any problem. Also what
          ``partial_fit`` runs, whatever ``solver`` says.
        - ``"lbfgs"``: SciPy's L-BFGS-B on the kernel's fused loss + gradient pass,
          in internally standardised coordinates (X is neither copied nor changed),
          scaled so that its first step is a Newton step. L2 or no penalty only.
        - ``"newton"``: Newton / IRLS with the Hessian accumulated in one
          cache-blocked pass; with L1, a proximal Newton step solved by coordinate
          descent (glmnet / newGLMNET). Near the optimum a costly Hessian is reused
          for several steps (chord steps). Binary problems only; a fresh Hessian
          costs O(n d^2), for moderate n_features.
        - ``"auto"``: ``"lbfgs"`` for L2 or no penalty (in benchmarks/
          bench_solvers.py the fastest to a 1e-8 objective gap on well-conditioned
          data, and robust to badly scaled features); with an L1 part, ``"newton"``
          for binary problems with at most ``AUTO_NEWTON_MAX_FEATURES`` (200)
          features, else ``"gd"``. The choice is stored in ``solver_``.
    learning_rate : "auto" or float > 0, default="auto"
        ``"gd"``: the step applied to the gradient of the summed objective; ``"auto"``
        uses ``1/L`` for the gradient's Lipschitz constant ``L`` (exact largest
        eigenvalue of the Gram matrix up to 1,000 features, a Frobenius-norm bound
        above: ``clogreg._solvers.lipschitz_bound``); it converges without tuning,
        but can be slow on badly conditioned data. A number is used as given: with
        summed gradients a good step shrinks as the number of rows grows.
        ``"sgd"``: the first step on the *mean* objective; ``"auto"`` is ``1/L_max``
        for the largest per-row Lipschitz constant (scikit-learn's SAG step).
    batch_size : int >= 1, default=256
        ``"sgd"`` and ``partial_fit``: rows per mini-batch.
    lr_schedule : {"invscaling", "constant"}, default="invscaling"
        ``"sgd"`` and ``partial_fit``: ``"invscaling"`` decays the step as
        ``learning_rate / sqrt(1 + epochs seen)``; ``"constant"`` keeps it.
    max_iter : int >= 1, default=100
        Maximum number of iterations (epochs for ``"gd"``).
    tol : float >= 0, default=1e-4
        Stop once the max-norm of the gradient of the *mean* objective (the summed
        one divided by the sum of the sample weights) is <= tol; with L1 the
        proximal gradient mapping (``"gd"``) or the minimum-norm subgradient
        (``"newton"``) stands for the gradient. ``"lbfgs"`` also stops when the
        objective's relative decrease falls below 64 machine epsilons, as
        scikit-learn's. ``"sgd"`` uses scikit-learn's SGD rule instead: stop when the
        epoch's mean loss has not improved by tol for 5 epochs in a row.
        ``tol=0`` with ``"gd"`` or ``"sgd"`` runs all ``max_iter`` epochs.
    fit_intercept : bool, default=True
        Whether to fit an (unpenalised) intercept.
    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into the sample weights; ``"balanced"`` uses
        ``n_samples / (n_classes * np.bincount(y))``.
    warm_start : bool, default=False
        Start from the previous fit's ``coef_`` and ``intercept_`` when their shapes
        fit the new data.
    verbose : int, default=0
        ``verbose >= 1`` prints the tutorial's line per iteration after fitting:
        ``Epoch: k | Accuracy: a | Cost: c``.
    random_state : int, RandomState instance or None, default=None
        Seeds the row shuffling of ``"sgd"`` and ``partial_fit``; the other solvers
        are deterministic and ignore it.
    n_jobs : int or None, default=None
        Threads for the passes over the data (OpenMP over fixed row chunks, so the
        result is bit-identical for any value; ``"newton"``'s Hessian pass is
        serial). ``None`` means 1, ``-1`` all CPUs.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels; for two classes ``classes_[1]`` is the positive class.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients, in the dtype of X (float32 or float64).
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts (0.0 when ``fit_intercept=False``).
    n_iter_ : ndarray of shape (1,)
        Number of iterations run.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X had string column names (a pandas DataFrame).
    solver_ : str
        The solver that ran (``"auto"`` resolved).
    stop_reason_ : str
        ``"converged"``, ``"max_iter"`` or ``"line_search"`` (no further decrease
        possible in floating point: at the optimum to machine precision).
    history_ : dict of ndarray
        ``"loss"``: the objective (the tutorial's "Cost" when ``C=np.inf``),
        ``"accuracy"``: the training accuracy in percent, ``"grad_norm"``: the
        quantity compared with ``tol``; entry ``k`` measured at the parameters
        entering iteration ``k``.

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
    >>> clf = LogisticRegression(C=10.0).fit(X, y)
    >>> clf.predict([[-3.0], [3.0]]).tolist()
    ['no', 'yes']
    >>> clf.solver_, clf.stop_reason_
    ('lbfgs', 'converged')
    >>> bool(clf.history_["loss"][0] == 4 * np.log(2))
    True
    """

    _parameter_constraints = {
        "C": [Interval(Real, 0, None, closed="right")],
        "l1_ratio": [Interval(Real, 0, 1, closed="both")],
        "solver": [StrOptions(set(SOLVERS))],
        "learning_rate": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "lr_schedule": [StrOptions({"invscaling", "constant"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "fit_intercept": ["boolean"],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
        "n_jobs": [None, Integral],
    }

    def __init__(self, C=1.0, *, l1_ratio=0.0, solver="auto", learning_rate="auto",
                 batch_size=256, lr_schedule="invscaling", max_iter=100, tol=1e-4,
                 fit_intercept=True, class_weight=None, warm_start=False, verbose=0,
                 random_state=None, n_jobs=None):
        self.C = C
        self.l1_ratio = l1_ratio
        self.solver = solver
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.lr_schedule = lr_schedule
        self.max_iter = max_iter
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.class_weight = class_weight
        self.warm_start = warm_start
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
            Labels of any type, all numbers or all strings; at least two distinct.
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
            README's "Input contract"), an option the solver does not support, or
            X so large that the automatic step size cannot be represented.
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
        for streaming_state in ("_partial_classes", "_sgd_state"):  # fit starts afresh
            self.__dict__.pop(streaming_state, None)
        X, y_enc, sample_weight, stats = self._validate_inputs(X, y, sample_weight)
        n_out = 1 if self.classes_.size == 2 else self.classes_.size
        solver = self._check_solver(n_out, X.shape[1])
        alpha = 0.0 if np.isinf(self.C) else 1.0 / self.C
        alpha_l1, alpha_l2 = alpha * self.l1_ratio, alpha * (1.0 - self.l1_ratio)

        coef = np.zeros((n_out, X.shape[1]), dtype=X.dtype)
        intercept = np.zeros(n_out)
        if self.warm_start and getattr(self, "coef_", None) is not None \
                and self.coef_.shape == coef.shape:
            coef[:] = self.coef_
            intercept[:] = self.intercept_

        n_threads = _n_threads(self.n_jobs)
        learning_rate = None
        if solver == "gd":
            learning_rate = self._gd_learning_rate(X, sample_weight, alpha_l2, n_out)
            result = _solvers.gradient_descent(
                X, y_enc, sample_weight, coef, intercept, learning_rate=learning_rate,
                alpha_l2=alpha_l2, alpha_l1=alpha_l1, fit_intercept=self.fit_intercept,
                max_iter=self.max_iter, tol=self.tol, n_threads=n_threads)
        else:
            # one pass (gd's bound does the same check); lbfgs reuses its column sums
            stats = _solvers.check_scale(X, sample_weight, n_threads, stats,
                                         y_enc if n_out == 1 else None)
            problem = _solvers.Problem(X, y_enc, sample_weight, n_out, self.fit_intercept,
                                       alpha_l2, alpha_l1, n_threads, stats)
            if solver == "sgd":
                self._sgd_state = _solvers.SGDState(self._seed())
                result, learning_rate = self._run_sgd(problem, coef, intercept,
                                                      self.max_iter)
            else:
                run = _solvers.lbfgs if solver == "lbfgs" else _solvers.newton
                result = run(problem, coef, intercept, max_iter=self.max_iter,
                             tol=self.tol)
        self.solver_ = solver
        self._store_result(result, X.dtype, learning_rate)
        return self

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch of mini-batch SGD on (X, y), continuing from the current model.

        For data that arrive in pieces or do not fit in memory: every call makes one
        shuffled pass over the rows given, with ``batch_size``, ``learning_rate``
        and ``lr_schedule`` (the step schedule continues across calls), whatever
        ``solver`` is set to. ``max_iter`` and ``tol`` are not used.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            All the labels that will ever be seen; required on the first call,
            ignored (but checked if given) afterwards.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : LogisticRegression
        """
        first = not hasattr(self, "coef_")  # else: continue from fit or partial_fit
        if first:
            self._validate_params()
            if classes is None:
                raise ValueError("classes must be given on the first call to partial_fit")
            self._partial_classes = np.unique(classes)
        else:
            if classes is not None and not np.array_equal(np.unique(classes),
                                                          self.classes_):
                raise ValueError(f"classes {np.unique(classes).tolist()} differ from "
                                 f"the ones fitted before: {self.classes_.tolist()}")
            self._partial_classes = self.classes_
        X, y_enc, sample_weight, _ = self._validate_inputs(X, y, sample_weight,
                                                           reset=first)
        n_out = 1 if self.classes_.size == 2 else self.classes_.size
        alpha = 0.0 if np.isinf(self.C) else 1.0 / self.C
        problem = _solvers.Problem(X, y_enc, sample_weight, n_out, self.fit_intercept,
                                   alpha * (1.0 - self.l1_ratio), alpha * self.l1_ratio,
                                   _n_threads(self.n_jobs))
        if not hasattr(self, "_sgd_state"):
            self._sgd_state = _solvers.SGDState(self._seed())
        if first:
            coef, intercept = np.zeros((n_out, X.shape[1]), X.dtype), np.zeros(n_out)
            epochs = 0
        else:
            coef, intercept = self.coef_.astype(X.dtype), self.intercept_
            epochs = int(self.n_iter_[0])
        history = None if first else self.history_
        result, learning_rate = self._run_sgd(problem, coef, intercept, 1, tol=0.0)
        result.n_iter += epochs
        if history is not None:
            for key, new in (("loss", result.loss), ("accuracy", result.accuracy),
                             ("grad_norm", result.grad_norm)):
                setattr(result, key, np.concatenate([history[key], new]))
        self.solver_ = "sgd"
        self._store_result(result, X.dtype, learning_rate, warn=False)
        return self

    def _run_sgd(self, problem, coef, intercept, max_iter, tol=None):
        if self.learning_rate == "auto":
            eta0 = _solvers.sgd_step_bound(problem)
        else:
            eta0 = float(self.learning_rate)
        result = _solvers.sgd(
            problem, coef, intercept, state=self._sgd_state, eta0=eta0,
            power_t=0.5 if self.lr_schedule == "invscaling" else 0.0,
            batch_size=self.batch_size, max_iter=max_iter,
            tol=self.tol if tol is None else tol)
        return result, eta0

    def _seed(self):
        """A nonzero 63-bit seed for the kernel's generator, from random_state."""
        return int(check_random_state(self.random_state).randint(1, 2**62)) | 1

    def _check_solver(self, n_out, n_features):
        """Resolve "auto" and refuse what the chosen solver cannot do."""
        has_l1 = self.l1_ratio > 0 and not np.isinf(self.C)
        solver = self.solver
        if solver == "auto":
            if not has_l1:
                solver = "lbfgs"
            elif n_out == 1 and n_features <= AUTO_NEWTON_MAX_FEATURES:
                solver = "newton"
            else:
                solver = "gd"
        if solver == "lbfgs" and has_l1:
            raise ValueError(
                f"solver='lbfgs' supports only L2 or no penalty, got l1_ratio="
                f"{self.l1_ratio}; use solver='newton' (binary) or solver='gd', "
                f"which handle L1 and elastic-net")
        if solver == "newton" and n_out > 1:
            raise ValueError(
                f"Only binary classification is supported by solver='newton', got "
                f"{self.classes_.size} classes; use solver='lbfgs' or solver='gd'")
        if solver not in ("gd", "sgd") and self.learning_rate != "auto":
            raise ValueError(
                f"learning_rate={self.learning_rate!r} applies to solver='gd' or 'sgd' "
                f"only (solver={solver!r} chooses its own steps)")
        return solver

    def _gd_learning_rate(self, X, sample_weight, alpha_l2, n_out):
        if self.learning_rate != "auto":
            return float(self.learning_rate)
        bound = _solvers.lipschitz_bound(X, sample_weight, self.fit_intercept, alpha_l2,
                                         n_out)
        if not np.isfinite(bound):
            raise ValueError(_solvers._scale_message(X.dtype))
        return 1.0 / bound if bound > 0 else 1.0

    def _validate_inputs(self, X, y, sample_weight, reset=True):
        """Return C-contiguous float X, encoded y in X's dtype, and weights.

        y becomes 0.0 / 1.0 for two classes and class indices for more; the sample
        weights include the class weights (an empty array: all ones). The README's
        "Input contract" lists what is refused and with which message; scikit-learn's
        ``validate_data`` does most of it, ``_validation`` the rest.
        """
        X = _validation.check_numeric(X, "X")
        _validation.check_label_types(y)
        passes = _passes_unchanged(X, y)
        if passes:
            # scikit-learn's checks would return X and y as they are: run only its
            # bookkeeping (n_features_in_, feature_names_in_). Saves ~150 us a fit.
            X, y = validate_data(self, X, y, skip_check_array=True, reset=reset)
        else:
            X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], order="C",
                                 ensure_min_samples=1, reset=reset)
            check_classification_targets(y)
        if not X.flags.aligned:
            # a view into a byte buffer: BLAS takes other code paths on unaligned
            # memory (last-bit differences), so one aligned copy keeps every result
            # independent of where X sits in memory
            X = X.copy()
        if hasattr(self, "_partial_classes"):  # partial_fit: the classes given up front
            self.classes_ = self._partial_classes
            y_index = np.searchsorted(self.classes_, y)
            unknown = (y_index >= self.classes_.size) | \
                (self.classes_[np.minimum(y_index, self.classes_.size - 1)] != y)
            if np.any(unknown):
                raise ValueError(f"y holds labels not in classes: "
                                 f"{np.unique(np.asarray(y)[unknown])[:5].tolist()}")
            y_enc = y_index.astype(X.dtype)
        else:
            self.classes_, y_enc = _encode_labels(y, X.dtype)
        stats = None
        if passes and not get_config()["assume_finite"]:
            # scikit-learn's finiteness test, fused with the column sums the solvers
            # reuse (and, for two classes, the label sums that give the gradient at
            # w = 0): one kernel pass in place of NumPy's X.sum()
            binary = y_enc if self.classes_.size == 2 else None
            stats = _solvers.column_stats(X, np.empty(0, X.dtype), _n_threads(self.n_jobs),
                                          binary)
            if not stats.finite():
                # NaN or inf in X: scikit-learn's own check and message. (Finite values
                # whose sums overflow pass it; the solvers' scale check reports them.)
                validate_data(self, X, y, dtype=[np.float64, np.float32], order="C",
                              ensure_min_samples=1, reset=reset)
                stats = None
        if self.classes_.size < 2:
            raise ValueError(
                f"y must hold at least 2 classes; got 1 class: {self.classes_.tolist()}")
        sample_weight = _validation.check_sample_weight(sample_weight, X.shape[0], X.dtype)
        if self.class_weight is not None:
            given = sample_weight if sample_weight.size else None
            try:  # scikit-learn >= 1.7 weights "balanced" by the sample weights
                per_class = compute_class_weight(self.class_weight, classes=self.classes_,
                                                 y=y, sample_weight=given)
            except TypeError:
                per_class = compute_class_weight(self.class_weight, classes=self.classes_,
                                                 y=y)
            weights = per_class[y_enc.astype(np.intp)].astype(X.dtype)
            sample_weight = sample_weight * weights if sample_weight.size else weights
            if not np.any(sample_weight > 0):
                raise ValueError("sample_weight times class_weight is zero for every row")
        # X's column stats, where computed for all-ones weights, for the solvers
        return X, y_enc, sample_weight, (None if sample_weight.size else stats)

    def _store_result(self, result, dtype, learning_rate, warn=True):
        if result.stop_reason == "nonfinite":
            self._forget_fit()
            step = "" if learning_rate is None else f" with learning_rate={learning_rate:g}"
            raise FloatingPointError(
                f"the loss or the update became non-finite at iteration "
                f"{result.n_iter}{step}: the step is too large for this data "
                f"(try learning_rate='auto' or a smaller value, or rescale X)")
        if self.tol > 0 and warn and np.isinf(self.C) and self.solver_ != "sgd" \
                and np.any(result.accuracy == 100.0):
            # An iterate that classifies every row correctly certifies that the data
            # are linearly separable: without a penalty the loss then has no minimum.
            # (tol=0 asks for max_iter epochs, not a minimum: no warning. SGD's
            # accuracy mixes several iterates, so it certifies nothing.)
            warnings.warn(
                f"the training data are linearly separable: with C=np.inf the loss has "
                f"no minimum and the coefficients would grow without bound; stopped "
                f"after {result.n_iter} iterations with finite coefficients whose size "
                f"is set by tol and max_iter (use a finite C)",
                ConvergenceWarning, stacklevel=3)
        elif result.stop_reason == "max_iter" and self.tol > 0 and warn:
            warnings.warn(
                f"solver={self.solver_!r} did not reach tol={self.tol:g} in max_iter="
                f"{self.max_iter} iterations; increase max_iter or rescale X",
                ConvergenceWarning, stacklevel=3)
        self.coef_ = result.coef
        self.intercept_ = result.intercept.astype(dtype)
        self.n_iter_ = np.array([result.n_iter], dtype=np.int32)
        self.stop_reason_ = result.stop_reason
        self.history_ = {"loss": result.loss, "accuracy": result.accuracy,
                         "grad_norm": result.grad_norm}
        if self.verbose:
            for k, (loss, acc) in enumerate(zip(result.loss, result.accuracy)):
                print(f"Epoch: {k} | Accuracy: {acc:.4f} | Cost: {loss:.4f}")

    def _validate_params(self):
        """scikit-learn's parameter validation (``InvalidParameterError``), skipped
        when every parameter is a number, bool, string or None of the same type and
        value as at the last validation that passed (saves ~40 us a fit)."""
        values = tuple((type(v), v) for v in
                       (getattr(self, name) for name in self._parameter_constraints))
        if values == self.__dict__.get("_validated_params") and all(
                t in (bool, int, float, str, type(None)) for t, _ in values):
            return
        super()._validate_params()
        self._validated_params = values

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
        """Probability of each class, shape (n_samples, n_classes), as ``classes_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        z = self.decision_function(X)
        if z.ndim == 1:
            p1 = expit(z)
            return np.column_stack([1.0 - p1, p1])
        return softmax(z, axis=1)

    def predict_log_proba(self, X):
        """Log of ``predict_proba``, computed stably (no log(0) for large |z|).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        z = self.decision_function(X)
        if z.ndim == 1:  # log sigmoid(z) = -log(1 + exp(-z)); logaddexp never overflows
            return np.column_stack([-np.logaddexp(0.0, z), -np.logaddexp(0.0, -z)])
        return log_softmax(z, axis=1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = self.solver != "newton"  # binary Newton only
        return tags


def _encode_labels(y, dtype):
    """Return ``np.unique(y)`` and y as class indices (0.0 / 1.0 for two) in ``dtype``.

    Numeric y with exactly two values is encoded without sorting a copy (as
    ``np.unique(y, return_inverse=True)`` does, ~30 bytes a row): min, max and
    comparisons need 2 bytes a row, besides the encoded labels themselves.
    """
    if y.dtype.kind in "biuf" and y.size:
        lo, hi = y.min(), y.max()
        is_hi = y == hi
        if lo != hi and np.count_nonzero(is_hi) + np.count_nonzero(y == lo) == y.size:
            return np.array([lo, hi], dtype=y.dtype), is_hi.astype(dtype)
    classes, y_index = np.unique(y, return_inverse=True)
    return classes, y_index.astype(dtype)


def _passes_unchanged(X, y):
    """Whether ``validate_data`` + ``check_classification_targets`` would accept X, y
    and return them unchanged, finiteness of X aside (checked in microseconds).

    True for a C-contiguous float64 or float32 ndarray X with at least one row and one
    column, and a 1-D ndarray y of integers, booleans or strings of the same length
    (never a "continuous" or multi-output target). Everything else, including every
    input that must be converted, warned about or refused, is left to scikit-learn's
    validation and its messages. Whether X is finite is tested by the kernel pass of
    `clogreg._solvers.column_stats` (in ``_validate_inputs``), whose sums the solvers
    reuse; NaN or inf there sends X through scikit-learn's check after all.
    """
    return (type(X) is np.ndarray and type(y) is np.ndarray
            and X.ndim == 2 and y.ndim == 1 and X.shape[0] == y.shape[0]
            and X.shape[0] >= 1 and X.shape[1] >= 1
            and X.dtype in (np.float64, np.float32) and X.flags.c_contiguous
            and y.dtype.kind in "biuU")


def _n_threads(n_jobs):
    """Map scikit-learn's n_jobs convention to a thread count >= 1."""
    if n_jobs is None:
        return 1
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None, a positive count or -1")
    cpus = os.cpu_count() or 1
    return n_jobs if n_jobs > 0 else max(1, cpus + 1 + n_jobs)
