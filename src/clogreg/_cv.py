"""Cross-validated logistic regression: warm-started regularisation paths in threads.

Where things happen, in order of a call to ``LogisticRegressionCV.fit``:

1. ``_validate_params`` checks the constructor arguments, ``_grid`` the values of
   ``Cs`` and ``l1_ratios``.
2. X, y and sample_weight are checked once, as ``LogisticRegression`` checks them;
   the labels become class indices 0 .. n_classes - 1.
3. ``check_cv`` gives the folds (stratified for an integer ``cv``). A fold is a vector
   of training weights over *all* rows: the user's weight times the fold's class
   weight on its training rows, 0 on its held-out rows. X itself is never copied.
4. ``_path`` runs, per fold and l1_ratio, the fits of one ``clogreg.LogisticRegression``
   along Cs from the strongest penalty to the weakest, each warm-started from the last,
   on one objective (``_PathFits``: the column statistics and checks once per path,
   not once per fit). After each fit the held-out rows' decision values give the
   score; the solver's history gives the training objective. The paths run in a thread
   pool: the kernel releases the GIL. Once no path waits to start, the threads of the
   workers that have finished go to the passes of the paths still running.
5. The grid point with the best score summed over the folds is refitted on all rows.
"""
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral, Real

import numpy as np
from scipy.sparse import issparse
from scipy.special import logsumexp
from sklearn import config_context
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from . import _solvers, _validation
from ._estimator import LogisticRegression
from ._objective import LogisticObjective, penalty_strengths
from ._predict import LogisticPredictMixin
from ._rows import DenseRows
from ._rows_sparse import SparseRows

SOLVERS = ("auto", "gd", "sgd", "lbfgs", "newton")
#: Scores computed from the decision function itself, without a scorer object.
_FAST_SCORES = (None, "accuracy")
#: ``solver="auto"`` runs binary paths on dense X with at most this many values (and
#: at most AUTO_NEWTON_MAX_FEATURES features) with "newton" (`_path_solver`).
NEWTON_PATH_MAX_VALUES = 1_000_000
#: Below this many values of X (entries of a sparse X) the paths run one after the
#: other whatever ``n_jobs`` (569 x 30 from ``make_classification``, newton: 20 ms on
#: one thread, 27 ms on two; 2,000 x 30 broke even).
THREADS_MIN_VALUES = 100_000


