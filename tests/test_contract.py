"""The input contract (README, "Input contract"): one test per row of the table.

Each case asserts the exception type and a fragment of its message, or that the
result is right by a fact that does not come from clogreg (scikit-learn's solution,
a closed form, the data's construction).
"""
import tracemalloc

import numpy as np
import pytest
from scipy import sparse
from scipy.special import logit
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

from clogreg import LogisticRegression


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y = (X[:, 0] + rng.standard_normal(40) > 0).astype(np.int64)  # not separable
    return X, y


def with_value(X, value):
    X = X.copy()
    X[3, 1] = value
    return X


# ---------------------------------------------------------------- refused data
@pytest.mark.parametrize("make_X, error, message", [
    (lambda X: with_value(X, np.nan), ValueError, "Input X contains NaN"),
    (lambda X: with_value(X, np.inf), ValueError, "Input X contains infinity"),
    (lambda X: with_value(X, -np.inf), ValueError, "Input X contains infinity"),
    (lambda X: X[:0], ValueError, r"Found array with 0 sample\(s\)"),
    (lambda X: X[:, :0], ValueError, r"Found array with 0 feature\(s\)"),
    (lambda X: X[:, 0], ValueError, "Expected 2D array, got 1D array"),
    (lambda X: X[:, :, None], ValueError, "Found array with dim 3"),
    (lambda X: X.astype(str), ValueError, "X holds strings"),
    (lambda X: X.astype(str).astype(object), ValueError, "X holds strings"),
    (lambda X: np.where(X > 0, "a", "b").astype(object), ValueError, "X holds strings"),
    (lambda X: X.astype(np.complex128), ValueError, "X is complex"),
    (lambda X: (X + 1j).astype(object), ValueError, "X holds complex numbers"),
    (lambda X: np.full(X.shape, {}, dtype=object), TypeError, "not a number"),
    (lambda X: X.astype("datetime64[s]"), TypeError, "not a number type"),
    (lambda X: X.astype("timedelta64[s]"), TypeError, "not a number type"),
    (lambda X: sparse.csr_matrix(np.where(X > 1, np.nan, X)), ValueError,
     "Input X contains NaN"),
    (lambda X: sparse.csc_matrix(np.where(X > 1, np.inf, X)), ValueError,
     "Input X contains infinity"),
    (lambda X: sparse.csr_matrix(X) * 1e300, ValueError, "overflows float64"),
    (lambda X: X * 1e300, ValueError, "overflows float64"),
    (lambda X: (X * 1e37).astype(np.float32), ValueError, "overflows float32"),
])
def test_bad_X_is_refused(data, make_X, error, message):
    X, y = data
    bad = make_X(X)
    with pytest.raises(error, match=message):
        LogisticRegression().fit(bad, y[:bad.shape[0]])


def test_object_X_with_none_is_refused_as_missing(data):
    X, y = data
    X = X.astype(object)
    X[0, 0] = None
    with pytest.raises(ValueError, match="Input X contains NaN"):
        LogisticRegression().fit(X, y)


def test_string_column_of_a_dataframe_is_named(data):
    pd = pytest.importorskip("pandas")
    X, y = data
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["b"] = frame["b"].astype(str)
    with pytest.raises(ValueError, match="X column 'b' holds strings"):
        LogisticRegression().fit(frame, y)


