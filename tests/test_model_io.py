"""Model files (clogreg.save_model / load_model): bit-exact round trips, predictions,
every malformed file refused with a ValueError naming the problem, a load in a fresh
interpreter. The digest the tests recompute after editing a file is the documented
one (sha256 of the canonical JSON of "model"), written here with hashlib and json."""
import base64
import hashlib
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from clogreg import LogisticRegression, load_model, save_model

FITTED = ("coef_", "intercept_", "classes_", "n_features_in_", "solver_",
          "stop_reason_", "n_iter_")


def _data(n_classes, dtype=np.float64, n=120, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(dtype)
    y = np.arange(n) % n_classes
    X[:, 0] += y  # separable enough to learn, not perfectly
    return X, y


def _assert_same(a, b):
    """Every fitted attribute and every parameter identical, dtype and bits."""
    for name in FITTED:
        va, vb = getattr(a, name), getattr(b, name)
        if isinstance(va, np.ndarray):
            assert va.dtype == vb.dtype, name
            assert va.shape == vb.shape, name
            if va.dtype.kind == "f":
                assert va.tobytes() == vb.tobytes(), name  # bit for bit, -0.0 included
            else:
                assert va.tolist() == vb.tolist(), name
        else:
            assert type(va) is type(vb) and va == vb, name
    assert a.history_.keys() == b.history_.keys()
    for k in a.history_:
        assert a.history_[k].dtype == b.history_[k].dtype
        assert a.history_[k].tobytes() == b.history_[k].tobytes()
    pa, pb = a.get_params(), b.get_params()
    assert pa.keys() == pb.keys()
    for k in pa:
        assert type(pa[k]) is type(pb[k]) and (pa[k] == pb[k] or pa[k] != pa[k]), k
    if hasattr(a, "feature_names_in_"):
        assert b.feature_names_in_.dtype == a.feature_names_in_.dtype
        assert b.feature_names_in_.tolist() == a.feature_names_in_.tolist()
    else:
        assert not hasattr(b, "feature_names_in_")


def _round_trip(clf, tmp_path):
    path = tmp_path / "model.json"
    save_model(clf, path)
    return load_model(path)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("labels", ["int64", "int8", "uint16", "bool", "float", "str",
                                    "object_str"])
def test_round_trip_binary_is_bit_exact(tmp_path, dtype, labels):
    X, y = _data(2, dtype)
    y = {"int64": y.astype(np.int64), "int8": (y * 3 - 1).astype(np.int8),
         "uint16": (y + 7).astype(np.uint16), "bool": y.astype(bool),
         "float": y * 2.0 - 1.0, "str": np.array(["neg", "pos"])[y],
         "object_str": np.array(["neg", "pos"], dtype=object)[y]}[labels]
    clf = LogisticRegression(C=2.0).fit(X, y)
    loaded = _round_trip(clf, tmp_path)
    _assert_same(clf, loaded)
    assert loaded.classes_.dtype == clf.classes_.dtype
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))
    assert loaded.predict(X).dtype == clf.predict(X).dtype
    assert loaded.predict_proba(X).tobytes() == clf.predict_proba(X).tobytes()
    assert loaded.decision_function(X).tobytes() == clf.decision_function(X).tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("solver", ["gd", "sgd", "lbfgs"])
def test_round_trip_multiclass_is_bit_exact(tmp_path, dtype, solver):
    X, y = _data(4, dtype)
    clf = LogisticRegression(solver=solver, max_iter=30, tol=0, random_state=3,
                             class_weight="balanced").fit(X, np.array(list("abcd"))[y])
    loaded = _round_trip(clf, tmp_path)
    _assert_same(clf, loaded)
    assert loaded.coef_.shape == (4, 4)
    assert loaded.predict_proba(X).tobytes() == clf.predict_proba(X).tobytes()
    np.testing.assert_array_equal(loaded.predict(X), clf.predict(X))


