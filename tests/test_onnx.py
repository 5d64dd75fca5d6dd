"""ONNX export (clogreg[onnx]): the converted model, run by onnxruntime, predicts the
labels clogreg predicts exactly and its probabilities to 1e-6 (float32) / 1e-12
(float64); binary and multinomial; numeric, boolean and string labels; inside a
scikit-learn pipeline; the class-0 probability of an extreme binary score as SciPy's
expit(-z) gives it."""
import numpy as np
import pytest
from scipy.special import expit

from clogreg import LogisticRegression, load_model, register_onnx_converter, save_model

skl2onnx = pytest.importorskip("skl2onnx", reason="ONNX export needs skl2onnx: pip install "
                    "'clogreg[onnx]' (.ci/run installs it)")
pytest.importorskip("onnx", reason="ONNX export needs onnx: pip install 'clogreg[onnx]'")
ort = pytest.importorskip("onnxruntime", reason="the ONNX tests run models in "
                          "onnxruntime: pip install 'clogreg[onnx]'")
to_onnx = skl2onnx.to_onnx

TOL = {np.float32: 1e-6, np.float64: 1e-12}


@pytest.fixture(scope="module", autouse=True)
def _registered():
    register_onnx_converter()


def _data(n_classes, dtype, n=400, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(dtype)
    y = rng.integers(0, n_classes, size=n)
    X[:, :2] += y[:, None]  # learnable, not separable
    return X, y


def _run(onx, X):
    sess = ort.InferenceSession(onx.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: X})


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_classes, labels", [(2, "int"), (2, "str"), (2, "bool"),
                                               (3, "int"), (3, "str"), (5, "int"),
                                               (5, "str")])
def test_onnxruntime_matches_clogreg(dtype, n_classes, labels):
    X, y = _data(n_classes, dtype)
    y = {"int": y * 10 - 7, "str": np.array(["ant", "bee", "cat", "dog", "eel"])[y],
         "bool": y.astype(bool)}[labels]
    clf = LogisticRegression(C=0.5).fit(X, y)
    onx = to_onnx(clf, X[:1])
    label, proba = _run(onx, X)
    assert [o.name for o in onx.graph.output] == ["label", "probabilities"]
    assert proba.dtype == dtype and proba.shape == (X.shape[0], n_classes)
    assert label.tolist() == clf.predict(X).tolist()  # exactly, in classes_' values
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=0, atol=TOL[dtype])


@pytest.mark.parametrize("n_classes", [2, 4])
def test_zipmap_for_float32(n_classes):
    X, y = _data(n_classes, np.float32)
    clf = LogisticRegression().fit(X, y)
    label, maps = _run(to_onnx(clf, X[:1], options={"zipmap": True}), X)
    assert isinstance(maps, list) and set(maps[0]) == set(range(n_classes))
    assert label.tolist() == clf.predict(X).tolist()
    proba = np.array([[m[c] for c in range(n_classes)] for m in maps])
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=0, atol=1e-6)


def test_zipmap_with_float64_is_refused_clearly():
    X, y = _data(2, np.float64)
    with pytest.raises(ValueError, match="ZipMap takes float32"):
        to_onnx(LogisticRegression().fit(X, y), X[:1], options={"zipmap": True})


def test_integer_input_is_refused_clearly():
    X, y = _data(2, np.float64)
    clf = LogisticRegression().fit(X, y)
    with pytest.raises(TypeError, match="float32 or float64 input"):
        to_onnx(clf, X[:1].astype(np.int64))