@pytest.mark.parametrize("make_y, message", [
    (lambda y: np.zeros_like(y), "at least 2 classes; got 1 class"),
    (lambda y: y[:-1], "inconsistent numbers of samples"),
    (lambda y: np.array([1, "b"] * (len(y) // 2), dtype=object), "mixes label types"),
    (lambda y: [0, "a"] * (len(y) // 2), r"mixes label types \(numbers, strings\)"),
    (lambda y: np.linspace(0, 1, len(y)), "Unknown label type: continuous"),
    (lambda y: np.where(y > 0, 1.0, np.nan), "Input y contains NaN"),
    (lambda y: None, "requires y to be passed"),
])
def test_bad_y_is_refused(data, make_y, message):
    X, y = data
    with pytest.raises(ValueError, match=message):
        LogisticRegression().fit(X, make_y(y))


def test_one_sample_is_refused(data):
    X, y = data
    with pytest.raises(ValueError, match="at least 2 classes; got 1 class"):
        LogisticRegression().fit(X[:1], y[:1])


@pytest.mark.parametrize("make_sw, message", [
    (lambda n: np.where(np.arange(n) == 3, np.nan, 1.0), "sample_weight contains NaN"),
    (lambda n: np.where(np.arange(n) == 3, np.inf, 1.0), "sample_weight contains infinity"),
    (lambda n: np.where(np.arange(n) == 3, -1.0, 1.0), "must be non-negative"),
    (lambda n: np.zeros(n), "must not be all zero"),
    (lambda n: np.ones(n - 1), "must have shape"),
    (lambda n: np.ones((n, 1)), "must have shape"),
    (lambda n: np.full(n, 1e307), "sums to more than the largest float64"),
    (lambda n: np.array(["1"] * n), "sample_weight holds strings"),
    (lambda n: np.ones(n, dtype=np.complex128), "sample_weight is complex"),
])
def test_bad_sample_weight_is_refused(data, make_sw, message):
    X, y = data
    with pytest.raises(ValueError, match=message):
        LogisticRegression().fit(X, y, sample_weight=make_sw(len(y)))


def test_sample_weight_too_large_for_float32_is_refused(data):
    X, y = data
    with pytest.raises(ValueError, match="sample_weight contains infinity"):
        LogisticRegression().fit(X.astype(np.float32), y, sample_weight=np.full(40, 1e39))


@pytest.mark.parametrize("params, message", [
    ({"C": 0.0}, "'C' parameter"),
    ({"C": -1.0}, "'C' parameter"),
    ({"C": np.nan}, "'C' parameter"),
    ({"learning_rate": 0.0}, "'learning_rate' parameter"),
    ({"learning_rate": -1.0}, "'learning_rate' parameter"),
    ({"learning_rate": np.inf}, "'learning_rate' parameter"),
    ({"learning_rate": np.nan}, "'learning_rate' parameter"),
    ({"max_iter": 0}, "'max_iter' parameter"),
    ({"max_iter": 2.5}, "'max_iter' parameter"),
    ({"tol": np.nan}, "'tol' parameter"),
    ({"solver": "saga"}, "'solver' parameter"),
    ({"learning_rate": "constant"}, "'learning_rate' parameter"),
    ({"tol": -1.0}, "'tol' parameter"),
    ({"l1_ratio": 1.5}, "'l1_ratio' parameter"),
    ({"class_weight": "auto"}, "'class_weight' parameter"),
    ({"batch_size": 0}, "'batch_size' parameter"),
    ({"lr_schedule": "optimal"}, "'lr_schedule' parameter"),
    # combinations a solver cannot honour (no silent fallback to another algorithm)
    ({"solver": "lbfgs", "l1_ratio": 0.5}, "solver='lbfgs' supports only L2"),
    ({"solver": "lbfgs", "learning_rate": 0.1}, "applies to solver='gd' or 'sgd' only"),
    ({"solver": "newton", "learning_rate": 0.1}, "applies to solver='gd' or 'sgd' only"),
])
def test_bad_parameters_are_refused(data, params, message):
    X, y = data
    with pytest.raises(ValueError, match=message):
        LogisticRegression(**params).fit(X, y)


# ------------------------------------------------------------ converted data
def test_integer_bool_and_object_X_are_converted_to_float64(data):
    X, y = data
    X_int = np.round(X * 10).astype(np.int32)
    X_bool = X > 0
    for converted, floats in [(X_int, X_int.astype(np.float64)),
                              (X_bool, X_bool.astype(np.float64)),
                              (X.astype(object), X),
                              (X.tolist(), X)]:
        clf = LogisticRegression(max_iter=20, tol=0).fit(converted, y)
        ref = LogisticRegression(max_iter=20, tol=0).fit(floats, y)
        assert clf.coef_.dtype == np.float64
        np.testing.assert_array_equal(clf.coef_, ref.coef_)


def test_string_and_bool_labels_are_accepted(data):
    X, y = data
    for labels, classes in [(np.array(["no", "yes"])[y], ["no", "yes"]),
                            (y > 0, [False, True]),
                            ([str(v) for v in y], ["0", "1"])]:
        clf = LogisticRegression().fit(X, labels)
        assert clf.classes_.tolist() == classes
        assert set(clf.predict(X).tolist()) <= set(classes)


def test_scalar_sample_weight_is_every_rows_weight(data):
    X, y = data
    clf = LogisticRegression(max_iter=20, tol=0).fit(X, y, sample_weight=2.0)
    ref = LogisticRegression(max_iter=20, tol=0).fit(X, y, sample_weight=np.full(40, 2.0))
    np.testing.assert_array_equal(clf.coef_, ref.coef_)


def peak_allocation(fn):
    """Bytes allocated at the peak while fn runs (NumPy's buffers included)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_read_only_X_is_used_without_copy_and_layouts_are_copied():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((4000, 250))  # 8 MB
    y = (X[:, 0] > 0).astype(np.int64)
    fit = LogisticRegression(max_iter=2, tol=0).fit
    read_only = X.copy()
    read_only.setflags(write=False)
    assert peak_allocation(lambda: fit(read_only, y)) < X.nbytes / 4
    assert peak_allocation(lambda: fit(np.asfortranarray(X), y)) >= X.nbytes
    wide = np.repeat(X, 2, axis=1)
    assert peak_allocation(lambda: fit(wide[:, ::2], y)) >= X.nbytes
    ref = fit(X, y).coef_.copy()
    for variant in (read_only, np.asfortranarray(X), wide[:, ::2]):
        np.testing.assert_array_equal(fit(variant, y).coef_, ref)


# ------------------------------------------------------------- predict time
def test_predict_checks_the_number_of_features(data):
    X, y = data
    clf = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but LogisticRegression "
                                         "is expecting 3 features"):
        clf.predict(X[:, :2])
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clf.predict_proba(with_value(X, np.nan))


@pytest.mark.parametrize("make_X, error, message", [
    (lambda X: X.astype(str).astype(object), ValueError, "X holds strings"),
    (lambda X: X.astype(str), ValueError, "X holds strings"),
    (lambda X: X.astype("datetime64[s]"), TypeError, "not a number type"),
    (lambda X: X.astype(np.complex128), ValueError, "X is complex"),
])
def test_predict_refuses_what_fit_refuses(data, make_X, error, message):
    X, y = data
    clf = LogisticRegression().fit(X, y)
    for method in (clf.predict, clf.predict_proba, clf.decision_function):
        with pytest.raises(error, match=message):
            method(make_X(X))


@pytest.mark.parametrize("method", ["predict", "predict_proba", "decision_function"])
def test_predict_before_fit_or_after_a_failed_fit(data, method):
    X, y = data
    with pytest.raises(NotFittedError, match="not fitted yet"):
        getattr(LogisticRegression(), method)(X)
    failed = LogisticRegression()
    with pytest.raises(ValueError, match="at least 2 classes"):
        failed.fit(X, np.zeros_like(y))
    with pytest.raises(NotFittedError, match="not fitted yet"):
        getattr(failed, method)(X)


# ------------------------------------------------------------ extreme values
def test_huge_float32_values_train_with_the_bound_in_float64(data):
    # |x| ~ 1e19: squares overflow float32, but the step bound is computed in float64.
    # fit(k X, C) is fit(X, C k^2): for k = 1e19 the penalty vanishes, so coef * k is
    # scikit-learn's unpenalised solution on X.
    X, y = data
    clf = LogisticRegression(solver="gd", tol=1e-5, max_iter=200_000)
    with pytest.warns(ConvergenceWarning, match="did not reach tol"):
        clf.fit((X * 1e19).astype(np.float32), y)  # gd with one step: badly conditioned
    ref = SkLogisticRegression(C=np.inf, tol=1e-10).fit(X, y)
    assert clf.coef_.dtype == np.float32 and np.all(np.isfinite(clf.coef_))
    # the direction of the coefficients is right even where the intercept lags
    cos = (clf.coef_ @ ref.coef_.T).item() / (np.linalg.norm(clf.coef_) *
                                              np.linalg.norm(ref.coef_))
    assert cos > 0.9


@pytest.mark.parametrize("solver", ["gd", "newton"])
def test_tiny_values_train_to_the_closed_form_solution(data, solver):
    # For |x| ~ 1e-300 every z_i is the intercept b to double precision, so the
    # optimum is sigmoid(b) = mean(y) and w = C * X.T @ (y - mean(y)). (lbfgs, the
    # default, judges progress by the objective, which w then changes by ~1e-600:
    # below rounding; its probabilities are still optimal, checked next.)
    X, y = data
    Xt = X * 1e-300
    ybar = y.mean()
    clf = LogisticRegression(C=2.0, solver=solver, tol=0, max_iter=1000).fit(Xt, y)
    np.testing.assert_allclose(clf.coef_.ravel(), 2.0 * Xt.T @ (y - ybar), rtol=1e-9)
    assert clf.intercept_[0] == pytest.approx(logit(ybar), rel=1e-9)
    # with the default tol the fit stops once the intercept is right: the objective
    # is then optimal to double precision, and so are the probabilities.
    clf = LogisticRegression(C=2.0).fit(Xt, y)
    np.testing.assert_allclose(clf.predict_proba(Xt)[:, 1], ybar, rtol=1e-4)
    assert np.all(np.isfinite(clf.coef_)) and np.all(np.abs(clf.coef_) < 1e-290)


# ------------------------------------------------- divergence and separability
def test_overflowing_loss_raises_and_leaves_the_estimator_unfitted(data):
    X, y = data
    clf = LogisticRegression().fit(X, y)
    # A step of 1e307 takes the coefficients to ~1e308 and z = X w overflows.
    with pytest.raises(FloatingPointError, match="non-finite at iteration 1"):
        clf.set_params(C=np.inf, solver="gd", learning_rate=1e307, max_iter=50,
                       tol=0).fit(X, y)
    assert not hasattr(clf, "coef_")
    with pytest.raises(NotFittedError):
        clf.predict(X)


def separable_data():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((60, 2))
    y = (X @ np.array([1.0, -2.0]) + 0.3 > 0).astype(np.int64)
    X += np.where(y[:, None] == 1, 0.2, -0.2) * np.array([1.0, -2.0]) / np.sqrt(5)
    return X, y  # the margin is at least 0.2 by construction


@pytest.mark.parametrize("max_iter", [100, 20_000])
def test_separable_data_without_penalty_warns_and_stops_finite(max_iter):
    X, y = separable_data()
    clf = LogisticRegression(C=np.inf, max_iter=max_iter)
    with pytest.warns(ConvergenceWarning, match="linearly separable"):
        clf.fit(X, y)
    assert np.all(np.isfinite(clf.coef_)) and np.isfinite(clf.intercept_[0])
    assert clf.score(X, y) == 1.0


def test_separable_data_with_a_penalty_or_tol_0_does_not_warn():
    X, y = separable_data()
    clf = LogisticRegression(C=1.0, tol=1e-6, max_iter=10_000).fit(X, y)
    assert clf.n_iter_[0] < 10_000 and clf.score(X, y) == 1.0
    LogisticRegression(C=np.inf, tol=0, max_iter=50).fit(X, y)  # fixed epochs asked


def test_non_separable_data_without_penalty_does_not_claim_separability(data):
    X, y = data
    clf = LogisticRegression(C=np.inf, tol=1e-6, max_iter=20_000).fit(X, y)
    ref = SkLogisticRegression(C=np.inf, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(clf.coef_, ref.coef_, rtol=1e-4)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("solver", ["lbfgs", "newton", "gd", "sgd"])
def test_one_huge_value_trains_without_numpy_warnings(solver):
    # Found by hypothesis: a line search may try a step so long that the coefficients
    # overflow; that trial must count as "too far", not raise a RuntimeWarning.
    X = np.zeros((16, 3))
    X[0, 2] = 1.7e151
    y = np.where(np.arange(16) == 1, 1, -1)
    sw = np.zeros(16)
    sw[:3] = [2.0, 0.0, 1.0]
    clf = LogisticRegression(C=0.01, solver=solver, max_iter=2).fit(X, y, sample_weight=sw)
    assert np.all(np.isfinite(clf.coef_)) and np.all(np.isfinite(clf.intercept_))
