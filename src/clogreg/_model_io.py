"""Model files without pickle: a fitted estimator as a small, versioned JSON document.

Layout of a file (format ``clogreg-model``, version 1)::

    {"format": "clogreg-model", "format_version": 1,
     "sha256": "<hex digest of the canonical JSON of "model">",
     "model": {"estimator": "clogreg.LogisticRegression", "clogreg_version": "0.1.0",
               "params": {...}, "attributes": {...}}}

Arrays are stored exactly: ``{"dtype": "<f8", "shape": [1, 4], "data": "<base64 of the
little-endian bytes>"}`` for numbers (the dtype from an allow-list of booleans, integers
and floats), ``{"dtype": "<U3" or "object", "shape": [2], "strings": [...]}`` for
strings. Floats among the parameters are stored as ``float.hex`` strings, so that
``inf`` (``C=np.inf``) and every bit survive. Loading parses JSON only and rebuilds
arrays with ``np.frombuffer`` from the allow-listed dtypes: no code from the file is
ever run (unlike ``pickle``), and every deviation from the layout (a newer format
version, a changed digest, a wrong shape or dtype, an unknown key) raises a
``ValueError`` that names it.
"""
from __future__ import annotations

import base64
import hashlib
import json
import math
import os
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ._estimator import LogisticRegression

FORMAT_NAME = "clogreg-model"
FORMAT_VERSION = 1
ESTIMATOR_NAME = "clogreg.LogisticRegression"

# dtypes an array in a model file may have (little-endian, as written)
_NUMBER_DTYPES = {"|b1", "|i1", "|u1", "<i2", "<u2", "<i4", "<u4", "<i8", "<u8",
                  "<f2", "<f4", "<f8"}
_FLOAT_DTYPES = {"<f4", "<f8"}
_SOLVERS = {"gd", "sgd", "lbfgs", "newton"}
_TOP_KEYS = {"format", "format_version", "sha256", "model"}
_MODEL_KEYS = {"estimator", "clogreg_version", "params", "attributes"}
_REQUIRED_ATTRIBUTES = {"coef_", "intercept_", "classes_", "n_features_in_", "solver_",
                        "stop_reason_", "n_iter_", "history_"}
_OPTIONAL_ATTRIBUTES = {"feature_names_in_"}


# ------------------------------------------------------------------ encoding
def _encode_array(a: np.ndarray, name: str) -> dict:
    a = np.asarray(a)
    if a.dtype.kind in "US" or (a.dtype.kind == "O" and all(isinstance(v, str)
                                                             for v in a.ravel())):
        if a.dtype.kind == "S":
            raise ValueError(f"cannot save {name}: byte strings are not supported")
        return {"dtype": "object" if a.dtype.kind == "O" else a.dtype.newbyteorder("<").str,
                "shape": list(a.shape), "strings": [str(v) for v in a.ravel()]}
    if a.dtype.kind not in "biuf":
        raise ValueError(f"cannot save {name}: dtype {a.dtype} is neither numbers nor "
                         f"strings")
    little = a.astype(a.dtype.newbyteorder("<"), copy=False)
    return {"dtype": little.dtype.str, "shape": list(a.shape),
            "data": base64.b64encode(np.ascontiguousarray(little).tobytes()).decode("ascii")}


