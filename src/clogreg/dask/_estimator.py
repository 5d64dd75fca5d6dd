"""`clogreg.dask.LogisticRegression`: the exact fit, on the row blocks of a Dask array.

fit = convert and check the collections (client side, no pass) -> one validation
pass (finiteness of every block, the labels, the weights; errors name the block) ->
encode labels and fold in the weights (lazy, per block) -> persist on the workers
when the data fit in their memory (else every pass streams the blocks from their
source) -> `clogreg._objective.LogisticObjective` over `DaskRows` -> the in-memory
solvers, unchanged -> the same fitted attributes as `clogreg.LogisticRegression`.
"""
import os
from types import SimpleNamespace
from typing import ClassVar

import numpy as np
from sklearn.utils._param_validation import StrOptions

from .. import _progress, _solvers, _validation
from .._estimator import LogisticRegression as _LocalLogisticRegression
from .._objective import LogisticObjective, penalty_strengths
from ._rows import DaskRows

try:
    import dask
    import dask.array as da
    from dask import delayed
except ImportError as exc:  # pragma: no cover - the package's __init__ says more
    raise ImportError(
        "clogreg.dask needs Dask: pip install \"clogreg[dask]\" (dask[array] and "
        "distributed)") from exc
try:
    from distributed import Future
except ImportError:  # pragma: no cover - dask without distributed: local scheduler only
    Future = ()


# ------------------------------------------------------------ tasks (on the workers)
def _check_block(X, y, sw, dtype):
    """What the client needs to know about one block, from one read of it."""
    X = np.asarray(X)
    y = np.asarray(y)
    out = {"rows": X.shape[0], "nan": False, "inf": False, "y_nan": False,
           "sw_bad": None, "sw_sum": None}
    if X.size:
        finite = np.isfinite(X)
        if not finite.all():
            out["nan"] = bool(np.isnan(X[~finite]).any())
            out["inf"] = not out["nan"] or bool(np.isinf(X[~finite]).any())
    if y.dtype.kind == "f" and np.isnan(y).any():
        out["y_nan"] = True
        return out
    _validation.check_label_types(y)
    labels, inverse = np.unique(y, return_inverse=True)
    out["labels"] = labels
    out["counts"] = np.bincount(inverse.ravel(), minlength=labels.size).astype(np.float64)
    if sw is not None:
        sw = np.asarray(sw).astype(dtype)
        with np.errstate(invalid="ignore", over="ignore"):
            if not np.isfinite(sw).all():
                out["sw_bad"] = "NaN or infinity"
            elif (sw < 0).any():
                out["sw_bad"] = "negative values"
            out["sw_sum"] = float(sw.sum(dtype=np.float64))
            out["weighted"] = np.bincount(inverse.ravel(), weights=sw.astype(np.float64),
                                          minlength=labels.size)
    return out


def _encode_block(y, classes, dtype):
    return np.searchsorted(classes, np.asarray(y)).astype(dtype)


def _weight_block(y_enc, sw, per_class, dtype):
    """sample weight times class weight, in X's dtype; (0,) for all ones."""
    if sw is None and per_class is None:
        return np.empty(0, dtype=dtype)
    weights = None if sw is None else np.ascontiguousarray(sw, dtype=dtype)
    if per_class is not None:
        by_class = per_class[y_enc.astype(np.intp)].astype(dtype)
        weights = by_class if weights is None else weights * by_class
    return weights


def _predict_block(X, model, method):
    return getattr(model, method)(np.asarray(X))


# --------------------------------------------------------------------- helpers
def _resolve_client(client):
    """The client given, else the current one, else None (Dask's local scheduler)."""
    if client is not None:
        return client
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:
        return None


def _runner(client):
    """``run(fn, X_blocks, y_blocks, sw_blocks, args) -> results in block order``.

    Blocks held as futures (persisted on a cluster) go to ``client.map``, the
    scheduler's lightest path; delayed blocks (out of core, or Dask's local
    scheduler) become one delayed task each.
    """
    def run(fn, X_blocks, y_blocks, sw_blocks, args):
        if client is None:
            task = delayed(fn, pure=False)
            return list(dask.compute(*[task(X, y, sw, *args) for X, y, sw in
                                       zip(X_blocks, y_blocks, sw_blocks)],
                                     scheduler="threads"))
        _check_running(client)
        if X_blocks and isinstance(X_blocks[0], Future):
            k = len(X_blocks)
            futures = client.map(fn, X_blocks, y_blocks, sw_blocks,
                                 *[[a] * k for a in args], pure=False)
        else:
            task = delayed(fn, pure=False)
            futures = client.compute([task(X, y, sw, *args) for X, y, sw in
                                      zip(X_blocks, y_blocks, sw_blocks)])
        try:
            return client.gather(futures)
        finally:
            del futures
    return run


