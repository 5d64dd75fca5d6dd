"""Input checks that scikit-learn's ``validate_data`` / ``check_array`` leave open.

scikit-learn already refuses NaN and inf (for sparse X: among its stored values),
empty arrays, 1-D and 3-D X and complex data, and names the problem. What it does not
refuse, and this module does:

* X or sample_weight made of strings (``<U``/``S`` arrays, or object arrays holding
  strings): NumPy would convert ``"1.5"`` to 1.5 silently;
* dtypes that are not numbers at all (datetime, timedelta, structured): NumPy would
  convert them to float64 silently;
* labels that mix strings and numbers (scikit-learn says "Unknown label type:
  unknown");
* sample weights whose sum overflows.

Booleans and integers are numbers: they are converted to float64 (see the README's
"Input contract").

`fit_data` runs all of it for ``fit`` and ``partial_fit``: X, y, sample_weight and
class_weight in, a `FitData` (what the objective is built from) out.
"""
import os
from numbers import Number
from typing import NamedTuple

import numpy as np
from scipy.sparse import issparse
from sklearn import get_config
from sklearn.utils import check_array
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import validate_data

from ._rows import column_stats

_NUMBER_KINDS = "biuf"  # bool, signed and unsigned integers, floats


def check_numeric(X, input_name="X"):
    """Refuse array-likes that do not hold real numbers; return X, maybe converted.

    NumPy arrays and pandas DataFrames are inspected through their dtypes without a
    copy; other array-likes (lists) are converted with ``np.asarray`` first and that
    array is returned. Object arrays are checked element by element and returned as
    float64. Numeric data are returned unchanged, for scikit-learn to validate.

    Raises
    ------
    ValueError
        For strings or complex numbers.
    TypeError
        For other non-numeric dtypes (datetime, timedelta, structured) or objects.
    """
    dtypes = getattr(X, "dtypes", None)  # pandas DataFrame: one dtype per column
    if dtypes is not None and not hasattr(X, "dtype"):
        for name, dtype in zip(X.columns, dtypes):
            if getattr(dtype, "kind", "O") not in _NUMBER_KINDS:
                _check_values(np.asarray(X[name]), f"{input_name} column {name!r}")
        return X
    if not isinstance(getattr(X, "dtype", None), np.dtype) or not hasattr(X, "shape"):
        # lists, scalars, pandas Series with extension dtypes, other libraries' arrays
        if X is None:
            return X  # scikit-learn names this itself
        try:
            X = np.asarray(X)
        except (TypeError, ValueError):
            return X  # ragged lists and the like: scikit-learn names the problem
    if getattr(X, "format", None) is not None:  # scipy.sparse: scikit-learn checks it
        return X
    return _check_values(X, input_name)


def _check_values(values, input_name):
    kind = values.dtype.kind
    if kind in _NUMBER_KINDS:
        return values
    if kind in "US":
        raise _strings_error(input_name, values.dtype)
    if kind == "c":
        raise ValueError(f"Complex data not supported: {input_name} is complex (dtype "
                         f"{values.dtype}); clogreg needs real numbers")
    if kind != "O":
        raise TypeError(f"{input_name} has dtype {values.dtype}, which is not a number "
                        f"type; convert it to numbers first")
    # Object arrays: every element must be a real number (None becomes NaN and is
    # refused later, by scikit-learn's NaN check).
    for v in np.asarray(values).ravel():
        if isinstance(v, (str, bytes)):
            raise _strings_error(input_name, values.dtype)
        if isinstance(v, (complex, np.complexfloating)):
            # ValueError, as scikit-learn's "Complex data not supported"
            raise ValueError(f"Complex data not supported: {input_name} holds "  # noqa: TRY004
                             f"complex numbers; clogreg needs real numbers")
    try:
        return values.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{input_name} has dtype object and an element that is not a "
                        f"number ({exc})") from exc


def _strings_error(input_name, dtype):
    return ValueError(
        f"{input_name} holds strings (dtype {dtype}); clogreg needs numbers: encode "
        f"categories first (e.g. sklearn.preprocessing.OneHotEncoder) or convert "
        f"numeric text with astype(float)")


