"""The scikit-learn estimator: parameters, and fit = validate -> objective -> solve -> store.

Where things happen, in order of a call to ``fit``:

1. ``_validate_params`` checks the constructor arguments (``_parameter_constraints``);
   `clogreg._validation.fit_data` checks X, y and the weights, keeps float32 as
   float32, encodes the labels and folds ``class_weight`` into the sample weights.
2. `clogreg._objective.LogisticObjective` over `clogreg._rows.DenseRows`: the
   objective, the only thing that reads the data.
3. `clogreg._solvers.check_solver` resolves ``"auto"``; `clogreg._solvers.solve` runs
   the solver on the objective.
4. ``_store`` turns the stop reason into warnings or errors and sets every fitted
   attribute at once; a fit that raises leaves the estimator unfitted
   (``_transaction``).
"""
import copy
from numbers import Integral, Real

import numpy as np
from scipy.sparse import issparse
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from . import _firth, _progress, _solvers, _validation
from ._base import FitTransactionMixin
from ._inference import InferenceMixin
from ._objective import LogisticObjective, penalty_strengths
from ._predict import LogisticPredictMixin
from ._rows import DenseRows
from ._rows_sparse import SparseRows
from ._solvers import AUTO_NEWTON_MAX_FEATURES, NEWTON_L1_MAX_FEATURES, SOLVERS  # noqa: F401