def _persist(client, blocks):
    """The delayed blocks, computed once and held in memory: on a cluster, one
    future each (on the workers)."""
    if client is None:
        return list(dask.persist(*blocks, scheduler="threads"))
    from distributed import futures_of

    return [futures_of(b)[0] for b in client.persist(blocks)]


def _check_running(client):
    if client.status not in ("running", "connecting", "newly-created"):
        raise RuntimeError(f"the Dask client is {client.status}: start a new one "
                           f"(distributed.Client) or pass client=None for Dask's local "
                           f"scheduler")


def _as_dask(X, name, ndim):
    """A dask array from a dask array, DataFrame, Series or an in-memory array."""
    feature_names = None
    if hasattr(X, "to_dask_array"):  # dask DataFrame or Series
        if ndim == 2 and hasattr(X, "columns"):
            feature_names = np.asarray(X.columns, dtype=object)
            if not all(isinstance(c, str) for c in feature_names):
                feature_names = None
        X = X.to_dask_array(lengths=True)
    elif not isinstance(X, da.Array):
        X = np.asarray(_validation.check_numeric(X, name) if ndim == 2 else X)
        X = da.from_array(X, chunks=(X.shape[0] if X.ndim else 1,) + X.shape[1:])
    if X.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-dimensional, got a dask array of shape "
                         f"{X.shape}")
    if any(np.isnan(c) for c in X.chunks[0]):
        raise ValueError(
            f"{name} has unknown chunk sizes (NaN): call {name}.compute_chunk_sizes(), or "
            f"to_dask_array(lengths=True) on a dask DataFrame, before fitting")
    return X, feature_names


def _check_dtype(X):
    kind = X.dtype.kind
    if kind == "O":
        raise TypeError(f"X has dtype object; convert it to numbers first (got {X.dtype})")
    _validation._check_values(np.empty(0, X.dtype), "X")  # strings, complex, datetime
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    return X