def check_label_types(y):
    """Refuse labels that mix strings and numbers, naming the types found.

    Runs before scikit-learn sees y: NumPy would turn the list ``[0, "a"]`` into the
    strings ``["0", "a"]``, and scikit-learn refuses an object array of both as
    "Unknown label type: unknown". Object arrays and lists are inspected; other
    arrays hold one type by construction.
    """
    if isinstance(y, (list, tuple)):
        values = y
    elif getattr(y, "dtype", None) is not None and y.dtype.kind == "O":
        values = np.asarray(y, dtype=object).ravel()
    else:
        return
    kinds = set()
    for v in values:
        if isinstance(v, (str, bytes)):
            kinds.add("strings")
        elif isinstance(v, Number):
            kinds.add("numbers")
        else:
            kinds.add(type(v).__name__)
    if len(kinds) > 1:
        raise ValueError(f"y mixes label types ({', '.join(sorted(kinds))}); use one "
                         f"type for all labels, e.g. all strings")


def check_sample_weight(sample_weight, n_samples, dtype):
    """Return sample weights as a C-contiguous (n_samples,) array of ``dtype``.

    ``None`` gives an empty array (the kernel's "all ones"); a scalar is repeated.
    Refuses strings, NaN, inf, a wrong shape, negative weights, all-zero weights and
    weights whose sum overflows.
    """
    if sample_weight is None:
        return np.empty(0, dtype=dtype)
    sample_weight = check_numeric(sample_weight, "sample_weight")
    with np.errstate(over="ignore"):  # float64 -> float32 may overflow: inf, refused
        if np.ndim(sample_weight) == 0:
            sample_weight = np.full(n_samples, sample_weight, dtype=dtype)
        sample_weight = check_array(sample_weight, ensure_2d=False, dtype=dtype,
                                    order="C", input_name="sample_weight")
    if sample_weight.shape != (n_samples,):
        raise ValueError(f"sample_weight must have shape ({n_samples},), "
                         f"got {sample_weight.shape}")
    if np.any(sample_weight < 0):
        raise ValueError("sample_weight must be non-negative")
    if not np.any(sample_weight > 0):
        raise ValueError("sample_weight must not be all zero")
    with np.errstate(over="ignore"):
        total = sample_weight.sum(dtype=np.float64)
    if not np.isfinite(total):
        raise ValueError("sample_weight sums to more than the largest float64; rescale "
                         "the weights (multiplying them all by k is like multiplying C by k)")
    if total < _TINY_WEIGHT_SUM:
        # 1 / sum(weights) and the step sizes built on it would overflow
        raise ValueError(f"sample_weight sums to {total:.3g}, too small to compute with "
                         f"(below {_TINY_WEIGHT_SUM:g}); rescale the weights (multiplying "
                         f"them all by k is like multiplying C by k)")
    return sample_weight


#: The smallest weight sum accepted: its reciprocal, and sums of squares of unit-scale
#: rows divided by it, stay far inside float64's range.
_TINY_WEIGHT_SUM = 1e-150


class FitData(NamedTuple):
    """Validated training data, ready for the objective."""

    X: np.ndarray              # C-contiguous, aligned, float32 or float64
    y: np.ndarray              # 0.0 / 1.0 (two classes) or class indices, X's dtype
    sample_weight: np.ndarray  # (n,) in X's dtype, class weights included; (0,): ones
    classes: np.ndarray        # the sorted labels
    stats: object              # ColumnStats of X for all-ones weights, or None

    @property
    def n_out(self):
        """1 for the binary model, the number of classes for the multinomial one."""
        return 1 if self.classes.size == 2 else self.classes.size