def test_round_trip_parameters_inf_dict_and_newton(tmp_path):
    X, y = _data(2)
    clf = LogisticRegression(C=np.inf, l1_ratio=0.0, solver="newton", tol=1e-9,
                             fit_intercept=False, class_weight={0: 1.5, 1: 0.25},
                             n_jobs=-1, max_iter=7).fit(X, y)
    loaded = _round_trip(clf, tmp_path)
    _assert_same(clf, loaded)
    assert loaded.C == np.inf and loaded.class_weight == {0: 1.5, 1: 0.25}
    assert loaded.tol == 1e-9 and loaded.fit_intercept is False


def test_round_trip_pandas_feature_names(tmp_path):
    pd = pytest.importorskip("pandas")
    X, y = _data(3)
    df = pd.DataFrame(X, columns=["age", "income", "größe", "x y"])
    clf = LogisticRegression().fit(df, pd.Series(np.array(["lo", "mid", "hi"])[y]))
    loaded = _round_trip(clf, tmp_path)
    _assert_same(clf, loaded)
    assert loaded.feature_names_in_.tolist() == ["age", "income", "größe", "x y"]
    np.testing.assert_array_equal(loaded.predict(df), clf.predict(df))
    with pytest.raises(ValueError, match="feature names"):  # scikit-learn's own check
        loaded.predict(df.rename(columns={"age": "AGE"}))


def test_loaded_model_matches_numpy_reference(tmp_path):
    """The loaded coefficients give the probabilities a NumPy formula gives."""
    X, y = _data(3)
    loaded = _round_trip(LogisticRegression().fit(X, y), tmp_path)
    z = X @ loaded.coef_.T + loaded.intercept_
    p = np.exp(z - z.max(axis=1, keepdims=True))
    np.testing.assert_allclose(loaded.predict_proba(X), p / p.sum(axis=1, keepdims=True),
                               rtol=1e-12)


def test_random_state_instance_is_stored_as_none(tmp_path):
    X, y = _data(2)
    clf = LogisticRegression(solver="sgd", random_state=np.random.RandomState(0),
                             max_iter=5, tol=0).fit(X, y)
    loaded = _round_trip(clf, tmp_path)
    assert loaded.random_state is None
    assert loaded.coef_.tobytes() == clf.coef_.tobytes()


