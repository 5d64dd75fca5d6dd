"""Sparse X end to end: fits on scipy.sparse match the dense fit of ``X.toarray()`` and
scikit-learn's optimum; the input contract for sparse matrices; predictions."""
import functools
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import objective as reference_objective
from reference import sklearn_objective
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLogisticRegression

from clogreg import LogisticRegression, _validation


def text_like(n=400, d=60, density=0.08, n_classes=2, seed=0, dtype=np.float64):
    """Nonnegative sparse counts-like features, labels from a noisy linear model, the
    last two columns and every eleventh row empty."""
    rng = np.random.default_rng(seed)
    X = sp.random(n, d, density=density, format="csr", random_state=seed,
                  data_rvs=lambda k: rng.exponential(1.0, k))
    X = X.tolil()
    X[::11] = 0
    X[:, -2:] = 0
    X = X.tocsr()
    X.eliminate_zeros()
    W = rng.standard_normal((n_classes, d)) * 1.5
    Z = X @ W.T + rng.gumbel(size=(n, n_classes))
    y = Z.argmax(1) if n_classes > 2 else (Z[:, 0] > Z[:, 1]).astype(int)
    return X.astype(dtype), y


def fitted_objective(clf, X, y, sample_weight=None):
    return sklearn_objective(clf, np.asarray(X.toarray() if sp.issparse(X) else X,
                                             dtype=np.float64), y, sample_weight)