class LogisticRegressionCV(LogisticPredictMixin, BaseEstimator):
    """Logistic regression with C (and l1_ratio) chosen by cross-validation.

    For every fold and every ``l1_ratio``, one ``clogreg.LogisticRegression`` runs along
    the grid of ``Cs`` from the strongest penalty (smallest C) to the weakest, each fit
    warm-started from the previous one. A fold's training rows are read in place: the
    fold is a vector of sample weights over all rows (0 on the held-out rows), so X is
    never copied; the extra memory is O(n_samples) per running fold plus O(n_features)
    per grid point. The folds run in parallel threads (the kernel releases the GIL),
    with bit-identical results for any ``n_jobs``. The grid point whose held-out score,
    summed over the folds, is best is then refitted on all rows (``refit=True``).

    The objective of every fit is ``clogreg.LogisticRegression``'s summed one, so C
    means what it means in scikit-learn's ``LogisticRegressionCV``.

    Parameters
    ----------
    Cs : int or array-like of float, default=10
        The grid of inverse regularisation strengths. An int ``k`` means
        ``np.logspace(-4, 4, k)``, as in scikit-learn. Values must be > 0
        (``np.inf``: no penalty). Each path runs through them in ascending order;
        ``Cs_`` and the result arrays keep the order given.
    l1_ratios : array-like of float in [0, 1] or None, default=None
        The shares of L1 in the penalty to try, one path per value; None means
        ``[0.0]`` (pure L2). An L1 part needs ``solver`` ``"auto"``, ``"newton"``
        (binary), ``"gd"`` or ``"sgd"``.
    cv : int, cross-validation generator or iterable, default=None
        As in scikit-learn (``check_cv``): None means 5 folds; an int gives
        ``StratifiedKFold`` (no shuffling).
    scoring : str, callable or None, default=None
        How held-out rows are scored (higher is better):

        - None: the negated mean log-loss (what ``"neg_log_loss"`` measures), computed
          from the decision function without clipping the probabilities;
        - ``"accuracy"``: computed from the decision function;
        - any other scikit-learn scorer name, or a callable ``scorer(estimator, X, y)``
          (``sklearn.metrics.check_scoring``). These are given a fitted
          ``clogreg.LogisticRegression`` and the held-out rows, which are then copied
          once per fold.

        Held-out scores are weighted by ``sample_weight`` (not by the class weights),
        as scikit-learn's ``LogisticRegressionCV`` does.
    refit : bool, default=True
        Refit the best grid point on all rows (warm-started from the mean of the
        folds' coefficients there). Otherwise ``coef_`` is the mean of the folds'
        coefficients at each fold's own best grid point, and ``C_`` / ``l1_ratio_``
        the means of those values, as in scikit-learn.
    solver : {"auto", "gd", "sgd", "lbfgs", "newton"}, default="auto"
        The solver of every fit (see ``clogreg.LogisticRegression``). ``"auto"`` is
        ``"newton"`` for binary problems on dense X with at most 200 features and at
        most 1e6 values (warm-started Newton needs one or two iterations a grid point),
        else as in ``clogreg.LogisticRegression``.
    tol : float >= 0, default=1e-4
        Tolerance of every fit (see ``clogreg.LogisticRegression``).
    max_iter : int >= 1, default=100
        Maximum iterations of every fit.
    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into the sample weights. ``"balanced"`` is
        computed per fold from that fold's training rows (and their sample weights),
        as ``GridSearchCV(LogisticRegression(class_weight="balanced"))`` does; the refit
        uses all rows. (scikit-learn's ``LogisticRegressionCV`` computes it once from
        all rows.)
    n_jobs : int or None, default=None
        Threads running the paths (``None``: 1, ``-1``: all CPUs); once no path waits
        to start, the threads of finished paths run the passes of those still running.
        Results are bit-identical for any value.
    random_state : int, RandomState instance or None, default=None
        Passed to every fit (it seeds ``"sgd"``'s shuffling); not used for the folds.
    fit_intercept : bool, default=True
        Whether to fit an (unpenalised) intercept.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels.
    Cs_ : ndarray of shape (n_cs,)
        The grid of C.
    l1_ratios_ : ndarray of shape (n_l1_ratios,)
        The grid of l1_ratio (``[0.0]`` when ``l1_ratios=None``).
    C_ : float
        The chosen C.
    l1_ratio_ : float
        The chosen l1_ratio.
    scores_ : ndarray of shape (n_folds, n_l1_ratios, n_cs)
        Held-out score of every fold and grid point.
    coefs_paths_ : ndarray of shape (n_folds, n_l1_ratios, n_cs, n_out, n_dof)
        Coefficients of every fold and grid point, the intercept last when
        ``fit_intercept`` (``n_dof = n_features + fit_intercept``); ``n_out`` is 1 for
        two classes, else n_classes.
    n_iter_ : ndarray of shape (n_folds, n_l1_ratios, n_cs)
        Iterations of every fit on the paths.
    path_objective_ : ndarray of shape (n_folds, n_l1_ratios, n_cs)
        The training objective (``clogreg.LogisticRegression``'s summed objective over
        the fold's training rows, with the penalty) at every grid point's solution.
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        Coefficients of the final model, in the dtype of X.
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Its intercepts.
    history_ : dict of ndarray
        The refit's ``history_`` (see ``clogreg.LogisticRegression``); only with
        ``refit=True``.
    solver_ : str
        The solver of the refit, or of the first path with ``refit=False``
        (``"auto"`` resolved; with ``"auto"`` it may differ between l1_ratios).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names, when X had string column names.

    Notes
    -----
    The fitted attributes follow the layout of scikit-learn's ``LogisticRegressionCV``
    with ``use_legacy_attributes=False`` (its default from scikit-learn 1.10).
    Differences: the default ``scoring`` is the log-loss (scikit-learn < 1.11:
    accuracy); ``"balanced"`` class weights are computed per fold; a fold whose
    training rows lack a class (with positive weight) is an error. Fits on the path that
    stop at ``max_iter`` give one ``ConvergenceWarning`` for the whole fit.
    On L1 paths with ``"newton"`` (``"auto"`` for binary problems with up to 2,000
    features and no more features than rows), each Newton step moves only a working
    set of coordinates: the nonzero ones and the violators of the optimality (KKT)
    conditions, checked at every iteration against the gradient of all coordinates;
    where consecutive grid points differ by less than a factor 2, a fit's first step
    adds glmnet's sequential strong set from the previous grid point. The Hessian is
    formed for the working set's columns only.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from clogreg import LogisticRegressionCV
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = LogisticRegressionCV(Cs=5, cv=3, max_iter=1000).fit(X, y)
    >>> clf.scores_.shape, clf.coefs_paths_.shape
    ((3, 1, 5), (3, 1, 5, 3, 5))
    >>> bool(clf.C_ in clf.Cs_), clf.predict(X[:2]).tolist()
    (True, [0, 0])
    """

    _parameter_constraints = {
        "Cs": [Interval(Integral, 1, None, closed="left"), "array-like"],
        "l1_ratios": ["array-like", None],
        "cv": ["cv_object"],
        "scoring": [str, callable, None],
        "refit": ["boolean"],
        "solver": [StrOptions(set(SOLVERS))],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "n_jobs": [None, Integral],
        "random_state": ["random_state"],
        "fit_intercept": ["boolean"],
    }

    def __init__(self, Cs=10, *, l1_ratios=None, cv=None, scoring=None, refit=True,
                 solver="auto", tol=1e-4, max_iter=100, class_weight=None, n_jobs=None,
                 random_state=None, fit_intercept=True):
        self.Cs = Cs
        self.l1_ratios = l1_ratios
        self.cv = cv
        self.scoring = scoring
        self.refit = refit
        self.solver = solver
        self.tol = tol
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.fit_intercept = fit_intercept

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, sample_weight=None, groups=None):
        """Cross-validate the grid, then fit the best grid point on all rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, checked as by ``clogreg.LogisticRegression`` (float32 stays
            float32; a C-contiguous float array is not copied).
        y : array-like of shape (n_samples,)
            Labels, all numbers or all strings; at least two distinct.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights; they weight the fits and the held-out scores.
        groups : array-like of shape (n_samples,), default=None
            Group labels for splitters such as ``GroupKFold``.

        Returns
        -------
        self : LogisticRegressionCV
            The fitted estimator.

        Raises
        ------
        ValueError
            For invalid parameters or data, an empty grid, a C <= 0, a fold whose
            training rows lack a class or whose held-out rows have no weight, or an
            option the solver does not support.
        """
        self._validate_params()
        Cs, l1_ratios = self._grid()
        for name in [v for v in vars(self) if v.endswith("_") and not v.startswith("__")]:
            delattr(self, name)  # a failed fit leaves no attributes of an earlier one
        X = _validation.check_numeric(X, "X")
        _validation.check_label_types(y)
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32], order="C")
        check_classification_targets(y)
        if not X.flags.aligned:  # as LogisticRegression: BLAS differs on unaligned memory
            X = X.copy()
        classes, y_index = np.unique(y, return_inverse=True)
        if classes.size < 2:
            raise ValueError(
                f"y must hold at least 2 classes; got 1 class: {classes.tolist()}")
        sample_weight = _validation.check_sample_weight(sample_weight, X.shape[0], X.dtype)
        user_weight = sample_weight if sample_weight.size else None
        n_threads = _validation.n_threads(self.n_jobs)

        folds = list(check_cv(self.cv, y, classifier=True).split(X, y, groups))
        if not folds:
            raise ValueError("cv gave no folds")
        scorer = None if self.scoring in _FAST_SCORES else check_scoring(
            LogisticRegression(), scoring=self.scoring)
        data = _Data(X, y, y_index, classes, user_weight, self._class_weight(classes, y))

        solver = self._path_solver(X, classes.size)
        tasks = [(f, j) for f in range(len(folds)) for j in range(l1_ratios.size)]
        # below THREADS_MIN_VALUES values a pass is a few microseconds and the paths'
        # Python (which holds the GIL) dominates: threads would only contend for it
        n_workers = 1 if X.size < THREADS_MIN_VALUES else min(n_threads, len(tasks))
        threads = _KernelThreads(n_threads, n_workers, len(tasks))

        def run(task):
            f, j = task
            return self._path(data, folds[f], f, Cs, l1_ratios[j], scorer, threads, solver)

        # Fits that stop at max_iter are counted and reported once, below; the filter
        # is set here, around the pool, as worker threads must not change it.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            if n_workers == 1:
                results = [run(task) for task in tasks]
            else:
                with ThreadPoolExecutor(n_workers) as pool:
                    results = list(pool.map(run, tasks))

        n_folds, n_l1, n_cs = len(folds), l1_ratios.size, Cs.size
        shape = (n_folds, n_l1, n_cs)
        self.classes_, self.Cs_, self.l1_ratios_ = classes, Cs, l1_ratios
        self.coefs_paths_ = np.stack([r["coefs"] for r in results]).reshape(
            shape + results[0]["coefs"].shape[1:])
        self.scores_ = np.array([r["scores"] for r in results]).reshape(shape)
        self.n_iter_ = np.array([r["n_iter"] for r in results]).reshape(shape)
        self.path_objective_ = np.array([r["objective"] for r in results]).reshape(shape)
        self.solver_ = results[0]["solver"]
        stalled = sum(r["stalled"] for r in results)
        if stalled and self.tol > 0:
            warnings.warn(
                f"{stalled} of {n_folds * n_l1 * n_cs} fits on the regularisation paths "
                f"did not reach tol={self.tol:g} in max_iter={self.max_iter} iterations; "
                f"increase max_iter or rescale X", ConvergenceWarning, stacklevel=2)

        n_features = X.shape[1]
        if self.refit:
            # scikit-learn's rule: the best score summed over folds; ties go to the
            # earlier C in Cs, then to the earlier l1_ratio
            summed = self.scores_.sum(axis=0).T  # (n_cs, n_l1)
            c, j = np.unravel_index(np.argmax(summed), summed.shape)
            self.C_, self.l1_ratio_ = float(Cs[c]), float(l1_ratios[j])
            start = self.coefs_paths_[:, j, c].mean(axis=0)
            final = self._estimator(self.C_, self.l1_ratio_, n_threads, solver)
            final.coef_ = start[:, :n_features].astype(X.dtype)
            final.intercept_ = start[:, n_features] if self.fit_intercept \
                else np.zeros(start.shape[0])
            weights = data.weights(np.arange(X.shape[0]), None, what="all rows")
            final.fit(X, y_index, sample_weight=weights)
            self.coef_, self.intercept_ = final.coef_, final.intercept_
            self.history_, self.solver_ = final.history_, final.solver_
        else:
            flat = self.scores_.transpose(0, 2, 1).reshape(n_folds, -1)  # (fold, C x l1)
            c, j = np.unravel_index(np.argmax(flat, axis=1), (n_cs, n_l1))
            mean = self.coefs_paths_[np.arange(n_folds), j, c].mean(axis=0)
            self.C_, self.l1_ratio_ = float(Cs[c].mean()), float(l1_ratios[j].mean())
            self.coef_ = mean[:, :n_features].astype(X.dtype)
            self.intercept_ = (mean[:, n_features] if self.fit_intercept
                               else np.zeros(mean.shape[0])).astype(X.dtype)
        return self

    def _grid(self):
        """Cs and l1_ratios as 1-D float arrays, or a ValueError naming the problem."""
        if isinstance(self.Cs, Integral):
            Cs = np.logspace(-4, 4, int(self.Cs))
        else:
            try:
                Cs = np.asarray(self.Cs, dtype=np.float64)
            except (TypeError, ValueError) as error:
                raise ValueError(f"Cs must be an int or a list of numbers; got "
                                 f"{self.Cs!r}") from error
            if Cs.ndim != 1 or Cs.size == 0:
                raise ValueError(f"Cs must be an int >= 1 or a non-empty 1-D list of C "
                                 f"values; got {self.Cs!r}")
            if np.any(np.isnan(Cs)) or np.any(Cs <= 0):
                raise ValueError(f"every C in Cs must be > 0 (np.inf: no penalty); got "
                                 f"{Cs.tolist()}")
        if self.l1_ratios is None:
            return Cs, np.zeros(1)
        try:
            ratios = np.asarray(self.l1_ratios, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(f"l1_ratios must be a list of numbers in [0, 1]; got "
                             f"{self.l1_ratios!r}") from error
        if ratios.ndim != 1 or ratios.size == 0:
            raise ValueError(f"l1_ratios must be None or a non-empty 1-D list of numbers "
                             f"in [0, 1]; got {self.l1_ratios!r}")
        if not np.all((ratios >= 0) & (ratios <= 1)):
            raise ValueError(f"every l1_ratio must be in [0, 1]; got {ratios.tolist()}")
        return Cs, ratios

    def _class_weight(self, classes, y):
        """Per-class weights for a dict, "balanced" (per fold, later) or None."""
        if isinstance(self.class_weight, dict):
            return compute_class_weight(self.class_weight, classes=classes, y=y)
        return self.class_weight  # None or "balanced"

    def _path_solver(self, X, n_classes):
        """The solver of every fit: ``solver``, except that ``"auto"`` is ``"newton"``
        for binary problems on dense X with at most AUTO_NEWTON_MAX_FEATURES features
        and at most NEWTON_PATH_MAX_VALUES values. Along a warm-started path Newton
        needs one or two iterations a grid point, while L-BFGS starts each fit without
        curvature pairs: breast cancer (569 x 30), 10 Cs x 5 folds, 139 Newton
        iterations against 931 of lbfgs, 4.5x faster; on 500,000 x 100 lbfgs (70
        iterations) is 3x faster, 2.3 s against 7.1 s (README, "Choosing C by
        cross-validation")."""
        if self.solver == "auto" and n_classes == 2 and not issparse(X) and \
                X.shape[1] <= _solvers.AUTO_NEWTON_MAX_FEATURES and \
                X.size <= NEWTON_PATH_MAX_VALUES:
            return "newton"
        return self.solver

    def _estimator(self, C, l1_ratio, n_threads, solver):
        return LogisticRegression(
            C=C, l1_ratio=l1_ratio, solver=solver, tol=self.tol,
            max_iter=self.max_iter, fit_intercept=self.fit_intercept, warm_start=True,
            random_state=self.random_state, n_jobs=n_threads)

    def _path(self, data, fold, f, Cs, l1_ratio, scorer, threads, solver):
        """One fold's path along Cs (ascending) for one l1_ratio, warm-started; its
        kernel passes run on the threads that ``threads`` (`_KernelThreads`) gives it."""
        train, test = fold
        if len(test) == 0:
            raise ValueError(f"fold {f} has no held-out rows")
        weights = data.weights(train, f, what=f"the training rows of fold {f}")
        test_weight = None if data.user_weight is None else data.user_weight[test]
        if test_weight is not None and not test_weight.sum() > 0:
            raise ValueError(f"the held-out rows of fold {f} have zero total sample_weight")
        n_out = 1 if data.classes.size == 2 else data.classes.size
        n_dof = data.X.shape[1] + self.fit_intercept
        out = {"coefs": np.zeros((Cs.size, n_out, n_dof), data.X.dtype),
               "scores": np.zeros(Cs.size), "n_iter": np.zeros(Cs.size, np.int32),
               "objective": np.zeros(Cs.size), "stalled": 0}
        est = _PathFits(self._estimator(Cs.min(), l1_ratio, threads.per_worker, solver),
                        data, weights)
        threads.start(est.objective.rows)
        try:
            self._run_path(est, data, weights, test, test_weight, Cs, l1_ratio, scorer,
                           out)
        finally:
            threads.finish(est.objective.rows)
        out["solver"] = est.solver_
        return out

    def _run_path(self, est, data, weights, test, test_weight, Cs, l1_ratio, scorer, out):
        """The fits of `_path` from strong to weak regularisation, into ``out``."""
        y_test = data.y_index[test]
        X_test = data.X[test] if scorer is not None else None  # a scorer needs the rows
        n_out = out["coefs"].shape[1]
        skip = _ConvergedSkip(weights, self.tol, l1_ratio)
        prev = None
        # X was checked once, in fit: scorers' predict_proba need not check it again
        with config_context(assume_finite=True):
            for k in np.argsort(Cs, kind="stable"):  # strong to weak regularisation
                if prev is not None and skip.still_converged(est, Cs[prev], Cs[k]):
                    # the warm start already meets tol: the solver would return it
                    # unchanged after 0 iterations, so the fit is not run
                    out["coefs"][k] = out["coefs"][prev]
                    out["scores"][k] = out["scores"][prev]
                    out["objective"][k] = out["objective"][prev] + \
                        _penalty(est.coef_, Cs[k], l1_ratio) - \
                        _penalty(est.coef_, Cs[prev], l1_ratio)
                    prev = k
                    continue
                est.fit(Cs[k])
                skip.fitted(est)
                prev = k
                W, b = est.coef_, est.intercept_
                out["coefs"][k, :, :data.X.shape[1]] = W
                if self.fit_intercept:
                    out["coefs"][k, :, -1] = b
                out["n_iter"][k] = est.n_iter_[0]
                out["stalled"] += est.stop_reason_ == "max_iter"
                # the held-out rows' decision values: a fifth of a pass for 5 folds
                z_test = _decision(data.X, test, W, b)
                out["objective"][k] = _objective(est, data, weights, Cs[k], l1_ratio)
                if scorer is not None:
                    model = _fitted_model(W, b, data.classes, data.X.shape[1])
                    kwargs = {} if test_weight is None else {"sample_weight": test_weight}
                    out["scores"][k] = scorer(model, X_test, data.y[test], **kwargs)
                elif self.scoring == "accuracy":
                    pred = (z_test[:, 0] > 0) if n_out == 1 else np.argmax(z_test, axis=1)
                    out["scores"][k] = np.average(pred == y_test, weights=test_weight)
                else:
                    out["scores"][k] = -np.average(_row_loss(z_test, y_test),
                                                   weights=test_weight)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "coef_")