class LogisticRegression(_LocalLogisticRegression):
    """Logistic regression fitted on a Dask cluster, exactly (as in memory).

    The parameters, solvers and fitted attributes are those of
    `clogreg.LogisticRegression` (see its documentation), with ``solver`` one of
    ``"auto"``, ``"lbfgs"``, ``"newton"`` (binary) and ``"gd"``; ``"sgd"`` and
    ``partial_fit`` are not available here. Each pass over the data is one task per
    row block, running clogreg's kernel on the worker that holds the block; the
    partial sums are added up in block order on the client, so the result does not
    depend on the number of workers or threads (same chunks: bit-identical), and is
    the same optimum as the in-memory fit of the concatenated data. A worker that
    dies mid-fit costs time: Dask recomputes its blocks.

    Parameters
    ----------
    C, l1_ratio, solver, learning_rate, batch_size, lr_schedule, max_iter, tol, \
fit_intercept, class_weight, warm_start, verbose, random_state, n_jobs :
        As `clogreg.LogisticRegression`; ``n_jobs`` is the OpenMP threads each
        block's pass uses on its worker.
    client : distributed.Client or None, default=None
        Where to run; ``None``: the current client (``distributed.default_client()``),
        else Dask's local threaded scheduler.
    persist : "auto" or bool, default="auto"
        Whether to hold X, the labels and the weights in the workers' memory for the
        whole fit (one read of the source). ``"auto"``: when they take at most half
        of the workers' total ``memory_limit``; otherwise (out of core) every pass
        reads the blocks from their source again.

    Attributes
    ----------
    classes_, coef_, intercept_, n_iter_, n_features_in_, feature_names_in_, solver_, \
stop_reason_, history_ :
        As `clogreg.LogisticRegression`.
    n_passes_ : int
        Distributed passes over the data made by the fit (validation included).
    persisted_ : bool
        Whether the data were held in the workers' memory.

    Examples
    --------
    >>> import numpy as np, dask.array as da
    >>> from clogreg.dask import LogisticRegression
    >>> rng = np.random.default_rng(0)
    >>> X = da.from_array(rng.normal(size=(1000, 3)), chunks=(250, 3))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> clf = LogisticRegression(C=1.0).fit(X, y)   # no client: Dask's local scheduler
    >>> clf.predict(X[:4]).compute().tolist() == y[:4].compute().tolist()
    True
    >>> type(clf.to_local()).__module__
    'clogreg._estimator'
    """

    _parameter_constraints: ClassVar[dict] = {**_LocalLogisticRegression._parameter_constraints,
                                              "client": "no_validation",
                                              "persist": [StrOptions({"auto"}), "boolean"]}

    def __init__(self, C=1.0, *, l1_ratio=0.0, solver="auto", learning_rate="auto",
                 batch_size=256, lr_schedule="invscaling", max_iter=100, tol=1e-4,
                 fit_intercept=True, class_weight=None, warm_start=False, verbose=0,
                 random_state=None, n_jobs=None, client=None, persist="auto"):
        super().__init__(C, l1_ratio=l1_ratio, solver=solver, learning_rate=learning_rate,
                         batch_size=batch_size, lr_schedule=lr_schedule,
                         max_iter=max_iter, tol=tol, fit_intercept=fit_intercept,
                         class_weight=class_weight, warm_start=warm_start,
                         verbose=verbose, random_state=random_state, n_jobs=n_jobs)
        self.client = client
        self.persist = persist

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, sample_weight=None):
        """Fit the model to the row blocks of X, y.

        Parameters
        ----------
        X : dask array of shape (n_samples, n_features), or dask DataFrame
            Chunked by rows, with known chunk sizes; column chunks are merged.
            float32 stays float32, other numbers become float64. In-memory arrays
            are accepted too (one block).
        y : dask array or dask Series of shape (n_samples,)
            Labels; rechunked to X's row chunks when they differ.
        sample_weight : dask array, array-like of shape (n_samples,), scalar or None

        Returns
        -------
        self : LogisticRegression
        """
        with self._transaction(keep_on_error=False):
            self._validate_params()
            client = _resolve_client(self.client)
            if client is not None:
                _check_running(client)
            run = _runner(client)
            rows, classes, names = self._rows(X, y, sample_weight, client, run)
            self.__dict__.pop("feature_names_in_", None)
            solver = _solvers.check_solver(
                self.solver, C=self.C, l1_ratio=self.l1_ratio,
                learning_rate=self.learning_rate, n_out=rows.n_out,
                n_classes=classes.size, n_features=rows.n_features,
                n_samples=rows.n_samples)
            if solver == "sgd":
                raise ValueError("solver='sgd' is not available in clogreg.dask (its "
                                 "mini-batches would cross blocks); use 'lbfgs', "
                                 "'newton' or 'gd'")
            objective = LogisticObjective(rows, self.fit_intercept,
                                          *penalty_strengths(self.C, self.l1_ratio))
            if solver != "gd":
                objective.check_scale()
            d = rows.n_features
            coef, intercept = self._start(rows.n_out, d, rows.dtype)
            data = SimpleNamespace(classes=classes, X=np.empty((0, d), rows.dtype))
            with _progress.fit_progress(self, X, y, sample_weight) as progress:
                result = _solvers.solve(objective, solver, coef, intercept,
                                        max_iter=self.max_iter, tol=self.tol,
                                        learning_rate=self.learning_rate,
                                        progress=progress)
                self._store(result, data, solver, None)
            self.n_features_in_ = d
            if names is not None:
                self.feature_names_in_ = names
            self.n_passes_ = rows.n_passes
            self.persisted_ = self._persisted
        return self

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Not available on Dask: use ``fit`` (any solver but "sgd")."""
        raise NotImplementedError(
            "clogreg.dask.LogisticRegression has no partial_fit: fit() makes exact "
            "passes over all the blocks; for mini-batch SGD over chunks call "
            "clogreg.LogisticRegression.partial_fit on each block")

    def _rows(self, X, y, sample_weight, client, run):
        """Convert and check X, y, the weights; one validation pass; a `DaskRows`."""
        X, names = _as_dask(X, "X", 2)
        X = _check_dtype(X)
        n, d = X.shape
        if n < 1 or d < 1:
            raise ValueError(f"X must have at least one row and one column, got shape "
                             f"{X.shape}")
        if len(X.chunks[1]) > 1:
            X = X.rechunk({1: -1})
        y, _ = _as_dask(y, "y", 1)
        if y.shape[0] != n:
            raise ValueError(f"X and y have different numbers of rows: {n} and "
                             f"{y.shape[0]}")
        if y.chunks[0] != X.chunks[0]:
            y = y.rechunk({0: X.chunks[0]})
        dtype = X.dtype
        sw = sample_weight
        if sw is not None:
            if np.ndim(sw) == 0 and not isinstance(sw, da.Array):
                sw = _validation.check_sample_weight(sw, 1, dtype)[0]
                sw = da.full(n, sw, chunks=X.chunks[0], dtype=dtype)
            else:
                sw, _ = _as_dask(sw, "sample_weight", 1)
                if sw.shape[0] != n:
                    raise ValueError(f"sample_weight must have shape ({n},), got "
                                     f"{sw.shape}")
                _validation._check_values(np.empty(0, sw.dtype), "sample_weight")
                if sw.chunks[0] != X.chunks[0]:
                    sw = sw.rechunk({0: X.chunks[0]})
        keep = [i for i, rows in enumerate(X.chunks[0]) if rows > 0]
        X_blocks = [X.to_delayed().ravel()[i] for i in keep]
        y_blocks = [y.to_delayed().ravel()[i] for i in keep]
        sw_raw = [None] * len(keep) if sw is None else \
            [sw.to_delayed().ravel()[i] for i in keep]
        block_rows = [X.chunks[0][i] for i in keep]
        starts = np.concatenate([[0], np.cumsum(X.chunks[0])])

        # persist first (one read of the source), then validate the persisted blocks
        persist = self._should_persist(X, client)
        if persist:
            sw_blocks_in = [s for s in sw_raw if s is not None]
            persisted = _persist(client, [*X_blocks, *y_blocks, *sw_blocks_in])
            k = len(keep)
            X_blocks, y_blocks = persisted[:k], persisted[k:2 * k]
            if sw is not None:
                sw_raw = persisted[2 * k:]
        self._persisted = persist

        reports = run(_check_block, X_blocks, y_blocks, sw_raw, (dtype,))
        labels, counts, weighted, sw_sum = [], {}, {}, 0.0
        for i, rep in zip(keep, reports):
            where = f"block {i} (rows {starts[i]}..{starts[i + 1] - 1})"
            if rep["nan"] or rep["inf"]:
                what = "NaN" if rep["nan"] else "infinity"
                raise ValueError(f"Input X contains {what} in {where}")
            if rep["y_nan"]:
                raise ValueError(f"Input y contains NaN in {where}")
            if rep["sw_bad"] is not None:
                raise ValueError(f"sample_weight has {rep['sw_bad']} in {where}; weights "
                                 f"must be finite and non-negative")
            labels.append(rep["labels"])
            for j, label in enumerate(rep["labels"]):
                counts[label] = counts.get(label, 0.0) + rep["counts"][j]
                if sw is not None:
                    weighted[label] = weighted.get(label, 0.0) + rep["weighted"][j]
            if sw is not None:
                sw_sum += rep["sw_sum"]
        classes = np.unique(np.concatenate(labels))
        from sklearn.utils.multiclass import check_classification_targets
        check_classification_targets(classes)
        if classes.size < 2:
            raise ValueError(
                f"y must hold at least 2 classes; got 1 class: {classes.tolist()}")
        if sw is not None:
            if not sw_sum > 0:
                raise ValueError("sample_weight must not be all zero")
            if not np.isfinite(sw_sum):
                raise ValueError("sample_weight sums to more than the largest float64")
        n_out = 1 if classes.size == 2 else classes.size

        per_class = None
        if self.class_weight is not None:
            per_class = self._class_weights(classes, counts, weighted if sw is not None
                                            else None)
        if persist and client is not None:  # from the futures, on the workers
            k = len(keep)
            y_enc = client.map(_encode_block, y_blocks, [classes] * k, [dtype] * k,
                               pure=False)
            sw_blocks = client.map(_weight_block, y_enc, sw_raw, [per_class] * k,
                                   [dtype] * k, pure=False)
        else:
            encode, weigh = delayed(_encode_block), delayed(_weight_block)
            y_enc = [encode(yb, classes, dtype) for yb in y_blocks]
            sw_blocks = [weigh(ye, sb, per_class, dtype) for ye, sb in zip(y_enc, sw_raw)]
        if per_class is None:
            sum_weights = sw_sum if sw is not None else float(n)
        else:
            totals = weighted if sw is not None else counts
            sum_weights = 0.0
            for c, cw in zip(classes, per_class):  # fixed (class) order
                sum_weights += float(cw) * totals[c]
            if not sum_weights > 0:
                raise ValueError("sample_weight times class_weight is zero for every row")
        if persist and client is None:
            enc = _persist(client, [*y_enc, *sw_blocks])
            y_enc, sw_blocks = enc[:len(keep)], enc[len(keep):]
        rows = DaskRows(X_blocks, y_enc, sw_blocks, block_rows, n_features=d, n_out=n_out,
                        dtype=dtype, sum_weights=sum_weights, run=run,
                        n_threads=_validation.n_threads(self.n_jobs))
        rows.n_passes = 1  # the validation pass
        return rows, classes, names

    def _should_persist(self, X, client):
        if self.persist != "auto":
            return bool(self.persist)
        nbytes = X.nbytes * (1 + 2.0 / X.shape[1])  # X, labels, weights
        if client is None:
            try:
                total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
            except (ValueError, OSError, AttributeError):  # pragma: no cover
                return True
            return nbytes <= 0.25 * total
        workers = client.scheduler_info().get("workers", {}).values()
        limits = [w.get("memory_limit") or 0 for w in workers]
        if not limits or any(lim == 0 for lim in limits):
            return True  # no limit set
        return nbytes <= 0.5 * sum(limits)

    def _class_weights(self, classes, counts, weighted):
        """Per-class weights as `clogreg.LogisticRegression` computes them (scikit-
        learn's ``compute_class_weight``), from the per-class (weighted) counts."""
        from sklearn.utils.class_weight import compute_class_weight

        if self.class_weight == "balanced":
            per = np.array([(weighted if weighted is not None else counts)[c]
                            for c in classes])
            try:  # each class once, weighted by its (weighted) count
                return compute_class_weight("balanced", classes=classes, y=classes,
                                            sample_weight=per)
            except TypeError:  # scikit-learn < 1.7: unweighted counts
                unweighted = np.array([counts[c] for c in classes])
                return unweighted.sum() / (classes.size * unweighted)
        return compute_class_weight(self.class_weight, classes=classes, y=classes)

    # ---------------------------------------------------------- predictions
    def _map_predict(self, X, method):
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        local = self.to_local()
        if not (isinstance(X, da.Array) or hasattr(X, "to_dask_array")):
            return getattr(local, method)(X)
        X, _ = _as_dask(X, "X", 2)
        X = _check_dtype(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but this model was fitted "
                             f"with {self.n_features_in_}")
        if len(X.chunks[1]) > 1:
            X = X.rechunk({1: -1})
        k = self.classes_.size
        if method == "predict":
            return X.map_blocks(_predict_block, local, method, drop_axis=1,
                                dtype=self.classes_.dtype)
        if method == "decision_function" and k == 2:
            return X.map_blocks(_predict_block, local, method, drop_axis=1,
                                dtype=np.result_type(X.dtype, self.coef_.dtype))
        return X.map_blocks(_predict_block, local, method, chunks=(X.chunks[0], (k,)),
                            dtype=np.float64 if method != "decision_function"
                            else np.result_type(X.dtype, self.coef_.dtype))

    def decision_function(self, X):
        """``X @ coef_.T + intercept_``: a lazy dask array for a dask collection
        (one task per block), a NumPy array for in-memory X."""
        return self._map_predict(X, "decision_function")

    def predict_proba(self, X):
        """Class probabilities (lazy for dask input; see `decision_function`)."""
        return self._map_predict(X, "predict_proba")

    def predict_log_proba(self, X):
        """Log class probabilities (lazy for dask input)."""
        return self._map_predict(X, "predict_log_proba")

    def predict(self, X):
        """Predicted labels (lazy for dask input)."""
        return self._map_predict(X, "predict")

    def score(self, X, y, sample_weight=None):
        """Mean accuracy; dask collections are computed."""
        from sklearn.metrics import accuracy_score

        pred = self.predict(X)
        y_true = y
        if hasattr(pred, "compute"):
            pred = pred.compute()
        if hasattr(y_true, "compute"):
            y_true = y_true.compute()
        if hasattr(sample_weight, "compute"):
            sample_weight = sample_weight.compute()
        return accuracy_score(np.asarray(y_true), pred, sample_weight=sample_weight)

    def to_local(self):
        """An equivalent fitted `clogreg.LogisticRegression` (in memory, no Dask).

        Returns
        -------
        clogreg.LogisticRegression
        """
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self)
        params = {k: v for k, v in self.get_params(deep=False).items()
                  if k not in ("client", "persist")}
        local = _LocalLogisticRegression(**params)
        for name in ("classes_", "coef_", "intercept_", "n_iter_", "n_features_in_",
                     "feature_names_in_", "solver_", "stop_reason_", "history_"):
            if name in self.__dict__:
                setattr(local, name, self.__dict__[name])
        return local

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags
