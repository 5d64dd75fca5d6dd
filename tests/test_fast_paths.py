"""The estimator's fast paths give what the full validation gives, and stay lean."""
import tracemalloc

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clogreg import LogisticRegression
from clogreg._validation import encode_labels as _encode_labels
from clogreg._validation import passes_unchanged as _passes_unchanged


def make_data(n=120, d=3, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)).astype(dtype)
    y = (X[:, 0] + 0.5 * rng.standard_normal(n) > 0).astype(np.int64)
    return X, y


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fast_path_fits_like_the_full_validation(dtype):
    X, y = make_data(dtype=dtype)
    assert _passes_unchanged(X, y)
    fast = LogisticRegression(max_iter=20, tol=0).fit(X, y)
    # a list takes scikit-learn's full validation (and becomes float64)
    full = LogisticRegression(max_iter=20, tol=0).fit(X.astype(np.float64).tolist(), y.tolist())
    assert not _passes_unchanged(X.tolist(), y)
    np.testing.assert_array_equal(fast.classes_, full.classes_)
    assert fast.n_features_in_ == full.n_features_in_ == X.shape[1]
    # float32 data against their float64 copy: lbfgs stops where float32's rounding
    # of the loss hides further progress (a gradient of ~1e-5)
    tol = 1e-4 if dtype == np.float32 else 0
    np.testing.assert_allclose(fast.coef_, full.coef_, rtol=tol,
                               atol=tol * np.abs(full.coef_).max())
    assert fast.coef_.dtype == dtype


def test_fast_path_keeps_feature_name_bookkeeping():
    X, y = make_data()
    clf = LogisticRegression(max_iter=5, tol=0).fit(pd.DataFrame(X, columns=["a", "b", "c"]), y)
    assert list(clf.feature_names_in_) == ["a", "b", "c"]
    clf.fit(X, y)  # a plain array: the names are dropped, as validate_data does
    assert not hasattr(clf, "feature_names_in_")


@pytest.mark.parametrize("bad, match", [(np.nan, "NaN"), (np.inf, "infinity")])
def test_nonfinite_X_still_gets_scikit_learns_message(bad, match):
    X, y = make_data()
    X[3, 1] = bad
    with pytest.raises(ValueError, match=match):
        LogisticRegression().fit(X, y)


def test_continuous_y_still_refused():
    X, _ = make_data()
    y = np.linspace(0.0, 1.0, X.shape[0])
    with pytest.raises(ValueError, match="Unknown label type"):
        LogisticRegression().fit(X, y)


@pytest.mark.parametrize("y", [
    np.array([3, 7, 7, 3, 7]),
    np.array([True, False, True]),
    np.array([-1.5, 2.0, 2.0, -1.5]),
    np.array(["no", "yes", "no"]),
    np.array([0, 1, 2, 1]),       # three classes: indices 0, 1, 2
    np.array([4, 4, 4]),          # one class
    np.array([9, 2, 2, 9], dtype=np.uint8),  # the first label is the larger
    np.array([np.nan, 1.0, 1.0]),  # NaN: np.unique's classes, NaN last
    np.array([1.0, np.nan, 0.0]),
    np.array([0.0, -0.0, 1.0]),   # -0.0 == 0.0: two classes
])
def test_label_encoding_matches_numpy_unique(y):
    classes, y01 = _encode_labels(y, np.float32)
    ref_classes, ref_index = np.unique(y, return_inverse=True)
    np.testing.assert_array_equal(classes, ref_classes)
    assert classes.dtype == ref_classes.dtype
    np.testing.assert_array_equal(y01, ref_index.astype(np.float32))
    assert y01.dtype == np.float32


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.sampled_from([0, 1, -3, 7, 2.5, np.nan]), min_size=1,
                       max_size=3, unique=True),
       picks=st.lists(st.integers(0, 2), min_size=1, max_size=30),
       dtype=st.sampled_from([np.int64, np.float64, np.float32, np.uint8, np.bool_]))