class _PathFits:
    """The fits of one path: ``LogisticRegression.fit`` of ``estimator`` on all rows
    with the fold's ``weights``, warm-started, for one C after the other, on one
    objective.

    What does not depend on C is done once per path, not once per fit: the rows
    object, the column statistics (one pass over X; lbfgs's standardisation and the
    gradient at w = 0 read them), the scale check and the step-size bounds. Each
    ``fit(C)`` sets the penalty of the objective and runs the solver from the last
    solution, as ``estimator.fit`` with ``warm_start=True`` would (the same start in
    X's dtype, the same solver choice, the same checks of the result), and leaves the
    fitted attributes that the path reads on ``self``.
    """

    def __init__(self, estimator, data, weights):
        self.estimator, self.l1_ratio = estimator, estimator.l1_ratio
        X = data.X
        self.n_classes = data.classes.size
        self.n_out = 1 if self.n_classes == 2 else self.n_classes
        sample_weight = _validation.check_sample_weight(weights, X.shape[0], X.dtype)
        layout = SparseRows if issparse(X) else DenseRows
        rows = layout(X, data.y_index.astype(X.dtype), sample_weight, self.n_out,
                      _validation.n_threads(estimator.n_jobs))
        self.objective = LogisticObjective(rows, estimator.fit_intercept, 0.0, 0.0)
        self.coef_ = np.zeros((self.n_out, X.shape[1]), X.dtype)
        self.intercept_ = np.zeros(self.n_out, X.dtype)
        self._scale_checked, self._fitted = False, False

    def fit(self, C):
        est, objective = self.estimator, self.objective
        est.C = C
        X = objective.rows
        solver = _solvers.check_solver(
            est.solver, C=C, l1_ratio=self.l1_ratio, learning_rate=est.learning_rate,
            n_out=self.n_out, n_classes=self.n_classes, n_features=objective.n_features,
            n_samples=objective.n_samples, sparse=isinstance(X, SparseRows),
            multinomial_newton=True)
        l1_prev = objective.alpha_l1 if self._fitted else None  # the warm start's
        objective.alpha_l2, objective.alpha_l1 = penalty_strengths(C, self.l1_ratio)
        if solver != "gd" and not self._scale_checked:  # as LogisticRegression.fit
            objective.check_scale()
            self._scale_checked = True
        state = _solvers.SGDState(est._seed()) if solver == "sgd" else None
        coef, intercept = self.coef_.copy(), self.intercept_.astype(np.float64)
        result = _solvers.solve(
            objective, solver, coef, intercept, max_iter=est.max_iter, tol=est.tol,
            learning_rate=est.learning_rate, batch_size=est.batch_size,
            lr_schedule=est.lr_schedule, sgd_state=state, l1_prev=l1_prev)
        self._fitted = True
        _solvers.check_result(result, solver=solver, tol=est.tol, C=C,
                              max_iter=est.max_iter, stacklevel=4)
        self.coef_ = result.coef
        self.intercept_ = result.intercept.astype(objective.dtype)
        self.n_iter_ = np.array([result.n_iter], dtype=np.int32)
        self.solver_, self.stop_reason_ = solver, result.stop_reason.value
        self.history_ = {"loss": result.loss, "accuracy": result.accuracy,
                         "grad_norm": result.grad_norm}