def fit_data(estimator, X, y, sample_weight, *, class_weight, n_threads, classes=None,
             reset=True):
    """Validate X, y and the weights for ``estimator.fit`` / ``partial_fit``.

    Returns a `FitData`: X C-contiguous in float32 or float64 (float32 stays float32),
    y encoded in X's dtype (0.0 / 1.0 for two classes, class indices for more), the
    sample weights times the class weights (an empty array: all ones). ``classes``
    (``partial_fit``) fixes the labels instead of taking them from y. The README's
    "Input contract" lists what is refused and with which message; scikit-learn's
    ``validate_data`` does most of it (and sets ``n_features_in_`` and
    ``feature_names_in_`` on the estimator), this module the rest.
    """
    X = check_numeric(X, "X")
    check_label_types(y)
    passes = passes_unchanged(X, y)
    if passes and reset:
        # scikit-learn's checks would return X and y as they are, and its bookkeeping
        # for a plain ndarray is this (validate_data's DataFrame detection alone, via
        # narwhals, costs tens of microseconds a fit):
        estimator.n_features_in_ = X.shape[1]
        estimator.__dict__.pop("feature_names_in_", None)
    elif passes:
        # its bookkeeping only: the feature count and names checked against the fit
        X, y = validate_data(estimator, X, y, skip_check_array=True, reset=reset)
    else:
        X, y = validate_data(estimator, X, y, dtype=[np.float64, np.float32], order="C",
                             ensure_min_samples=1, reset=reset, accept_sparse="csr")
        check_classification_targets(y)
    if issparse(X):
        X = sparse_rows_input(X)
    elif not X.flags.aligned:
        # a view into a byte buffer: BLAS takes other code paths on unaligned
        # memory (last-bit differences), so one aligned copy keeps every result
        # independent of where X sits in memory
        X = X.copy()
    if classes is not None:  # partial_fit: the classes given up front
        y_index = np.searchsorted(classes, y)
        unknown = (y_index >= classes.size) | \
            (classes[np.minimum(y_index, classes.size - 1)] != y)
        if np.any(unknown):
            raise ValueError(f"y holds labels not in classes: "
                             f"{np.unique(np.asarray(y)[unknown])[:5].tolist()}")
        y_enc = y_index.astype(X.dtype)
    else:
        classes, y_enc = encode_labels(y, X.dtype)
    stats = None
    if passes and not get_config()["assume_finite"]:
        # scikit-learn's finiteness test, fused with the column sums the solvers
        # reuse (and, for two classes, the label sums that give the gradient at
        # w = 0): one kernel pass in place of NumPy's X.sum()
        stats = column_stats(X, np.empty(0, X.dtype), n_threads,
                             y_enc if classes.size == 2 else None)
        if not stats.finite():
            # NaN or inf in X: scikit-learn's own check and message. (Finite values
            # whose sums overflow pass it; the objective's scale check reports them.)
            validate_data(estimator, X, y, dtype=[np.float64, np.float32], order="C",
                          ensure_min_samples=1, reset=reset)
            stats = None
    if classes.size < 2:
        raise ValueError(
            f"y must hold at least 2 classes; got 1 class: {classes.tolist()}")
    sample_weight = check_sample_weight(sample_weight, X.shape[0], X.dtype)
    if class_weight is not None:
        given = sample_weight if sample_weight.size else None
        try:  # scikit-learn >= 1.7 weights "balanced" by the sample weights
            per_class = compute_class_weight(class_weight, classes=classes, y=y,
                                             sample_weight=given)
        except TypeError:
            per_class = compute_class_weight(class_weight, classes=classes, y=y)
        per_class = np.asarray(per_class, dtype=np.float64)
        bad = ~(np.isfinite(per_class) & (per_class >= 0))
        if bad.any():
            raise ValueError(f"class_weight must be finite and non-negative; got "
                             f"{per_class[bad].tolist()} for classes "
                             f"{classes[bad].tolist()}")
        weights = per_class[y_enc.astype(np.intp)].astype(X.dtype)
        sample_weight = sample_weight * weights if sample_weight.size else weights
        if not np.any(sample_weight > 0):
            raise ValueError("sample_weight times class_weight is zero for every row")
    # X's column stats, where computed for all-ones weights, for the solvers
    return FitData(X, y_enc, sample_weight, classes,
                   None if sample_weight.size else stats)


