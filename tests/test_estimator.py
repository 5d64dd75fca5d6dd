"""The estimator: API, dtypes, layouts, labels, and scikit-learn's solution."""
import doctest
import pickle

import numpy as np
import pytest
from reference import objective
from sklearn.datasets import make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.preprocessing import StandardScaler

import clogreg
from clogreg import LogisticRegression


@pytest.fixture
def data():
    X, y = make_classification(n_samples=200, n_features=5, n_informative=3,
                               random_state=0)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("solver", ["gd", "lbfgs", "newton"])
def test_matches_scikit_learn_solution(data, solver):
    X, y = data
    ours = LogisticRegression(C=0.5, solver=solver, tol=1e-10, max_iter=50_000).fit(X, y)
    ref = SkLogisticRegression(C=0.5, tol=1e-12, max_iter=10_000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-6)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-7)
    assert ours.n_iter_[0] < 50_000


def test_history_starts_at_n_log_2(data):
    X, y = data
    clf = LogisticRegression(C=np.inf, solver="gd", max_iter=5, tol=0).fit(X, y)
    assert clf.history_["loss"][0] == pytest.approx(len(y) * np.log(2), rel=1e-14)
    assert clf.history_["loss"].shape == clf.history_["accuracy"].shape == (5,)
    assert clf.n_iter_[0] == 5
    assert np.all(np.diff(clf.history_["loss"]) < 0)  # 1/L steps descend


def test_fitted_attributes_and_predictions(data):
    X, y = data
    labels = np.array(["ham", "spam"])[y]
    clf = LogisticRegression().fit(X, labels)
    assert clf.coef_.shape == (1, 5) and clf.intercept_.shape == (1,)
    assert clf.n_features_in_ == 5
    assert list(clf.classes_) == ["ham", "spam"]
    z = clf.decision_function(X)
    np.testing.assert_allclose(z, X @ clf.coef_.ravel() + clf.intercept_[0], rtol=1e-12)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-z)), rtol=1e-12)
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-10)
    assert set(clf.predict(X)) <= {"ham", "spam"}
    np.testing.assert_array_equal(clf.predict(X), np.where(z > 0, "spam", "ham"))
    assert clf.score(X, labels) == np.mean(clf.predict(X) == labels)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), proba)


def test_log_proba_is_finite_for_huge_margins(data):
    X, y = data
    clf = LogisticRegression().fit(X, y)
    assert np.all(np.isfinite(clf.predict_log_proba(X * 1e4)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(data, dtype):
    X, y = data
    clf = LogisticRegression().fit(X.astype(dtype), y)
    assert clf.coef_.dtype == dtype and clf.intercept_.dtype == dtype
    ref = LogisticRegression().fit(X, y)
    np.testing.assert_allclose(clf.coef_, ref.coef_, rtol=1e-4)


def test_integer_X_is_converted_to_float64():
    X = np.array([[0, 1], [1, 0], [2, 2], [3, 1]])
    clf = LogisticRegression(solver="gd", max_iter=10, tol=0).fit(X, [0, 0, 1, 1])
    assert clf.coef_.dtype == np.float64


def test_read_only_and_non_contiguous_inputs(data, tmp_path):
    X, y = data
    ref = LogisticRegression().fit(X, y)
    read_only = X.copy()
    read_only.setflags(write=False)
    path = tmp_path / "X.npy"
    np.save(path, X)
    memmap = np.load(path, mmap_mode="r")
    wide = np.zeros((X.shape[0], 2 * X.shape[1]))
    wide[:, ::2] = X
    for variant in (read_only, memmap, np.asfortranarray(X), wide[:, ::2]):
        clf = LogisticRegression().fit(variant, y)
        np.testing.assert_array_equal(clf.coef_, ref.coef_)


@pytest.mark.parametrize("solver", ["gd", "lbfgs", "newton"])
def test_sample_weight_equals_repeating_rows(data, solver):
    X, y = data
    sw = np.random.default_rng(0).integers(0, 4, size=len(y))
    params = {"solver": solver, "tol": 1e-10, "max_iter": 50_000}
    weighted = LogisticRegression(**params).fit(X, y, sample_weight=sw)
    repeated = LogisticRegression(**params).fit(np.repeat(X, sw, axis=0), np.repeat(y, sw))
    np.testing.assert_allclose(weighted.coef_, repeated.coef_, rtol=1e-6)


@pytest.mark.parametrize("solver", ["gd", "newton"])
def test_l1_gives_sparse_solution_at_the_optimum(data, solver):
    X, y = data
    clf = LogisticRegression(C=0.02, l1_ratio=1.0, solver=solver, tol=1e-9,
                             max_iter=100_000).fit(X, y)
    w, b = clf.coef_.ravel(), clf.intercept_[0]
    assert np.any(w == 0)
    # The optimum: no coordinate move improves the objective (L1 subgradient check).
    alpha = 1 / 0.02
    f0 = objective(X, y, w, b, alpha_l1=alpha)
    for j in range(w.size):
        for h in (1e-4, -1e-4):
            e = np.zeros_like(w)
            e[j] = h
            assert objective(X, y, w + e, b, alpha_l1=alpha) >= f0 - 1e-9


def test_convergence_warning_when_max_iter_is_hit(data):
    X, y = data
    for solver in ("gd", "lbfgs", "newton"):
        with pytest.warns(ConvergenceWarning, match="max_iter=1 "):
            LogisticRegression(solver=solver, max_iter=1).fit(X, y)


def test_verbose_prints_the_tutorial_line(data, capsys):
    X, y = data
    LogisticRegression(C=np.inf, solver="gd", max_iter=3, tol=0, verbose=1).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("Epoch: 0 | Accuracy: ") and lines[0].endswith("Cost: 138.6294")


def test_newton_takes_more_than_two_classes(data):
    # the multinomial proximal Newton: the L2 optimum that lbfgs finds
    X, _ = data
    y = np.arange(len(X)) % 3
    newton = LogisticRegression(solver="newton", tol=1e-10).fit(X, y)
    lbfgs = LogisticRegression(solver="lbfgs", tol=1e-10).fit(X, y)
    assert newton.solver_ == "newton" and newton.coef_.shape == (3, X.shape[1])
    np.testing.assert_allclose(newton.coef_, lbfgs.coef_, rtol=1e-4, atol=1e-6)


def test_docstring_examples_run():
    for module in (clogreg, clogreg._estimator, clogreg._data):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.attempted > 0 and result.failed == 0