def test_label_encoding_matches_numpy_unique_for_any_labels(values, picks, dtype):
    # the two-label fast path (comparisons with y[0] and the first other label) and
    # np.unique's fallback together give np.unique's classes and indices
    values = np.array(values, dtype=np.float64)
    if dtype in (np.int64, np.uint8, np.bool_):
        values = np.unique(np.abs(np.nan_to_num(values, nan=5.0)))
    y = values[np.array(picks) % values.size].astype(dtype)
    classes, index = _encode_labels(y, np.float64)
    ref_classes, ref_index = np.unique(y, return_inverse=True)
    np.testing.assert_array_equal(classes, ref_classes)
    assert classes.dtype == ref_classes.dtype
    np.testing.assert_array_equal(index, ref_index.astype(np.float64))


@pytest.mark.parametrize("solver", ["gd", "lbfgs", "newton"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fit_makes_no_copy_of_X(dtype, solver):
    # Peak extra memory: the encoded labels (8 or 4 bytes a row), a 1-byte mask, and
    # O(n_features) + O(n / CHUNK_ROWS * n_features); never a copy of X (80+ bytes a row).
    n = 50_000
    X, y = make_data(n=n, d=10, dtype=dtype)
    tracemalloc.start()
    try:
        LogisticRegression(solver=solver, max_iter=3, tol=0).fit(X, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak <= 12 * n + 64 * 1024


@pytest.mark.parametrize("name, bad", [("max_iter", 5.0), ("max_iter", 0), ("C", -1.0),
                                       ("solver", "newtonn"), ("tol", np.nan),
                                       ("fit_intercept", 1), ("class_weight", "even")])
def test_parameters_changed_after_a_fit_are_validated_again(name, bad):
    # the second fit skips scikit-learn's parameter validation only for parameters
    # identical (type and value) to ones that passed it
    from sklearn.utils._param_validation import InvalidParameterError

    X, y = make_data()
    clf = LogisticRegression(max_iter=5, tol=0).fit(X, y)
    clf.fit(X, y)
    clf.set_params(**{name: bad})
    with pytest.raises(InvalidParameterError, match=name):
        clf.fit(X, y)


def test_a_class_weight_dict_changed_in_place_is_used():
    X, y = make_data()
    weights = {0: 1.0, 1: 1.0}
    clf = LogisticRegression(class_weight=weights, tol=1e-8).fit(X, y)
    before = clf.coef_.copy()
    weights[1] = 5.0
    after = clf.fit(X, y).coef_
    fresh = LogisticRegression(class_weight={0: 1.0, 1: 5.0}, tol=1e-8).fit(X, y).coef_
    assert not np.allclose(before, after)
    np.testing.assert_array_equal(after, fresh)


def test_unaligned_x_gives_the_same_fit_as_aligned_x():
    # found by hypothesis: BLAS sums differently on unaligned memory (a view into a
    # byte buffer), which changed gd's step size in the last bit; such X is copied
    rng = np.random.default_rng(0)
    for trial in range(300):
        n, d = rng.integers(10, 60), rng.integers(1, 8)
        X = rng.standard_normal((n, d)) * 10.0 ** rng.integers(-5, 5, d)
        X[rng.random((n, d)) < 0.3] = 0
        y = (rng.random(n) < 0.5).astype(int)
        y[:2] = [0, 1]
        sw = rng.random(n) if trial % 2 else None
        buf = np.zeros(X.nbytes + 1, dtype=np.uint8)
        unaligned = buf[1:].view(X.dtype).reshape(X.shape)
        unaligned[...] = X
        assert not unaligned.flags.aligned
        params = {"solver": "gd", "max_iter": int(rng.integers(1, 5)), "tol": 0}
        got = LogisticRegression(**params).fit(unaligned, y, sample_weight=sw)
        want = LogisticRegression(**params).fit(X, y, sample_weight=sw)
        np.testing.assert_array_equal(got.coef_, want.coef_)
        np.testing.assert_array_equal(got.intercept_, want.intercept_)