def quiet_fit(clf, X, y, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return clf.fit(X, y, **kw)


CONVERGED = [  # (solver, C, l1_ratio, n_classes)
    ("lbfgs", 1.0, 0.0, 2), ("lbfgs", 1.0, 0.0, 3), ("lbfgs", np.inf, 0.0, 2),
    ("newton", 1.0, 0.0, 2), ("newton", np.inf, 0.0, 2), ("newton", 1.0, 1.0, 2),
    ("newton", 1.0, 0.5, 2),
]


@pytest.mark.parametrize("solver, C, l1_ratio, n_classes", CONVERGED)
@pytest.mark.parametrize("weighted", [False, True])
def test_sparse_fit_matches_the_dense_fit(solver, C, l1_ratio, n_classes, weighted):
    X, y = text_like(n_classes=n_classes, seed=1, d=60 if np.isfinite(C) else 20,
                     density=0.08 if np.isfinite(C) else 0.3)
    sw = np.random.default_rng(2).uniform(0.2, 2.0, len(y)) if weighted else None
    kw = {"C": C, "l1_ratio": l1_ratio, "solver": solver, "tol": 1e-10, "max_iter": 2000}
    sparse_fit = quiet_fit(LogisticRegression(**kw), X, y, sample_weight=sw)
    dense_fit = quiet_fit(LogisticRegression(**kw), X.toarray(), y, sample_weight=sw)
    f_sparse = fitted_objective(sparse_fit, X, y, sw)
    f_dense = fitted_objective(dense_fit, X, y, sw)
    assert f_sparse == pytest.approx(f_dense, rel=1e-10)
    assert sparse_fit.stop_reason_ in ("converged", "line_search")
    assert sparse_fit.coef_.shape == dense_fit.coef_.shape
    assert sparse_fit.history_["loss"][-1] == pytest.approx(f_sparse, rel=1e-12)


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("l1_ratio", [0.0, 0.7])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sparse_gd_takes_the_dense_steps(n_classes, l1_ratio, dtype):
    # the same algorithm, the same numerics per row: only the order of the sums differs
    X, y = text_like(n_classes=n_classes, seed=3, dtype=dtype)
    kw = {"C": 2.0, "l1_ratio": l1_ratio, "solver": "gd", "tol": 0, "max_iter": 40}
    sparse_fit = LogisticRegression(**kw).fit(X, y)
    dense_fit = LogisticRegression(**kw).fit(X.toarray(), y)
    rtol = 1e-10 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(sparse_fit.history_["loss"], dense_fit.history_["loss"],
                               rtol=rtol)
    np.testing.assert_allclose(sparse_fit.coef_, dense_fit.coef_, rtol=rtol,
                               atol=rtol * np.abs(dense_fit.coef_).max())
    np.testing.assert_allclose(sparse_fit.history_["accuracy"],
                               dense_fit.history_["accuracy"], atol=0.6)
    assert sparse_fit.coef_.dtype == dtype and sparse_fit.n_iter_[0] == 40


@pytest.mark.parametrize("n_classes", [2, 3])
def test_full_batch_sparse_sgd_is_the_dense_one(n_classes):
    X, y = text_like(n_classes=n_classes, seed=4)
    kw = {"solver": "sgd", "batch_size": len(y), "lr_schedule": "constant", "tol": 0,
          "max_iter": 30, "random_state": 0}
    sparse_fit = LogisticRegression(**kw).fit(X, y)
    dense_fit = LogisticRegression(**kw).fit(X.toarray(), y)
    np.testing.assert_allclose(sparse_fit.history_["loss"], dense_fit.history_["loss"],
                               rtol=1e-10)
    np.testing.assert_allclose(sparse_fit.coef_, dense_fit.coef_, rtol=1e-9, atol=1e-12)


def test_minibatch_sparse_sgd_approaches_the_optimum_and_is_reproducible():
    X, y = text_like(n=2000, seed=5)
    kw = {"C": 1.0, "solver": "sgd", "batch_size": 32, "max_iter": 60, "tol": 0,
          "random_state": 3, "learning_rate": 2.0}
    a = LogisticRegression(**kw).fit(X, y)
    b = LogisticRegression(**kw).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    best = LogisticRegression(C=1.0, tol=1e-10).fit(X, y)
    gap = fitted_objective(a, X, y) / fitted_objective(best, X, y) - 1
    assert 0 <= gap < 1e-2
    other_seed = LogisticRegression(**{**kw, "random_state": 4}).fit(X, y)
    assert not np.array_equal(a.coef_, other_seed.coef_)


@functools.cache
def sklearn_best(n_classes, C, l1_ratio):
    X, y = text_like(n_classes=n_classes, seed=6)
    solvers = ["saga"] if l1_ratio > 0 else ["lbfgs", "newton-cg"]
    if n_classes == 2:
        solvers.append("liblinear")
    best = np.inf
    for solver in solvers:
        extra = {"intercept_scaling": 1e4} if solver == "liblinear" else {}
        if solver == "liblinear" and l1_ratio not in (0.0, 1.0):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = SkLogisticRegression(C=C, l1_ratio=l1_ratio, solver=solver, tol=1e-12,
                                       max_iter=20_000, **extra).fit(X, y)
        best = min(best, fitted_objective(ref, X, y))
    return best


@pytest.mark.parametrize("solver, C, l1_ratio, n_classes", [
    ("lbfgs", 1.0, 0.0, 2), ("lbfgs", 1.0, 0.0, 3), ("newton", 1.0, 0.0, 2),
    ("newton", 1.0, 1.0, 2), ("newton", 1.0, 0.5, 2), ("gd", 1.0, 0.0, 2),
    ("gd", 1.0, 1.0, 2), ("gd", 1.0, 0.0, 3), ("gd", 1.0, 0.5, 3)])
def test_sparse_fit_reaches_scikit_learns_objective(solver, C, l1_ratio, n_classes):
    X, y = text_like(n_classes=n_classes, seed=6)
    ours = quiet_fit(LogisticRegression(C=C, l1_ratio=l1_ratio, solver=solver, tol=1e-9,
                                        max_iter=100_000), X, y)
    f_ours, best = fitted_objective(ours, X, y), sklearn_best(n_classes, C, l1_ratio)
    assert f_ours <= best * (1 + 1e-8)


def test_auto_picks_newton_cg_for_sparse_binary_l2_and_lbfgs_for_multinomial():
    X, y = text_like(seed=7)
    assert LogisticRegression().fit(X, y).solver_ == "newton"
    X3, y3 = text_like(n_classes=3, seed=7)
    assert LogisticRegression().fit(X3, y3).solver_ == "lbfgs"
    assert LogisticRegression(l1_ratio=1.0).fit(X, y).solver_ == "newton"
    # L1 on sparse X forms no Hessian: "newton" for any width, more columns than rows too
    wide = LogisticRegression(l1_ratio=1.0).fit(sp.csr_matrix((5, 3000)), [0, 1, 0, 1, 0])
    assert wide.solver_ == "newton" and not wide.coef_.any()


@pytest.mark.parametrize("l1_ratio", [1.0, 0.5])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_sparse_l1_newton_on_more_columns_than_rows_reaches_scikit_learns_objective(
        l1_ratio, dtype):
    # 3,000 columns (above the dense rule's 2,000) and 300 rows: the coordinate-descent
    # Newton step (no Hessian) against scikit-learn's saga at a tight tolerance
    X, y = text_like(n=300, d=3000, density=0.01, seed=12)
    ours = LogisticRegression(C=3.0, l1_ratio=l1_ratio, solver="newton", tol=1e-10,
                              max_iter=200).fit(X.astype(dtype), y)
    assert ours.stop_reason_ in ("converged", "line_search") and ours.n_iter_[0] < 60
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = SkLogisticRegression(C=3.0, l1_ratio=l1_ratio, solver="saga", tol=1e-12,
                                   max_iter=50_000).fit(X, y)
    f_ours, f_ref = fitted_objective(ours, X, y), fitted_objective(ref, X, y)
    assert f_ours <= f_ref * (1 + (1e-8 if dtype == np.float64 else 1e-5))
    # sparse solutions; pure L1 keeps at most about as many coefficients as rows
    nonzero = np.count_nonzero(ours.coef_)
    assert 0 < nonzero < (X.shape[0] + 1 if l1_ratio == 1.0 else X.shape[1] // 2)


@pytest.mark.parametrize("fmt", ["csr", "csc", "coo", "lil", "csr_array", "csc_array"])
def test_every_sparse_format_gives_the_csr_fit(fmt):
    X, y = text_like(seed=8)
    if fmt.endswith("_array"):
        Xf = getattr(sp, fmt)(X)
    else:
        Xf = X.asformat(fmt)
    reference = LogisticRegression(tol=1e-10).fit(X, y)
    clf = LogisticRegression(tol=1e-10).fit(Xf, y)
    np.testing.assert_array_equal(clf.coef_, reference.coef_)
    for method in ("decision_function", "predict_proba", "predict_log_proba", "predict"):
        np.testing.assert_allclose(getattr(clf, method)(Xf),
                                   getattr(reference, method)(X.toarray()), rtol=1e-12)
    assert clf.score(Xf, y) == reference.score(X.toarray(), y)


def test_csr_is_used_without_a_copy_and_other_formats_are_converted_once():
    X, y = text_like(seed=9)
    data = _validation.fit_data(LogisticRegression(), X, y, None, class_weight=None,
                                n_threads=1)
    assert data.X.data is X.data and data.X.indices is X.indices
    unsorted = X.copy()
    for i in range(unsorted.shape[0]):  # reverse each row's entries: unsorted indices
        s = slice(unsorted.indptr[i], unsorted.indptr[i + 1])
        unsorted.indices[s] = unsorted.indices[s][::-1]
        unsorted.data[s] = unsorted.data[s][::-1]
    unsorted.has_sorted_indices = False
    data = _validation.fit_data(LogisticRegression(), unsorted, y, None, class_weight=None,
                                n_threads=1)
    assert data.X.indices is unsorted.indices
    data = _validation.fit_data(LogisticRegression(), X.tocsc(), y, None,
                                class_weight=None, n_threads=1)
    assert data.X.format == "csr"
    np.testing.assert_array_equal(data.X.toarray(), X.toarray())


def test_repeated_entries_are_summed_once_as_scipy_does():
    X, y = text_like(seed=10)
    coo = X.tocoo()
    # every entry stored twice, halves of it: the matrix is the same
    dup = sp.csr_matrix((np.concatenate([coo.data / 2, coo.data / 2]),
                         (np.concatenate([coo.row, coo.row]),
                          np.concatenate([coo.col, coo.col]))), shape=X.shape)
    a = LogisticRegression(tol=1e-10).fit(X, y)
    b = LogisticRegression(tol=1e-10).fit(dup, y)
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=1e-9, atol=1e-12)
    # a CSR that stores entries twice without SciPy knowing (built from raw arrays)
    rows = [np.repeat(np.arange(X.indptr[i], X.indptr[i + 1]), 2)
            for i in range(X.shape[0])]
    order = np.concatenate(rows)
    raw = sp.csr_matrix((X.data[order] / 2, X.indices[order], 2 * X.indptr),
                        shape=X.shape)
    c = LogisticRegression(tol=1e-10).fit(raw, y)
    np.testing.assert_allclose(c.coef_, a.coef_, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_in_data_are_refused_as_for_dense(bad):
    X, y = text_like(seed=11)
    X = X.copy()
    X.data[3] = bad
    with pytest.raises(ValueError) as dense_error:
        LogisticRegression().fit(X.toarray(), y)
    with pytest.raises(ValueError) as sparse_error:
        LogisticRegression().fit(X, y)
    assert str(sparse_error.value) == str(dense_error.value)


def test_a_matrix_whose_indices_disagree_with_its_shape_is_refused():
    X, y = text_like(seed=12)
    X = X.copy()
    X.indices[5] = X.shape[1] + 3      # changed after SciPy checked it
    with pytest.raises(ValueError, match="column indices must lie in"):
        LogisticRegression().fit(X, y)


def test_int64_indices_float32_weights_warm_start_and_partial_fit():
    X, y = text_like(seed=13, dtype=np.float32)
    X64 = X.copy()
    X64.indices = X64.indices.astype(np.int64)
    X64.indptr = X64.indptr.astype(np.int64)
    sw = np.random.default_rng(14).uniform(0.5, 2.0, len(y))
    kw = {"C": 0.5, "tol": 1e-6, "class_weight": "balanced"}
    a = LogisticRegression(**kw).fit(X, y, sample_weight=sw)
    b = LogisticRegression(**kw).fit(X64, y, sample_weight=sw)
    assert a.coef_.dtype == np.float32
    np.testing.assert_array_equal(a.coef_, b.coef_)
    warm = LogisticRegression(warm_start=True, **kw).fit(X, y, sample_weight=sw)
    warm.fit(X, y, sample_weight=sw)
    assert warm.n_iter_[0] <= 1
    partial = LogisticRegression(random_state=0)
    for _ in range(3):
        partial.partial_fit(X, y, classes=[0, 1])
    # three epochs of sgd: the objective falls, and the model is no worse than the
    # majority class (with the intercept's own step it reaches the base rate first)
    loss = partial.history_["loss"]
    assert loss.shape == (3,) and loss[-1] < loss[0]
    assert partial.score(X, y) >= max(np.mean(y), 1 - np.mean(y))


@settings(max_examples=40)
@given(n=st.integers(2, 60), d=st.integers(1, 12), density=st.floats(0.0, 1.0),
       n_dup=st.integers(0, 10), seed=st.integers(0, 2**32 - 1))
def test_random_sparse_matrices_fit_like_their_dense_copies(n, d, density, n_dup, seed):
    rng = np.random.default_rng(seed)
    mask = rng.random((n, d)) < density
    rows, cols = np.nonzero(mask)
    vals = rng.standard_normal(rows.size)
    # repeated COO entries (summed by the conversion to CSR)
    pick = rng.integers(0, max(rows.size, 1), n_dup) if rows.size else np.empty(0, int)
    rows = np.concatenate([rows, rows[pick]])
    cols = np.concatenate([cols, cols[pick]])
    vals = np.concatenate([vals, rng.standard_normal(pick.size)])
    X = sp.coo_matrix((vals, (rows, cols)), shape=(n, d))
    y = rng.integers(0, 2, n)
    y[:2] = [0, 1]
    kw = {"C": 1.0, "tol": 1e-10, "max_iter": 1000}
    sparse_fit = quiet_fit(LogisticRegression(**kw), X, y)
    dense_fit = quiet_fit(LogisticRegression(**kw), X.toarray(), y)
    Xd = X.toarray()
    f_s = reference_objective(Xd, y, sparse_fit.coef_[0], sparse_fit.intercept_[0],
                              alpha_l2=1.0)
    f_d = reference_objective(Xd, y, dense_fit.coef_[0], dense_fit.intercept_[0],
                              alpha_l2=1.0)
    assert f_s == pytest.approx(f_d, rel=1e-9)


def test_readme_text_classification_example_runs():
    import doctest
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Sparse input", 1)[1].split("\n## ", 1)[0]
    test = doctest.DocTestParser().get_doctest(section, {}, "README: Sparse input",
                                               "README.md", 0)
    assert test.examples
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0


def test_wide_sparse_gd_takes_the_dense_steps():
    # beyond 1,000 features the step-size bound comes from the sum of squared row norms
    # (no Gram matrix): the sparse rows compute it from their stored entries
    X, y = text_like(n=150, d=1_200, density=0.01, seed=8)
    kw = {"C": 1.0, "solver": "gd", "tol": 0, "max_iter": 5}
    sparse_fit = LogisticRegression(**kw).fit(X, y)
    dense_fit = LogisticRegression(**kw).fit(X.toarray(), y)
    np.testing.assert_allclose(sparse_fit.history_["loss"], dense_fit.history_["loss"],
                               rtol=1e-12)
    np.testing.assert_allclose(sparse_fit.coef_, dense_fit.coef_, rtol=1e-10,
                               atol=1e-12 * np.abs(dense_fit.coef_).max())


def sgd_stop_epoch(history_loss, n, tol, n_iter_no_change=5):
    """scikit-learn's SGD rule on the mean objective: stop after the epoch that makes
    n_iter_no_change epochs in a row without an improvement of tol on the best."""
    best, stale = np.inf, 0
    for k, loss in enumerate(np.asarray(history_loss) / n):
        stale = stale + 1 if loss > best - tol else 0
        best = min(best, loss)
        if stale >= n_iter_no_change:
            return k + 1
    return None


@pytest.mark.parametrize("n_classes", [2, 3])
def test_sparse_sgd_stops_by_scikit_learns_rule_where_dense_sgd_does(n_classes):
    X, y = text_like(n_classes=n_classes, seed=9)
    kw = {"solver": "sgd", "batch_size": len(y), "lr_schedule": "constant", "tol": 1e-3,
          "max_iter": 500, "random_state": 0}
    sparse_fit = LogisticRegression(**kw).fit(X, y)
    dense_fit = LogisticRegression(**kw).fit(X.toarray(), y)
    assert sparse_fit.stop_reason_ == dense_fit.stop_reason_ == "converged"
    n_iter = int(sparse_fit.n_iter_[0])
    assert n_iter == dense_fit.n_iter_[0] < 500
    assert n_iter == sgd_stop_epoch(sparse_fit.history_["loss"], len(y), 1e-3)
    np.testing.assert_allclose(sparse_fit.history_["loss"], dense_fit.history_["loss"],
                               rtol=1e-10)


def test_sparse_sgd_with_an_overflowing_step_raises_and_leaves_it_unfitted():
    X, y = text_like(seed=10)
    clf = LogisticRegression(C=np.inf, solver="sgd", learning_rate=1e306, max_iter=20,
                             tol=0, random_state=0)
    with pytest.raises(FloatingPointError, match="became non-finite at iteration"):
        clf.fit(X * 1e3, y)
    assert not hasattr(clf, "coef_")