def _decode_array(doc: Any, name: str) -> np.ndarray:
    if not isinstance(doc, dict):
        raise ValueError(  # noqa: TRY004 (a malformed file is a ValueError throughout)
            f"model file: {name} must be an encoded array (a JSON object)")
    kind = "strings" if "strings" in doc else "data"
    _check_keys(doc, {"dtype", "shape", kind}, name)
    dtype, shape = doc["dtype"], doc["shape"]
    if not (isinstance(shape, list) and len(shape) <= 2
            and all(type(n) is int and n >= 0 for n in shape)):
        raise ValueError(f"model file: {name} has an invalid shape {shape!r}")
    size = math.prod(shape)
    if kind == "strings":
        values = doc["strings"]
        if not (isinstance(values, list) and all(isinstance(v, str) for v in values)):
            raise ValueError(f"model file: {name} must hold a list of strings")
        if dtype == "object":
            out = np.empty(len(values), dtype=object)
            out[:] = values
        elif isinstance(dtype, str) and dtype.startswith("<U") and dtype[2:].isdigit():
            out = np.array(values, dtype=dtype)
            if any(a != b for a, b in zip(out.tolist(), values)):
                raise ValueError(f"model file: {name} holds strings longer than its "
                                 f"dtype {dtype}")
        else:
            raise ValueError(f"model file: {name} has dtype {dtype!r}; strings must be "
                             f"'object' or '<U<n>'")
        if out.size != size:
            raise ValueError(f"model file: {name} holds {out.size} strings, its shape "
                             f"{shape} needs {size}")
        return out.reshape(shape)
    if dtype not in _NUMBER_DTYPES:
        raise ValueError(f"model file: {name} has dtype {dtype!r}, not one of "
                         f"{sorted(_NUMBER_DTYPES)}")
    if not isinstance(doc["data"], str):
        raise ValueError(f"model file: {name} data must be a base64 string")  # noqa: TRY004
    try:
        raw = base64.b64decode(doc["data"].encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as exc:
        raise ValueError(f"model file: {name} data is not valid base64 ({exc})") from None
    dt = np.dtype(dtype)
    if len(raw) != size * dt.itemsize:
        raise ValueError(f"model file: {name} holds {len(raw)} bytes, its shape {shape} "
                         f"and dtype {dtype} need {size * dt.itemsize}")
    out = np.frombuffer(raw, dtype=dt).reshape(shape)
    return out.astype(dt.newbyteorder("="), copy=True)  # native order, writeable


def _encode_value(value: Any, name: str) -> Any:
    """A parameter value as JSON: floats as hex strings (exact, inf included)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return {"float": float(value).hex()}
    if isinstance(value, dict):  # class_weight: keys are class labels
        return {"dict": [[_encode_value(k, name), _encode_value(v, name)]
                         for k, v in value.items()]}
    raise ValueError(f"cannot save parameter {name}={value!r}: only numbers, strings, "
                     f"booleans, None and dicts of these can be stored")


def _decode_value(doc: Any, name: str) -> Any:
    if doc is None or isinstance(doc, (bool, int, str)):
        return doc
    if isinstance(doc, dict) and set(doc) == {"float"} and isinstance(doc["float"], str):
        try:
            return float.fromhex(doc["float"])
        except ValueError:
            raise ValueError(f"model file: parameter {name} is not a hex float: "
                             f"{doc['float']!r}") from None
    if isinstance(doc, dict) and set(doc) == {"dict"} and isinstance(doc["dict"], list):
        out = {}
        for item in doc["dict"]:
            if not (isinstance(item, list) and len(item) == 2):
                raise ValueError(f"model file: parameter {name} must be a list of "
                                 f"[key, value] pairs")
            key = _decode_value(item[0], name)
            if isinstance(key, dict):
                raise ValueError(  # noqa: TRY004
                    f"model file: parameter {name} has a dict as a key")
            out[key] = _decode_value(item[1], name)
        return out
    raise ValueError(f"model file: parameter {name} has an unsupported value {doc!r}")


def _digest(model: dict) -> str:
    canonical = json.dumps(model, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                           allow_nan=False)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _check_keys(doc: dict, expected: set, where: str, optional: frozenset = frozenset()):
    unknown = set(doc) - expected - optional
    if unknown:
        raise ValueError(f"model file: unknown key(s) in {where}: {sorted(unknown)}")
    missing = expected - set(doc)
    if missing:
        raise ValueError(f"model file: missing key(s) in {where}: {sorted(missing)}")


# ------------------------------------------------------------------ public API
def save_model(estimator: LogisticRegression, path: str | os.PathLike[str]) -> None:
    """Save a fitted :class:`~clogreg.LogisticRegression` as a JSON model file.

    The file records the parameters and every fitted attribute (``coef_``,
    ``intercept_``, ``classes_``, ``n_features_in_``, ``feature_names_in_`` when set,
    ``solver_``, ``stop_reason_``, ``n_iter_``, ``history_``) bit for bit, in a
    versioned format that :func:`load_model` reads back without running any code from
    the file (unlike ``pickle``). The state of ``partial_fit`` between calls is not
    stored: a loaded model predicts, and ``fit`` or ``partial_fit`` start afresh.

    Parameters
    ----------
    estimator : LogisticRegression
        A fitted estimator.
    path : str or os.PathLike
        Where to write the file (conventionally ``*.json``); replaced if it exists.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    ValueError
        If a parameter cannot be stored (``random_state`` as a ``RandomState``
        instance is stored as None instead: it only seeds training).

    See Also
    --------
    load_model : Read the file back.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from clogreg import LogisticRegression, load_model, save_model
    >>> X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    >>> clf = LogisticRegression().fit(X, ["no", "no", "yes", "yes"])
    >>> path = os.path.join(tempfile.mkdtemp(), "model.json")
    >>> save_model(clf, path)
    >>> loaded = load_model(path)
    >>> loaded.predict([[3.0]]).tolist()
    ['yes']
    >>> bool(np.array_equal(loaded.coef_, clf.coef_))
    True
    """
    from sklearn.utils.validation import check_is_fitted

    from . import __version__
    from ._estimator import LogisticRegression

    if type(estimator) is not LogisticRegression:
        raise ValueError(f"save_model stores clogreg.LogisticRegression, not "
                         f"{type(estimator).__name__}")
    check_is_fitted(estimator)
    params = {}
    for name, value in estimator.get_params(deep=False).items():
        if name == "random_state" and isinstance(value, np.random.RandomState):
            value = None
        params[name] = _encode_value(value, name)
    attributes = {}
    for name in sorted(_REQUIRED_ATTRIBUTES | _OPTIONAL_ATTRIBUTES):
        if not hasattr(estimator, name):
            if name in _OPTIONAL_ATTRIBUTES:
                continue
            raise ValueError(f"cannot save: the estimator has no attribute {name}")
        value = getattr(estimator, name)
        if name == "history_":
            attributes[name] = {str(k): _encode_array(v, f"history_[{k!r}]")
                                for k, v in value.items()}
        elif name in ("solver_", "stop_reason_"):
            attributes[name] = str(value)
        elif name == "n_features_in_":
            attributes[name] = int(value)
        else:
            attributes[name] = _encode_array(value, name)
    model = {"estimator": ESTIMATOR_NAME, "clogreg_version": __version__,
             "params": params, "attributes": attributes}
    document = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
                "sha256": _digest(model), "model": model}
    text = json.dumps(document, indent=1, allow_nan=False) + "\n"
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def load_model(path: str | os.PathLike[str]) -> LogisticRegression:
    """Load a model file written by :func:`save_model`.

    Only JSON is parsed and arrays are rebuilt from allow-listed dtypes: nothing in
    the file is executed. Every check below happens before an estimator is built.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`save_model`.

    Returns
    -------
    estimator : LogisticRegression
        A fitted estimator whose parameters and fitted attributes equal the saved
        ones bit for bit; its predictions equal the saved estimator's.

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    ValueError
        If the file is not a clogreg model file or is damaged: not JSON (truncated),
        another format, a newer format version, a digest that does not match the
        content (edited or corrupted), unknown or missing keys, or arrays whose dtypes
        or shapes are not those of a fitted model. The message names the problem.

    See Also
    --------
    save_model : Write the file.
    """
    with open(path, "rb") as f:
        raw = f.read()
    try:
        document = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{os.fspath(path)} is not a clogreg model file: not valid JSON "
                         f"(truncated or damaged?): {exc}") from None
    return _from_document(document)


def _refuse_constant(name):
    raise ValueError(f"model file: {name} is not allowed in a model file")


def _from_document(document: Any) -> LogisticRegression:
    from ._estimator import LogisticRegression

    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        raise ValueError(f"not a clogreg model file: the 'format' key must be "
                         f"{FORMAT_NAME!r}")
    version = document.get("format_version")
    if type(version) is not int:
        raise ValueError("model file: 'format_version' must be an integer")
    if version > FORMAT_VERSION:
        raise ValueError(f"model file has format version {version}, newer than the "
                         f"version {FORMAT_VERSION} this clogreg reads; upgrade clogreg")
    if version < 1:
        raise ValueError(f"model file: invalid format version {version}")
    _check_keys(document, _TOP_KEYS, "the document")
    model = document["model"]
    if not isinstance(model, dict):
        raise ValueError("model file: 'model' must be a JSON object")  # noqa: TRY004
    if document["sha256"] != _digest(model):
        raise ValueError("model file: the sha256 digest does not match the content; the "
                         "file was edited or corrupted")
    _check_keys(model, _MODEL_KEYS, "'model'")
    if model["estimator"] != ESTIMATOR_NAME:
        raise ValueError(f"model file holds {model['estimator']!r}; this clogreg reads "
                         f"{ESTIMATOR_NAME!r}")

    params_doc = model["params"]
    if not isinstance(params_doc, dict):
        raise ValueError("model file: 'params' must be a JSON object")  # noqa: TRY004
    known = set(LogisticRegression().get_params(deep=False))
    unknown = set(params_doc) - known
    if unknown:
        raise ValueError(f"model file: unknown parameter(s) {sorted(unknown)}")
    params = {name: _decode_value(v, name) for name, v in params_doc.items()}

    attrs = model["attributes"]
    if not isinstance(attrs, dict):
        raise ValueError("model file: 'attributes' must be a JSON object")  # noqa: TRY004
    _check_keys(attrs, _REQUIRED_ATTRIBUTES, "'attributes'", frozenset(_OPTIONAL_ATTRIBUTES))
    fitted = _decode_attributes(attrs)

    estimator = LogisticRegression(**params)
    try:
        estimator._validate_params()
    except ValueError as exc:
        raise ValueError(f"model file: invalid parameters: {exc}") from None
    for name, value in fitted.items():
        setattr(estimator, name, value)
    return estimator


def _decode_attributes(attrs: dict) -> dict:
    coef = _decode_array(attrs["coef_"], "coef_")
    intercept = _decode_array(attrs["intercept_"], "intercept_")
    classes = _decode_array(attrs["classes_"], "classes_")
    n_features = attrs["n_features_in_"]
    if coef.dtype.str not in _FLOAT_DTYPES or coef.ndim != 2:
        raise ValueError(f"model file: coef_ must be a 2-D float32 or float64 array, got "
                         f"{coef.ndim}-D {coef.dtype}")
    if intercept.dtype != coef.dtype or intercept.ndim != 1:
        raise ValueError(f"model file: intercept_ must be a 1-D array of coef_'s dtype "
                         f"{coef.dtype}, got {intercept.ndim}-D {intercept.dtype}")
    if classes.ndim != 1 or classes.size < 2:
        raise ValueError(f"model file: classes_ must be a 1-D array of at least 2 labels, "
                         f"got shape {classes.shape}")
    if classes.dtype.kind == "f" and not np.all(np.isfinite(classes)):
        raise ValueError("model file: classes_ holds NaN or inf")
    if not np.all(classes[1:] > classes[:-1]):
        raise ValueError("model file: classes_ must be sorted and distinct")
    n_out = 1 if classes.size == 2 else classes.size
    if type(n_features) is not int or n_features < 1:
        raise ValueError(f"model file: n_features_in_ must be a positive integer, got "
                         f"{n_features!r}")
    if coef.shape != (n_out, n_features):
        raise ValueError(f"model file: coef_ has shape {coef.shape}; {classes.size} classes "
                         f"and {n_features} features need {(n_out, n_features)}")
    if intercept.shape != (n_out,):
        raise ValueError(f"model file: intercept_ has shape {intercept.shape}, expected "
                         f"{(n_out,)}")
    if not (np.all(np.isfinite(coef)) and np.all(np.isfinite(intercept))):
        raise ValueError("model file: coef_ or intercept_ holds NaN or inf")
    n_iter = _decode_array(attrs["n_iter_"], "n_iter_")
    if n_iter.dtype != np.int32 or n_iter.shape != (1,) or n_iter[0] < 0:
        raise ValueError(f"model file: n_iter_ must be one non-negative int32, got "
                         f"{n_iter.dtype} of shape {n_iter.shape}")
    if attrs["solver_"] not in _SOLVERS:
        raise ValueError(f"model file: unknown solver_ {attrs['solver_']!r}")
    if not isinstance(attrs["stop_reason_"], str):
        raise ValueError("model file: stop_reason_ must be a string")  # noqa: TRY004
    history_doc = attrs["history_"]
    if not isinstance(history_doc, dict):
        raise ValueError("model file: history_ must be a JSON object")  # noqa: TRY004
    history = {}
    for key in history_doc:  # any names: the estimator may record more in future
        h = _decode_array(history_doc[key], f"history_[{key!r}]")
        if h.dtype.kind != "f" or h.ndim != 1:
            raise ValueError(f"model file: history_[{key!r}] must be a 1-D float array, "
                             f"got {h.ndim}-D {h.dtype}")
        history[key] = h
    fitted = {"coef_": coef, "intercept_": intercept, "classes_": classes,
              "n_features_in_": n_features, "solver_": attrs["solver_"],
              "stop_reason_": attrs["stop_reason_"], "n_iter_": n_iter, "history_": history}
    if "feature_names_in_" in attrs:
        names = _decode_array(attrs["feature_names_in_"], "feature_names_in_")
        if names.dtype != object or names.shape != (n_features,):
            raise ValueError(f"model file: feature_names_in_ must be {n_features} strings "
                             f"(object dtype), got {names.dtype} of shape {names.shape}")
        fitted["feature_names_in_"] = names
    return fitted