def test_save_refuses_unfitted_and_foreign_estimators(tmp_path):
    with pytest.raises(NotFittedError):
        save_model(LogisticRegression(), tmp_path / "m.json")
    from sklearn.linear_model import LogisticRegression as SkLR

    X, y = _data(2)
    with pytest.raises(ValueError, match="not LogisticRegression|clogreg.LogisticRegression"):
        save_model(SkLR().fit(X, y), tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()


def test_file_is_small_plain_json(tmp_path):
    X, y = _data(2)
    path = tmp_path / "m.json"
    save_model(LogisticRegression().fit(X, y), path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["format"] == "clogreg-model" and doc["format_version"] == 1
    assert path.stat().st_size < 5000
    coef = doc["model"]["attributes"]["coef_"]
    assert coef["dtype"] == "<f8" and coef["shape"] == [1, 4]
    # the documented encoding: base64 of the little-endian bytes
    assert np.frombuffer(base64.b64decode(coef["data"]), "<f8").tolist() == \
        LogisticRegression().fit(X, y).coef_.ravel().tolist()


# --------------------------------------------------------------- malformed files
def _saved(tmp_path, n_classes=2):
    X, y = _data(n_classes)
    path = tmp_path / "model.json"
    save_model(LogisticRegression().fit(X, y), path)
    return path, json.loads(path.read_text(encoding="utf-8"))


def _write(path, doc, redigest=True):
    if redigest and "sha256" in doc:  # the documented digest: reach the check behind it
        canonical = json.dumps(doc["model"], sort_keys=True, separators=(",", ":"),
                               ensure_ascii=True)
        doc["sha256"] = hashlib.sha256(canonical.encode("ascii")).hexdigest()
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _b64(a):
    return base64.b64encode(np.asarray(a).tobytes()).decode("ascii")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "nope.json")


@pytest.mark.parametrize("cut", [1, 10, 100, -30, -2])
def test_truncated_file(tmp_path, cut):
    path, _ = _saved(tmp_path)
    text = path.read_text(encoding="utf-8")
    path.write_text(text[:cut], encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_model(path)


def test_not_json_at_all(tmp_path):
    path = tmp_path / "model.pkl"
    import pickle

    path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ValueError, match="not valid JSON"):
        load_model(path)


def test_tampered_value_changes_the_digest(tmp_path):
    path, doc = _saved(tmp_path)
    coef = np.frombuffer(base64.b64decode(doc["model"]["attributes"]["coef_"]["data"]),
                         "<f8").copy()
    coef[0] = -coef[0]
    doc["model"]["attributes"]["coef_"]["data"] = _b64(coef)
    _write(path, doc, redigest=False)
    with pytest.raises(ValueError, match="sha256 digest does not match"):
        load_model(path)


def test_nan_constant_refused(tmp_path):
    path, doc = _saved(tmp_path)
    text = json.dumps(doc).replace('"max_iter": 100', '"max_iter": NaN')
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="NaN is not allowed"):
        load_model(path)


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(format="xgboost"), "not a clogreg model file"),
    (lambda d: d.update(format_version=2), "format version 2, newer than"),
    (lambda d: d.update(format_version="1"), "format_version' must be an integer"),
    (lambda d: d.update(extra=1), r"unknown key\(s\) in the document: \['extra'\]"),
    (lambda d: d.pop("sha256"), r"missing key\(s\) in the document: \['sha256'\]"),
    (lambda d: d["model"].update(estimator="sklearn.LogisticRegression"),
     "holds 'sklearn.LogisticRegression'"),
    (lambda d: d["model"].update(code="import os"), r"unknown key\(s\) in 'model'"),
    (lambda d: d["model"]["params"].update(penalty="l2"),
     r"unknown parameter\(s\) \['penalty'\]"),
    (lambda d: d["model"]["params"].update(C={"float": "lots"}), "C is not a hex float"),
    (lambda d: d["model"]["params"].update(C={"float": "-0x1p+0"}), "invalid parameters"),
    (lambda d: d["model"]["params"].update(C=[1]), "C has an unsupported value"),
    (lambda d: d["model"]["attributes"].update(dual_coef_=1),
     r"unknown key\(s\) in 'attributes': \['dual_coef_'\]"),
    (lambda d: d["model"]["attributes"].pop("intercept_"),
     r"missing key\(s\) in 'attributes': \['intercept_'\]"),
    (lambda d: d["model"]["attributes"]["coef_"].update(dtype="|O"),
     "coef_ has dtype '|O', not one of"),
    (lambda d: d["model"]["attributes"]["coef_"].update(dtype="<c16"),
     "coef_ has dtype '<c16'"),
    (lambda d: d["model"]["attributes"]["coef_"].update(dtype="<i8"),
     "coef_ must be a 2-D float32 or float64 array"),
    (lambda d: d["model"]["attributes"]["coef_"].update(shape=[2, 2]),
     r"coef_ has shape \(2, 2\); 2 classes and 4 features need \(1, 4\)"),
    (lambda d: d["model"]["attributes"]["coef_"].update(shape=[1, 5]),
     "coef_ holds 32 bytes, its shape"),
    (lambda d: d["model"]["attributes"]["coef_"].update(shape=[1, -4]),
     "coef_ has an invalid shape"),
    (lambda d: d["model"]["attributes"]["coef_"].update(data="!!!"),
     "coef_ data is not valid base64"),
    (lambda d: d["model"]["attributes"]["coef_"].update(data=_b64([np.nan] * 4)),
     "coef_ or intercept_ holds NaN or inf"),
    (lambda d: d["model"]["attributes"]["coef_"].update(pickle="..."),
     r"unknown key\(s\) in coef_"),
    (lambda d: d["model"]["attributes"].update(coef_=[1.0, 2.0]),
     "coef_ must be an encoded array"),
    (lambda d: d["model"]["attributes"]["intercept_"].update(
        dtype="<f4", data=_b64(np.zeros(1, np.float32))),
     "intercept_ must be a 1-D array of coef_'s dtype float64"),
    (lambda d: d["model"]["attributes"]["intercept_"].update(shape=[]),
     "intercept_ must be a 1-D array of coef_'s dtype float64, got 0-D"),
    (lambda d: d["model"]["attributes"]["classes_"].update(data=_b64([1, 0])),
     "classes_ must be sorted and distinct"),
    (lambda d: d["model"]["attributes"]["classes_"].update(data=_b64([0]), shape=[1]),
     "classes_ must be a 1-D array of at least 2 labels"),
    (lambda d: d["model"]["attributes"]["classes_"].update(dtype="<U2"),
     "classes_ has dtype '<U2', not one of"),
    (lambda d: d["model"]["attributes"]["classes_"].update(strings=["a", "b"]),
     r"unknown key\(s\) in classes_: \['data'\]"),
    (lambda d: d["model"]["attributes"].update(n_features_in_=4.0),
     "n_features_in_ must be a positive integer"),
    (lambda d: d["model"]["attributes"].update(n_features_in_=3),
     r"coef_ has shape \(1, 4\); 2 classes and 3 features"),
    (lambda d: d["model"]["attributes"].update(solver_="exec"), "unknown solver_ 'exec'"),
    (lambda d: d["model"]["attributes"]["n_iter_"].update(dtype="<i8",
                                                          data=_b64(np.int64([3]))),
     "n_iter_ must be one non-negative int32"),
    (lambda d: d["model"]["attributes"]["history_"]["loss"].update(
        dtype="<i8"), r"history_\['loss'\] must be a 1-D float array"),
    (lambda d: d["model"]["attributes"].update(
        feature_names_in_={"dtype": "object", "shape": [2], "strings": ["a", "b"]}),
     "feature_names_in_ must be 4 strings"),
    (lambda d: d["model"]["attributes"].update(
        feature_names_in_={"dtype": "object", "shape": [4], "strings": ["a", "b", 3, "d"]}),
     "feature_names_in_ must hold a list of strings"),
    (lambda d: d.update(format_version=0), "invalid format version 0"),
    (lambda d: d.update(model=[1, 2]), "'model' must be a JSON object"),
    (lambda d: d["model"].update(params=[]), "'params' must be a JSON object"),
    (lambda d: d["model"].update(attributes="coef"), "'attributes' must be a JSON object"),
    (lambda d: d["model"]["params"].update(class_weight={"dict": [[1]]}),
     "parameter class_weight must be a list of \\[key, value\\] pairs"),
    (lambda d: d["model"]["params"].update(class_weight={"dict": [[{"dict": []}, 1]]}),
     "parameter class_weight has a dict as a key"),
    (lambda d: d["model"]["attributes"]["coef_"].update(data=4),
     "coef_ data must be a base64 string"),
    (lambda d: d["model"]["attributes"]["classes_"].update(
        data=_b64([0.0, np.nan]), dtype="<f8"), "classes_ holds NaN or inf"),
    (lambda d: d["model"]["attributes"]["classes_"].pop("data") and
     d["model"]["attributes"]["classes_"].update(strings=["a", "b"], dtype="|S1"),
     "classes_ has dtype '\\|S1'; strings must be 'object' or '<U<n>'"),
    (lambda d: d["model"]["attributes"]["classes_"].pop("data") and
     d["model"]["attributes"]["classes_"].update(strings=["a", "b", "c"], dtype="<U1"),
     r"classes_ holds 3 strings, its shape \[2\] needs 2"),
    (lambda d: d["model"]["attributes"]["intercept_"].update(
        shape=[2], data=_b64([0.5, 0.5])), r"intercept_ has shape \(2,\), expected \(1,\)"),
    (lambda d: d["model"]["attributes"].update(stop_reason_=0),
     "stop_reason_ must be a string"),
    (lambda d: d["model"]["attributes"].update(history_=[[0.5]]),
     "history_ must be a JSON object"),
])
def test_malformed_file_is_refused_naming_the_problem(tmp_path, edit, message):
    path, doc = _saved(tmp_path)
    edit(doc)
    _write(path, doc)
    with pytest.raises(ValueError, match=message):
        load_model(path)