def test_binary_class0_probability_is_computed_stably():
    """For a large score, p0 = expit(-z) keeps its relative precision; 1 - p1 is 0."""
    X = np.array([[-1.0], [1.0], [-2.0], [2.5]])
    clf = LogisticRegression(C=np.inf, tol=0, max_iter=5, solver="gd",
                             learning_rate=0.1).fit(X, [0, 1, 0, 1])
    X_far = np.array([[-400.0], [-40.0], [0.0], [40.0], [400.0], [700.0]])
    z = X_far[:, 0] * clf.coef_[0, 0] + clf.intercept_[0]
    assert z.max() > 40 and z.min() < -40  # 1 - p would round to 0 at both ends
    _, proba = _run(to_onnx(clf, X_far[:1]), X_far)
    np.testing.assert_allclose(proba[:, 0], expit(-z), rtol=1e-12, atol=0)
    np.testing.assert_allclose(proba[:, 1], expit(z), rtol=1e-12, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pipeline_with_scaler_converts(dtype):
    """skl2onnx's pipeline parser asks every classifier for ZipMap unless told."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _data(3, dtype)
    X = X * 100 + 5
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    label, proba = _run(to_onnx(pipe, X[:1], options={LogisticRegression: {"zipmap": False}}),
                        X)
    assert label.tolist() == pipe.predict(X).tolist()
    np.testing.assert_allclose(proba, pipe.predict_proba(X), rtol=0, atol=TOL[dtype])


def test_loaded_model_file_converts(tmp_path):
    """save_model -> load_model -> ONNX: the same predictions as the original."""
    X, y = _data(3, np.float64)
    clf = LogisticRegression().fit(X, np.array(["a", "b", "c"])[y])
    save_model(clf, tmp_path / "m.json")
    label, proba = _run(to_onnx(load_model(tmp_path / "m.json"), X[:1]), X)
    assert label.tolist() == clf.predict(X).tolist()
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=0, atol=1e-12)


def test_docstring_example_runs():
    """register_onnx_converter's example, skipped in plain doctest runs (optional
    packages), runs here where they are installed."""
    import doctest

    import clogreg._onnx

    text = clogreg._onnx.register_onnx_converter.__doc__.replace("  # doctest: +SKIP", "")
    test = doctest.DocTestParser().get_doctest(text, {}, "register_onnx_converter",
                                               None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.summarize(verbose=False) == (0, len(test.examples))
    assert len(test.examples) >= 8


@pytest.mark.parametrize("labels", ["int", "str"])
def test_nocl_option_outputs_class_indices(labels):
    """skl2onnx's ``nocl`` option: the label output is the index into ``classes_``."""
    X, y = _data(3, np.float64)
    y = y * 10 + 1 if labels == "int" else np.array(["ant", "bee", "cat"])[y]
    clf = LogisticRegression().fit(X, y)
    label, proba = _run(to_onnx(clf, X[:1], options={"nocl": True}), X)
    assert label.dtype == np.int64
    assert label.tolist() == np.searchsorted(clf.classes_, clf.predict(X)).tolist()
    np.testing.assert_allclose(proba, clf.predict_proba(X), rtol=0, atol=1e-12)


def test_uint64_labels_beyond_int64_are_refused_clearly():
    X, y = _data(2, np.float64)
    labels = np.array([7, 2**63 + 5], dtype=np.uint64)[y]
    clf = LogisticRegression().fit(X, labels)
    assert clf.classes_.tolist() == [7, 2**63 + 5]  # fit takes them as they are
    with pytest.raises(ValueError, match="ONNX labels are int64; classes_ exceed the int64 "
                                         "range"):
        to_onnx(clf, X[:1])


def test_non_integral_float_classes_of_a_model_file_are_refused_clearly(tmp_path):
    """fit never makes such classes (continuous labels), but a model file may hold
    them: the converter names them instead of truncating to int64."""
    import base64
    import hashlib
    import json

    X, y = _data(2, np.float64)
    save_model(LogisticRegression().fit(X, y), tmp_path / "m.json")
    doc = json.loads((tmp_path / "m.json").read_text())
    doc["model"]["attributes"]["classes_"] = {
        "dtype": "<f8", "shape": [2],
        "data": base64.b64encode(np.array([0.5, 1.5]).tobytes()).decode("ascii")}
    canonical = json.dumps(doc["model"], sort_keys=True, separators=(",", ":"))
    doc["sha256"] = hashlib.sha256(canonical.encode("ascii")).hexdigest()
    (tmp_path / "m.json").write_text(json.dumps(doc))
    clf = load_model(tmp_path / "m.json")
    assert clf.classes_.tolist() == [0.5, 1.5]
    with pytest.raises(ValueError, match=r"ONNX labels are int64 or strings; classes_ "
                                         r"\[0.5, 1.5\] are not whole numbers"):
        to_onnx(clf, X[:1])


def test_register_without_skl2onnx_says_what_to_install(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "skl2onnx", None)  # import now fails
    with pytest.raises(ImportError, match=r"ONNX export needs skl2onnx and onnx: pip "
                                          r"install 'clogreg\[onnx\]'"):
        register_onnx_converter()