class _KernelThreads:
    """The kernel threads (``n_jobs`` in all) of the paths that run at once.

    While paths wait to start, each of the ``n_workers`` running ones has ``n_threads
    // n_workers``; once none waits, a path that ends gives its threads to those still
    running (5 folds on 2 workers: the fifth fold's passes run on both threads instead
    of leaving one idle). A pass's result does not depend on its number of threads
    (fixed chunks: `clogreg._rows`), so no result depends on this sharing.
    """

    def __init__(self, n_threads, n_workers, n_tasks):
        self.n_threads, self.waiting = n_threads, n_tasks
        self.per_worker = max(1, n_threads // n_workers)
        self._running, self._lock = [], threading.Lock()

    def start(self, rows):
        with self._lock:
            self.waiting -= 1
            self._running.append(rows)
            self._share()

    def finish(self, rows):
        with self._lock:
            self._running.remove(rows)
            self._share()

    def _share(self):
        each = self.per_worker if self.waiting > 0 else \
            max(self.per_worker, self.n_threads // max(1, len(self._running)))
        for rows in self._running:
            rows.n_threads = each  # read at the start of each pass


class _Data:
    """What every path reads: X, labels, the user's weights and the class weights."""

    def __init__(self, X, y, y_index, classes, user_weight, class_weight):
        self.X, self.y, self.y_index, self.classes = X, y, y_index, classes
        self.user_weight, self.class_weight = user_weight, class_weight

    def weights(self, rows, fold, what):
        """Weights over all rows: user weight x class weight on ``rows``, 0 elsewhere.

        Returns None (no weights) for all rows without user or class weights.
        """
        n = self.X.shape[0]
        y_rows = self.y_index[rows]
        user = None if self.user_weight is None else self.user_weight[rows]
        present = np.bincount(y_rows, weights=user, minlength=self.classes.size) > 0
        if not np.all(present):
            raise ValueError(
                f"{what} hold no sample of class(es) "
                f"{self.classes[~present].tolist()} (with positive weight): every class "
                f"must be in every fold's training rows; use fewer folds or a stratified "
                f"splitter")
        per_class = self.class_weight
        if isinstance(per_class, str):  # "balanced", from these rows only
            try:  # scikit-learn >= 1.7 weights "balanced" by the sample weights
                per_class = compute_class_weight(
                    "balanced", classes=np.arange(self.classes.size), y=y_rows,
                    sample_weight=user)
            except TypeError:
                per_class = compute_class_weight(
                    "balanced", classes=np.arange(self.classes.size), y=y_rows)
        if fold is None and len(rows) == n and per_class is None and user is None:
            return None
        weights = np.zeros(n, self.X.dtype)
        w_rows = np.ones(len(rows)) if user is None else user.astype(np.float64)
        if per_class is not None:
            w_rows = w_rows * np.asarray(per_class, dtype=np.float64)[y_rows]
        weights[rows] = w_rows
        if not np.any(weights > 0):
            raise ValueError(f"sample_weight times class_weight is zero for {what}")
        return weights


#: Whether grid points whose warm start provably meets tol skip their fit (tests
#: switch it off to check that the results do not change).
SKIP_CONVERGED = True


class _ConvergedSkip:
    """Decides, without a pass over X, that a warm start already meets ``tol``.

    With an L2 penalty (or none), the gradient of the mean objective at the previous
    solution W changes with C only through the penalty term:
    ``g(C') = g(C) + W (1/C' - 1/C) / sum(s)``. So
    ``||g(C')||_inf <= ||g(C)||_inf + |1/C' - 1/C| ||W||_inf / sum(s)``, with
    ``||g(C)||_inf`` the last ``history_["grad_norm"]`` of "lbfgs" and "newton" (whose
    history ends at the solution: ``n_iter_ + 1`` entries). Both check this norm against
    tol before their first iteration and return the start unchanged when it passes: when
    the bound (plus a margin for rounding) is <= tol, the fit would give back W, and it
    is skipped. The bound is carried along (W does not change) for the next C.
    """

    def __init__(self, weights, tol, l1_ratio):
        self.sum_weights = float(weights.sum(dtype=np.float64))
        self.tol, self.usable, self.bound = tol, SKIP_CONVERGED and l1_ratio == 0, None
        self.margin_scale = 64 * np.finfo(weights.dtype).eps * np.sqrt(weights.size)

    def fitted(self, est):
        grad_norm = est.history_["grad_norm"]
        ok = (self.usable and est.solver_ in ("lbfgs", "newton")
              and est.stop_reason_ == "converged"
              and grad_norm.size == int(est.n_iter_[0]) + 1)
        self.bound = float(grad_norm[-1]) if ok else None
        self.w_max = float(np.abs(est.coef_).max()) / self.sum_weights if ok else 0.0

    def still_converged(self, est, C_prev, C):
        if self.bound is None:
            return False
        inv, inv_prev = _inverse(C), _inverse(C_prev)
        bound = self.bound + abs(inv - inv_prev) * self.w_max
        # rounding: the solver recomputes the gradient, whose terms are of the size of
        # the penalty's gradient, in the dtype of X
        margin = self.margin_scale * (self.bound + max(inv, inv_prev) * self.w_max)
        if bound + margin > self.tol:
            return False
        self.bound = bound
        return True


def _inverse(C):
    return 0.0 if np.isinf(C) else 1.0 / C


def _decision(X, rows, W, b, chunk=4096):
    """``X[rows] @ W.T + b`` in float64, gathering ``chunk`` rows at a time (X[rows]
    would copy all of them at once)."""
    z = np.empty((rows.size, W.shape[0]))
    for start in range(0, rows.size, chunk):
        part = rows[start:start + chunk]
        z[start:start + chunk] = X[part] @ W.T
    return z + np.asarray(b, dtype=np.float64)


def _objective(est, data, weights, C, l1_ratio):
    """The training objective at the fitted coefficients of ``est``.

    ``history_["loss"]`` entry k is measured at the parameters entering iteration k:
    with ``n_iter_ + 1`` entries the last one is at the solution. Otherwise (solvers
    that do not measure there) one pass over X computes it; held-out rows have weight 0.
    """
    loss = est.history_["loss"]
    if loss.size == int(est.n_iter_[0]) + 1:
        return float(loss[-1])
    z = (data.X @ est.coef_.T).astype(np.float64) + est.intercept_
    return float(weights @ _row_loss(z, data.y_index)) + _penalty(est.coef_, C, l1_ratio)


def _row_loss(z, y_index):
    """Log-loss of every row from the decision values z (n, 1) or (n, K), stably."""
    if z.shape[1] == 1:  # log(1 + exp(-z)) for y = 1, log(1 + exp(z)) for y = 0
        z = z[:, 0]
        return np.logaddexp(0.0, np.where(y_index == 1, -z, z))
    return logsumexp(z, axis=1) - z[np.arange(z.shape[0]), y_index]


def _penalty(W, C, l1_ratio):
    if np.isinf(C):
        return 0.0
    W = W.astype(np.float64)
    return float((1.0 - l1_ratio) / (2.0 * C) * np.sum(W * W)
                 + l1_ratio / C * np.sum(np.abs(W)))


def _fitted_model(coef, intercept, classes, n_features):
    """A fitted ``LogisticRegression`` with these coefficients, for scorers."""
    model = LogisticRegression()
    model.coef_, model.intercept_ = coef.copy(), np.asarray(intercept).copy()
    model.classes_, model.n_features_in_ = classes, n_features
    return model