class LogisticRegression(InferenceMixin, FitTransactionMixin, LogisticPredictMixin,
                         _progress.CallbackSupportMixin, BaseEstimator):
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
          for several steps (chord steps). A fresh binary Hessian costs O(n d^2),
          for moderate n_features. On sparse X with L2 or no penalty it runs as
          trust-region Newton-CG (LIBLINEAR's TRON: Hessian-vector products, one
          pass each, no d x d Hessian); with L1 its coordinate descent reads the
          columns of X (a CSC copy) and forms no Hessian (newGLMNET), for any
          n_features. Multinomial problems: proximal Newton on the whole softmax
          Hessian, by coordinate descent over X's columns (a CSC copy); on dense X,
          once that crawls (collinear columns), the Hessian over the working set is
          formed (up to 1,000 coefficients) and the step solved by Cholesky, or by
          coordinate descent and ADMM with L1.
        - ``"auto"``: ``"lbfgs"`` for L2 or no penalty (in benchmarks/
          bench_solvers.py the fastest to a 1e-8 objective gap on well-conditioned
          data, and robust to badly scaled features), except binary problems on
          dense X of at most ``clogreg._solvers._policy.AUTO_NEWTON_MAX_VALUES``
          (30,000) values, where ``"newton"`` is faster; with an L1 part, ``"newton"``
          for binary problems with at most
          ``clogreg._solvers.NEWTON_L1_MAX_FEATURES`` (2,000) features and no more
          features than rows (or at most 200), else ``"gd"``, and for every
          multinomial problem; on sparse X, binary: ``"newton"`` (Newton-CG for L2
          or none, coordinate descent without a Hessian for L1, any width). The
          choice is stored in ``solver_``.
    learning_rate : "auto" or float > 0, default="auto"
        ``"gd"``: the step applied to the gradient of the summed objective; ``"auto"``
        uses ``1/L`` for the gradient's Lipschitz constant ``L`` (exact largest
        eigenvalue of the Gram matrix up to 1,000 features, a Frobenius-norm bound
        above: ``LogisticObjective.lipschitz_bound``); it converges without tuning,
        but can be slow on badly conditioned data. A number is used as given: with
        summed gradients a good step shrinks as the number of rows grows.
        ``"sgd"``: the first step on the *mean* objective; ``"auto"`` is ``1/L_max``
        for the largest per-row Lipschitz constant (scikit-learn's SAG step). With
        ``"auto"`` and an L2 penalty the intercept, which is not penalised, steps by
        the data term's bound alone (a longer step), so that under a strong penalty
        it still reaches the log-odds of the base rate at the data's pace.
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
        ``verbose >= 1`` prints the tutorial's line ``Epoch: k | Accuracy: a |
        Cost: c`` as each iteration ends (live, also for ``"gd"`` and ``"sgd"``,
        whose epochs run inside the kernel). For a progress bar, scikit-learn >= 1.9's
        experimental callbacks: ``set_callbacks(sklearn.callback.ProgressBar())``
        (needs ``rich``); one task per iteration.
    random_state : int, RandomState instance or None, default=None
        Seeds the row shuffling of ``"sgd"`` and ``partial_fit``; the other solvers
        are deterministic and ignore it.
    n_jobs : int or None, default=None
        Threads for the passes over the data (OpenMP over fixed row chunks, so the
        result is bit-identical for any value; ``"newton"``'s Hessian pass is
        serial). ``None`` means 1, ``-1`` all CPUs available to the process;
        larger counts are capped at that number.
    firth : bool, default=False
        Fit Firth's bias-reduced model instead (penalised likelihood with Jeffreys
        prior, Heinze & Schemper 2002, as R's logistf): finite estimates under
        separation and less small-sample bias. Binary only, with ``C=np.inf``;
        ``solver_`` is then ``"firth"``. Profile-likelihood intervals:
        `clogreg.FirthLogisticRegression`.

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
    >>> clf.solver_, clf.stop_reason_  # "auto": Newton on a small binary problem
    ('newton', 'converged')
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
        "firth": ["boolean"],
    }

    _integer_params = ("max_iter", "batch_size", "n_jobs")

    def __init__(self, C=1.0, *, l1_ratio=0.0, solver="auto", learning_rate="auto",
                 batch_size=256, lr_schedule="invscaling", max_iter=100, tol=1e-4,
                 fit_intercept=True, class_weight=None, warm_start=False, verbose=0,
                 random_state=None, n_jobs=None, firth=False):
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
        self.firth = firth

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, sample_weight=None):
        """Fit the model to X, y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, dense or ``scipy.sparse`` (CSR used as it is, other
            formats converted to CSR once). float32 stays float32 and float64 stays float64; any
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
            structured, objects that are not numbers).
        FloatingPointError
            When the loss or a step becomes non-finite (a learning rate too large).
        RuntimeError
            When this estimator is already being fitted in another thread.
        KeyboardInterrupt
            Ctrl-C (SIGINT) stops any solver within about one pass over the data.

        Whatever the exception, the estimator is then left unfitted (no mix of old
        and new attributes).

        Warns
        -----
        ConvergenceWarning
            When ``max_iter`` epochs did not reach ``tol``, or, with ``C=np.inf``,
            when the data are linearly separable (then no minimum exists). Neither
            is raised with ``tol=0``, which asks for ``max_iter`` epochs.
        """
        with self._transaction(keep_on_error=False):
            self._validate_params()
            self.__dict__.pop("_sgd_state", None)  # fit starts afresh
            data = self._fit_data(X, y, sample_weight)
            if self.firth:  # Firth's penalised likelihood: its own Newton iteration
                self.classes_ = data.classes
                _firth.fit_into(self, data.X, data.y, data.sample_weight)
                return self
            solver = _solvers.check_solver(
                self.solver, C=self.C, l1_ratio=self.l1_ratio,
                learning_rate=self.learning_rate, n_out=data.n_out,
                n_classes=data.classes.size, n_features=data.X.shape[1],
                n_samples=data.X.shape[0], sparse=issparse(data.X),
                multinomial_newton=True)
            objective = self._objective(data)
            if solver != "gd":  # gd's step-size bound makes the same check
                objective.check_scale()  # one pass; lbfgs and newton reuse its sums
            coef, intercept = self._start(data.n_out, data.X.shape[1], data.X.dtype)
            state = _solvers.SGDState(self._seed()) if solver == "sgd" else None
            with _progress.fit_progress(self, data.X, y, sample_weight) as progress:
                result = _solvers.solve(
                    objective, solver, coef, intercept, max_iter=self.max_iter,
                    tol=self.tol, learning_rate=self.learning_rate,
                    batch_size=self.batch_size, lr_schedule=self.lr_schedule,
                    sgd_state=state, progress=progress)
                self._store(result, data, solver, state)
        return self

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch of mini-batch SGD on (X, y), continuing from the current model.

        For data that arrive in pieces or do not fit in memory: every call makes one
        shuffled pass over the rows given, with ``batch_size``, ``learning_rate``
        and ``lr_schedule`` (the step schedule continues across calls), whatever
        ``solver`` is set to. ``max_iter`` and ``tol`` are not used. A call that
        raises leaves the estimator as it was.

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
        with self._transaction(keep_on_error=True):
            self._validate_params()  # on every call: set_params may have changed them
            first = not hasattr(self, "coef_")  # else: continue from fit or partial_fit
            if isinstance(self.class_weight, str):  # "balanced"
                raise ValueError(
                    "class_weight='balanced' needs the class counts of all the data, which "
                    "partial_fit never sees; pass a dict of weights (e.g. computed with "
                    "sklearn.utils.class_weight.compute_class_weight on all labels)")
            if first:
                if classes is None:
                    raise ValueError("classes must be given on the first call to "
                                     "partial_fit")
                known = _validation.check_partial_classes(classes)
            else:
                known = self.classes_
                if classes is not None and not np.array_equal(
                        _validation.check_partial_classes(classes), known):
                    raise ValueError(f"classes {np.unique(classes).tolist()} differ from "
                                     f"the ones fitted before: {known.tolist()}")
            data = self._fit_data(X, y, sample_weight, classes=known, reset=first)
            objective = self._objective(data, stats=False)
            old = self.__dict__.get("_sgd_state")
            # a copy: the kernel advances it in place, and a failed call changes nothing
            state = copy.deepcopy(old) if old is not None else _solvers.SGDState(self._seed())
            if first:
                coef, intercept = np.zeros((data.n_out, data.X.shape[1]), data.X.dtype), \
                    np.zeros(data.n_out)
            else:
                coef, intercept = self.coef_.astype(data.X.dtype), self.intercept_
            seen = 0 if first else int(self.n_iter_[0])
            with _progress.fit_progress(self, data.X, y, sample_weight,
                                        first=seen) as progress:
                result = _solvers.sgd(objective, coef, intercept, state=state,
                                      learning_rate=self.learning_rate,
                                      lr_schedule=self.lr_schedule,
                                      batch_size=self.batch_size, max_iter=1, tol=0.0,
                                      progress=progress)
                if not first:
                    result.n_iter += seen
                    for key in ("loss", "accuracy", "grad_norm"):
                        setattr(result, key, np.concatenate([self.history_[key],
                                                             getattr(result, key)]))
                self._store(result, data, "sgd", state, warn=False)
        return self

    def _fit_data(self, X, y, sample_weight, classes=None, reset=True):
        return _validation.fit_data(self, X, y, sample_weight, class_weight=self.class_weight,
                                    n_threads=_validation.n_threads(self.n_jobs),
                                    classes=classes, reset=reset)

    def _objective(self, data, stats=True):
        """The objective of the validated ``data`` under this estimator's penalty."""
        alpha_l2, alpha_l1 = penalty_strengths(self.C, self.l1_ratio)
        layout = SparseRows if issparse(data.X) else DenseRows
        rows = layout(data.X, data.y, data.sample_weight, data.n_out,
                      _validation.n_threads(self.n_jobs))
        return LogisticObjective(rows, self.fit_intercept, alpha_l2, alpha_l1,
                                 data.stats if stats else None)

    def _start(self, n_out, n_features, dtype):
        """The solver's starting ``(coef, intercept)``: zeros, or the previous fit's
        with ``warm_start`` when their shape fits (ValueError for non-finite ones)."""
        coef, intercept = np.zeros((n_out, n_features), dtype=dtype), np.zeros(n_out)
        if self.warm_start and getattr(self, "coef_", None) is not None \
                and self.coef_.shape == coef.shape:
            if not (np.isfinite(self.coef_).all() and np.isfinite(self.intercept_).all()):
                raise ValueError("warm_start=True, but coef_ or intercept_ holds NaN or "
                                 "inf; refit with warm_start=False")
            coef[:] = self.coef_
            intercept[:] = self.intercept_
        return coef, intercept

    def _seed(self):
        """A nonzero 63-bit seed for the kernel's generator, from random_state."""
        return int(check_random_state(self.random_state).randint(1, 2**62)) | 1

    def _store(self, result, data, solver, sgd_state, warn=True):
        """Set every fitted attribute from ``result``, or raise for a non-finite one."""
        if warn or result.stop_reason == _solvers.StopReason.NONFINITE:
            _solvers.check_result(result, solver=solver, tol=self.tol, C=self.C,
                                  max_iter=self.max_iter, stacklevel=4)
        fitted = {"classes_": data.classes, "coef_": result.coef,
                  "intercept_": result.intercept.astype(data.X.dtype),
                  "n_iter_": np.array([result.n_iter], dtype=np.int32),
                  "solver_": solver, "stop_reason_": result.stop_reason.value,
                  "history_": {"loss": result.loss, "accuracy": result.accuracy,
                               "grad_norm": result.grad_norm}}
        self.__dict__.update(fitted)
        if sgd_state is not None:
            self._sgd_state = sgd_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # binary only: Newton and Firth
        tags.classifier_tags.multi_class = not self.firth
        tags.input_tags.sparse = True
        return tags