def sparse_rows_input(X):
    """A scipy.sparse X, already CSR (``validate_data(accept_sparse="csr")`` converted
    any other format once), as the kernel's CSR passes take it.

    A CSR matrix is used as it is: its ``data`` and ``indices`` are not copied,
    sorted or not. One case is copied once: a matrix that stores some (row, column)
    entry twice (the entries are summed, ``sum_duplicates``: the sums of squares
    need one value per entry). Column indices outside [0, n_features) or a
    decreasing ``indptr`` (a matrix changed after SciPy checked it) are refused.
    """
    from ._dispatch import kernel

    if kernel.csr_has_duplicates(X.data, X.indices, X.indptr, X.shape[1]):
        X = X.copy()
        X.sum_duplicates()
    return X


def encode_labels(y, dtype):
    """Return ``np.unique(y)`` and y as class indices (0.0 / 1.0 for two) in ``dtype``.

    Numeric y with exactly two values is encoded without sorting a copy (as
    ``np.unique(y, return_inverse=True)`` does, ~30 bytes a row): comparisons with
    the first label and the first other one need 2 bytes a row (1 while the labels
    are encoded), and a few microseconds where ``np.unique`` takes ten.
    """
    if y.dtype.kind in "biuf" and y.size:
        first = y[0]
        is_first = y == first
        n_first = np.count_nonzero(is_first)  # 0 when y[0] is NaN
        if 0 < n_first < y.size:
            other = y[is_first.argmin()]  # the first label that is not y[0]
            is_other = y == other
            if n_first + np.count_nonzero(is_other) == y.size:  # two labels, no NaN
                # one mask at a time beside the encoded labels: 1 + itemsize bytes
                # a row at the peak
                if other < first:
                    del is_other
                    return np.array([other, first], dtype=y.dtype), is_first.astype(dtype)
                del is_first
                return np.array([first, other], dtype=y.dtype), is_other.astype(dtype)
    classes, y_index = np.unique(y, return_inverse=True)
    return classes, y_index.astype(dtype)


def passes_unchanged(X, y):
    """Whether ``validate_data`` + ``check_classification_targets`` would accept X, y
    and return them unchanged, finiteness of X aside (checked in microseconds).

    True for a C-contiguous float64 or float32 ndarray X with at least one row and one
    column, and a 1-D ndarray y of integers, booleans or strings of the same length
    (never a "continuous" or multi-output target). Everything else, including every
    input that must be converted, warned about or refused, is left to scikit-learn's
    validation and its messages. Whether X is finite is tested by the kernel pass of
    `clogreg._rows.column_stats` (in `fit_data`), whose sums the solvers reuse; NaN or
    inf there sends X through scikit-learn's check after all.
    """
    return (type(X) is np.ndarray and type(y) is np.ndarray
            and X.ndim == 2 and y.ndim == 1 and X.shape[0] == y.shape[0]
            and X.shape[0] >= 1 and X.shape[1] >= 1
            and X.dtype in (np.float64, np.float32) and X.flags.c_contiguous
            and y.dtype.kind in "biuU")


def n_threads(n_jobs):
    """Map scikit-learn's n_jobs convention to the number of threads to start.

    ``None`` means 1; ``-1`` all CPUs available to this process, ``-2`` all but one,
    and so on (joblib's rule, never below 1). A count above the CPUs available is cut
    to their number: more threads than cores only slow the passes down (and tens of
    thousands of them exhaust the OpenMP runtime), and results do not depend on it.
    """
    if n_jobs is None:
        return 1
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None, a positive count or -1")
    cpus = available_cpus()
    return min(int(n_jobs), cpus) if n_jobs > 0 else max(1, cpus + 1 + int(n_jobs))


def available_cpus():
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def check_partial_classes(classes):
    """The sorted, distinct labels given to ``partial_fit``, checked like y.

    Refuses what ``fit`` refuses in y: mixed label types, NaN, non-integral floats
    ("continuous" targets), fewer than two classes.
    """
    check_label_types(classes)
    values = np.asarray(classes)
    if values.ndim != 1:
        raise ValueError(f"classes must be 1-D, got shape {values.shape}")
    if values.dtype.kind == "f" and not np.isfinite(values).all():
        raise ValueError(f"classes holds NaN or inf: {values.tolist()}")
    check_classification_targets(values)
    known = np.unique(values)
    if known.size < 2:
        raise ValueError(f"classes must hold at least 2 labels; got {known.tolist()}")
    return known