def test_string_labels_longer_than_their_dtype(tmp_path):
    X, y = _data(2)
    path = tmp_path / "m.json"
    save_model(LogisticRegression().fit(X, np.array(["a", "b"])[y]), path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["model"]["attributes"]["classes_"]["strings"] = ["a", "bcd"]
    _write(path, doc)
    with pytest.raises(ValueError, match="strings longer than its dtype <U1"):
        load_model(path)


def test_load_in_a_fresh_interpreter(tmp_path):
    """The file alone (no pickle, no shared state) rebuilds the model in a new process."""
    X, y = _data(3, np.float32)
    clf = LogisticRegression().fit(X, np.array(["x", "y", "z"])[y])
    path = tmp_path / "model.json"
    save_model(clf, path)
    np.save(tmp_path / "X.npy", X)
    script = textwrap.dedent(f"""
        import numpy as np, clogreg
        clf = clogreg.load_model({str(path)!r})
        X = np.load({str(tmp_path / "X.npy")!r})
        np.save({str(tmp_path / "proba.npy")!r}, clf.predict_proba(X))
        print(" ".join(clf.predict(X[:5])), clf.coef_.dtype)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == clf.predict(X[:5]).tolist() + ["float32"]
    assert np.load(tmp_path / "proba.npy").tobytes() == clf.predict_proba(X).tobytes()


def test_docstring_examples_run():
    import doctest

    import clogreg._model_io

    result = doctest.testmod(clogreg._model_io, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_numpy_scalar_parameters_round_trip_as_python_values(tmp_path):
    """Parameters given as NumPy scalars are stored as the JSON numbers and booleans
    they equal, and come back as Python values."""
    X, y = _data(2)
    clf = LogisticRegression(C=np.float32(0.5), fit_intercept=np.True_, max_iter=np.int64(50),
                             class_weight={np.int64(0): np.float64(2.0), 1: 1.0}).fit(X, y)
    path = tmp_path / "m.json"
    save_model(clf, path)
    params = load_model(path).get_params()
    assert params["C"] == 0.5 and type(params["C"]) is float
    assert params["fit_intercept"] is True
    assert params["max_iter"] == 50 and type(params["max_iter"]) is int
    assert params["class_weight"] == {0: 2.0, 1: 1.0}
    assert [type(k) for k in params["class_weight"]] == [int, int]
    np.testing.assert_array_equal(load_model(path).predict(X), clf.predict(X))


def test_save_refuses_what_it_cannot_store(tmp_path):
    X, y = _data(2)
    path = tmp_path / "m.json"
    clf = LogisticRegression().fit(X, y)
    clf.set_params(n_jobs=[1, 2])  # set_params does not validate; save_model must not write it
    with pytest.raises(ValueError, match=r"cannot save parameter n_jobs=\[1, 2\]: only "
                                         "numbers, strings"):
        save_model(clf, path)
    clf = LogisticRegression().fit(X, y)
    clf.classes_ = np.array([b"no", b"yes"])  # relabelled with byte strings
    with pytest.raises(ValueError, match="cannot save classes_: byte strings are not "
                                         "supported"):
        save_model(clf, path)
    clf.classes_ = np.array(["2020-01-01", "2020-06-01"], dtype="datetime64[D]")
    with pytest.raises(ValueError, match=r"cannot save classes_: dtype datetime64\[D\] is "
                                         "neither numbers nor strings"):
        save_model(clf, path)
    clf = LogisticRegression().fit(X, y)
    del clf.history_
    with pytest.raises(ValueError, match="cannot save: the estimator has no attribute "
                                         "history_"):
        save_model(clf, path)
    assert not path.exists()  # nothing written by a refused save
