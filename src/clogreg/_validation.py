"""Input checks that scikit-learn's ``validate_data`` / ``check_array`` leave open.

scikit-learn already refuses NaN and inf, empty arrays, 1-D and 3-D X, complex and
sparse data, and names the problem. What it does not refuse, and this module does:

* X or sample_weight made of strings (``<U``/``S`` arrays, or object arrays holding
  strings): NumPy would convert ``"1.5"`` to 1.5 silently;
* dtypes that are not numbers at all (datetime, timedelta, structured): NumPy would
  convert them to float64 silently;
* labels that mix strings and numbers (scikit-learn says "Unknown label type:
  unknown");
* sample weights whose sum overflows.

Booleans and integers are numbers: they are converted to float64 (see the README's
"Input contract").
"""
from numbers import Number

import numpy as np

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
    if getattr(X, "format", None) is not None:  # scipy.sparse: scikit-learn refuses it
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
    from sklearn.utils import check_array  # local: keeps this module's import light

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
    return sample_weight
