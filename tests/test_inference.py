"""Statistical inference (clogreg._inference): against statsmodels' Logit / MNLogit,
finite-difference Hessians, duplicated rows, and constructed separated data."""
import doctest
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import sparse
from scipy.special import log_expit, log_softmax
from sklearn.exceptions import ConvergenceWarning

import clogreg
from clogreg import (
    LogisticRegression,
    PerfectSeparationWarning,
    _covariance,
    _inference,
    _separation,
    detect_separation,
)

sm = pytest.importorskip("statsmodels.api")

RTOL = 1e-6


def assert_cov_close(actual, desired):
    """Entries to 1e-6 relative, near-zero off-diagonal ones to 1e-6 of the largest."""
    desired = np.asarray(desired)
    assert_allclose(actual, desired, rtol=RTOL, atol=RTOL * np.abs(desired).max())


def _fit(X, y, **kw):
    params = {"C": np.inf, "solver": "newton", "tol": 1e-12, "max_iter": 200}
    if len(np.unique(y)) > 2:
        params.update(solver="lbfgs", tol=1e-11, max_iter=10000)
    params.update(kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # tol below what lbfgs reaches
        return LogisticRegression(**params).fit(X, y)


def _synthetic(seed, n, d, correlated=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if correlated:
        X = X @ (np.eye(d) + 0.6 * rng.normal(size=(d, d)))
    beta = rng.normal(size=d) * 0.7
    y = (X @ beta + 0.4 + rng.logistic(size=n) > 0).astype(int)
    return X, y


def _datasets():
    spector = sm.datasets.spector.load_pandas()
    yield "spector", spector.exog.to_numpy(float), spector.endog.to_numpy().astype(int)
    yield "synthetic", *_synthetic(0, 500, 3)
    yield "correlated", *_synthetic(1, 2000, 6, correlated=True)
    yield "wide", *_synthetic(2, 300, 25)


DATASETS = list(_datasets())


@pytest.mark.parametrize("name,X,y", DATASETS, ids=[d[0] for d in DATASETS])
def test_classical_statistics_match_statsmodels_logit(name, X, y):
    clf = _fit(X, y)
    ref = sm.Logit(y, sm.add_constant(X, has_constant="add")).fit(disp=0, tol=1e-12)
    assert_allclose(np.r_[clf.intercept_, clf.coef_[0]], ref.params, rtol=1e-8, atol=1e-10)
    assert_cov_close(clf.cov_params(X, y), ref.cov_params())
    assert_allclose(clf.bse(X, y), ref.bse, rtol=RTOL)
    assert_allclose(clf.pvalues(X, y), ref.pvalues, rtol=RTOL)
    assert_allclose(clf.conf_int(X, y), ref.conf_int(), rtol=RTOL)
    assert_allclose(clf.conf_int(X, y, alpha=0.1), ref.conf_int(alpha=0.1), rtol=RTOL)


def test_without_intercept_matches_statsmodels():
    X, y = _synthetic(3, 400, 3)
    clf = _fit(X, y, fit_intercept=False)
    ref = sm.Logit(y, X).fit(disp=0, tol=1e-12)
    assert clf.parameter_names() == ["x1", "x2", "x3"]
    assert_allclose(clf.bse(X, y), ref.bse, rtol=RTOL)
    assert_allclose(clf.pvalues(X, y), ref.pvalues, rtol=RTOL)


@pytest.mark.parametrize("name,X,y", DATASETS[1:3], ids=[d[0] for d in DATASETS[1:3]])
def test_robust_and_cluster_covariances_match_statsmodels(name, X, y):
    clf = _fit(X, y)
    groups = np.random.default_rng(5).integers(0, 40, X.shape[0])
    exog = sm.add_constant(X)
    hc0 = sm.Logit(y, exog).fit(disp=0, tol=1e-12, cov_type="HC0")
    assert_cov_close(clf.covariance_matrix(X, y, kind="HC0"), hc0.cov_params())
    assert_allclose(clf.conf_int(X, y, kind="HC0"), hc0.conf_int(), rtol=RTOL)
    # statsmodels' Logit gives HC0 for "HC1" (no factor); HC1 is HC0 * n / (n - k)
    n, k = exog.shape
    assert_cov_close(clf.covariance_matrix(X, y, kind="HC1"), hc0.cov_params() * n / (n - k))
    cl = sm.Logit(y, exog).fit(disp=0, tol=1e-12, cov_type="cluster",
                               cov_kwds={"groups": groups})
    assert_cov_close(clf.covariance_matrix(X, y, kind="cluster", clusters=groups), cl.cov_params())
    assert_allclose(clf.pvalues(X, y, kind="cluster", clusters=groups), cl.pvalues,
                    rtol=RTOL)


def _multinomial_data(seed, n, d, K):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    W = rng.normal(size=(K, d))
    y = np.argmax(X @ W.T + rng.gumbel(size=(n, K)), axis=1)
    return X, y


@pytest.mark.parametrize("K", [3, 4])
def test_multinomial_matches_statsmodels_mnlogit(K):
    X, y = _multinomial_data(K, 600, 3, K)
    labels = np.array(["a", "b", "c", "d"])[y]
    clf = _fit(X, labels)
    ref = sm.MNLogit(y, sm.add_constant(X)).fit(disp=0, method="newton", tol=1e-12)
    # statsmodels' params (k, K-1): one column per non-reference class
    assert_allclose(clf.coef_table(X, labels)["coef"].to_numpy(),
                    ref.params.ravel(order="F"), rtol=1e-6, atol=1e-9)
    assert_cov_close(clf.cov_params(X, labels), ref.cov_params())
    assert_allclose(clf.bse(X, labels), ref.bse.ravel(order="F"), rtol=RTOL)
    assert_allclose(clf.pvalues(X, labels), ref.pvalues.ravel(order="F"), rtol=RTOL)
    ci = np.asarray(ref.conf_int()).reshape(K - 1, -1, 2).reshape(-1, 2)
    # intervals to 1e-6 relative, or 1e-6 standard errors where an end is near 0
    assert_allclose(clf.conf_int(X, labels), ci, rtol=RTOL, atol=RTOL * ref.bse.max())
    assert clf.parameter_names()[:2] == ["b:const", "b:x1"]
    groups = np.arange(600) % 37
    cl = sm.MNLogit(y, sm.add_constant(X)).fit(disp=0, method="newton", tol=1e-12,
                                                cov_type="cluster",
                                                cov_kwds={"groups": groups})
    assert_cov_close(clf.cov_params(X, labels, kind="cluster", clusters=groups), cl.cov_params())
    table = clf.summary(X, labels, print_table=False)
    assert_allclose([table.attrs["llf"], table.attrs["aic"], table.attrs["bic"]],
                    [ref.llf, ref.aic, ref.bic], rtol=1e-9)
    assert_allclose(table.attrs["llnull"], ref.llnull, rtol=1e-8)
    assert table.attrs["df_model"] == ref.df_model


def test_summary_matches_statsmodels(capsys):
    _, X, y = DATASETS[2]
    clf = _fit(X, y)
    ref = sm.Logit(y, sm.add_constant(X)).fit(disp=0, tol=1e-12)
    table = clf.summary(X, y)
    printed = capsys.readouterr().out
    m = table.attrs
    assert_allclose([m["llf"], m["llnull"], m["pseudo_r2"], m["aic"], m["bic"], m["llr"]],
                    [ref.llf, ref.llnull, ref.prsquared, ref.aic, ref.bic, ref.llr],
                    rtol=1e-9)
    assert_allclose(m["llr_pvalue"], ref.llr_pvalue, rtol=1e-6)
    assert m["nobs"] == ref.nobs and m["df_model"] == ref.df_model
    assert list(table.index) == ["const"] + [f"x{j}" for j in range(1, 7)]
    assert_allclose(table["z"], ref.tvalues, rtol=RTOL)
    for label in ("Log-likelihood:", "LL-null:", "Pseudo R-squ. (McFadden):", "AIC:",
                  "BIC:", "LLR p-value:", "No. observations:"):
        assert label in printed
    assert f"{ref.llf:.5g}" in printed and f"{ref.bse[1]:.4g}" in printed


def test_summary_names_from_dataframe_and_without_pandas(monkeypatch, capsys):
    pd = pytest.importorskip("pandas")
    X, y = _synthetic(4, 300, 2)
    df = pd.DataFrame(X, columns=["dose", "age"])
    clf = _fit(df, y)
    table = clf.summary(df, y)
    assert list(table.index) == ["const", "dose", "age"]
    assert "dose" in capsys.readouterr().out
    plain_clf = _fit(X, y)
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails
    plain = plain_clf.summary(X, y, print_table=False)
    assert isinstance(plain, dict) and plain["names"] == ["const", "x1", "x2"]
    assert_allclose(plain["std err"], table["std err"].to_numpy(), rtol=1e-15)
    assert_allclose(plain["model"]["llf"], table.attrs["llf"], rtol=1e-15)


def _wald_x2_x3():
    """A fit, statsmodels' model, the restriction R on the parameters x2 and x3
    (indices 2, 3) and statsmodels' Wald test of it."""
    X, y = DATASETS[2][1:]
    clf = _fit(X, y)
    ref = sm.Logit(y, sm.add_constant(X)).fit(disp=0, tol=1e-12)
    R = np.zeros((2, 7))
    R[0, 2] = R[1, 3] = 1.0
    return X, y, clf, ref, R, ref.wald_test(R, scalar=True, use_f=False)


def test_wald_test_matches_statsmodels():
    X, y, clf, ref, _, expected = _wald_x2_x3()
    got = clf.wald_test(X, y, ["x2", "x3"])
    assert_allclose(got.statistic, expected.statistic, rtol=RTOL)
    assert_allclose(got.pvalue, expected.pvalue, rtol=RTOL)
    assert got.df == 2
    R2 = np.array([[0, 1, -1, 0, 0, 0, 0.0]])
    exp2 = ref.wald_test((R2, [0.5]), scalar=True, use_f=False)
    got2 = clf.wald_test(X, y, R=R2, q=[0.5], kind="classical")
    assert_allclose(got2.statistic, exp2.statistic, rtol=RTOL)
    with pytest.raises(ValueError, match="unknown parameter 'nope'"):
        clf.wald_test(X, y, ["nope"])
    with pytest.raises(ValueError, match="exactly one of columns and R"):
        clf.wald_test(X, y)


def _negloglik_binary(theta, X1, y, sw):
    z = X1 @ theta
    return -np.sum(sw * (y * log_expit(z) + (1 - y) * log_expit(-z)))


def _fd_hessian(f, theta, h=1e-4):
    """Central second differences of f (a NumPy reference, not our code)."""
    k = theta.size
    H = np.empty((k, k))
    E = np.eye(k) * h
    for i in range(k):
        for j in range(k):
            H[i, j] = (f(theta + E[i] + E[j]) - f(theta + E[i] - E[j])
                       - f(theta - E[i] + E[j]) + f(theta - E[i] - E[j])) / (4 * h * h)
    return H


@pytest.mark.parametrize("C", [np.inf, 0.5])
def test_classical_covariance_is_inverse_of_finite_difference_hessian(C):
    X, y = _synthetic(6, 300, 3)
    sw = np.random.default_rng(6).uniform(0.2, 2.0, 300)
    clf = _fit(X, y, C=C) if np.isinf(C) else LogisticRegression(
        C=C, solver="newton", tol=1e-12).fit(X, y, sample_weight=sw)
    weights = np.ones(300) if np.isinf(C) else sw
    theta = np.r_[clf.intercept_, clf.coef_[0]]
    X1 = np.column_stack([np.ones(300), X])
    pen = 0.0 if np.isinf(C) else 1.0 / C

    def objective(t):
        return _negloglik_binary(t, X1, y, weights) + 0.5 * pen * t[1:] @ t[1:]
    H = _fd_hessian(objective, theta)
    cov = clf.covariance_matrix(X, y, None if np.isinf(C) else sw)
    assert_allclose(np.linalg.inv(cov), H, rtol=1e-6, atol=1e-6 * np.abs(H).max())


def test_multinomial_covariance_is_inverse_of_finite_difference_hessian():
    X, y = _multinomial_data(7, 400, 2, 3)
    clf = _fit(X, y)
    X1 = np.column_stack([np.ones(400), X])
    full = np.column_stack([clf.intercept_, clf.coef_])
    theta = (full[1:] - full[0]).ravel()

    def negloglik(t):
        Z = np.column_stack([np.zeros(400), X1 @ t.reshape(2, 3).T])
        return -log_softmax(Z, axis=1)[np.arange(400), y].sum()
    H = _fd_hessian(negloglik, theta)
    assert_allclose(np.linalg.inv(clf.covariance_matrix(X, y)), H, rtol=1e-6,
                    atol=1e-6 * np.abs(H).max())


def test_integer_weights_equal_duplicated_rows():
    X, y = _synthetic(8, 300, 3)
    counts = np.random.default_rng(8).integers(1, 4, 300)
    clf = LogisticRegression(C=np.inf, solver="newton", tol=1e-12).fit(
        X, y, sample_weight=counts)
    Xr, yr = np.repeat(X, counts, axis=0), np.repeat(y, counts)
    ref = sm.Logit(yr, sm.add_constant(Xr)).fit(disp=0, tol=1e-12)
    assert_allclose(clf.bse(X, y, counts), ref.bse, rtol=RTOL)
    table = clf.summary(X, y, counts, print_table=False)
    assert_allclose([table.attrs["llf"], table.attrs["llnull"]], [ref.llf, ref.llnull],
                    rtol=1e-9)
    assert table.attrs["nobs"] == counts.sum()


def test_float32_and_sparse_input_accumulate_in_float64():
    X, y = _synthetic(9, 5000, 4)
    X32 = X.astype(np.float32)
    clf = _fit(X32, y)
    # the same coefficients evaluated on float64 data (a float64 NumPy reference)
    theta = np.r_[clf.intercept_, clf.coef_[0]].astype(np.float64)
    X1 = np.column_stack([np.ones(5000), X32.astype(np.float64)])
    p = 1.0 / (1.0 + np.exp(-(X1 @ theta)))
    A = (X1 * (p * (1 - p))[:, None]).T @ X1
    cov = clf.covariance_matrix(X32, y)
    assert cov.dtype == np.float64
    assert_allclose(cov, np.linalg.inv(A), rtol=1e-10)
    dense = clf.covariance_matrix(X32, y, kind="HC0")
    assert_allclose(clf.covariance_matrix(sparse.csr_matrix(X32), y, kind="HC0"), dense,
                    rtol=1e-12)


def test_blocks_give_the_same_statistics_and_n_jobs_changes_nothing(monkeypatch):
    X, y = _synthetic(10, 3000, 3)
    clf = _fit(X, y, n_jobs=1)
    ref = {k: clf.covariance_matrix(X, y, kind=k) for k in ("classical", "HC0")}
    clf.set_params(n_jobs=2)
    for k, v in ref.items():
        assert_array_equal(clf.covariance_matrix(X, y, kind=k), v)
    monkeypatch.setattr(_covariance, "_BLOCK_ELEMS", 1000)  # many small row blocks
    for k, v in ref.items():
        assert_allclose(clf.covariance_matrix(X, y, kind=k), v, rtol=1e-12)
    X32 = X.astype(np.float32)
    clf32 = _fit(X32, y)
    assert_allclose(clf32.covariance_matrix(X32, y), ref["classical"], rtol=1e-4)


def test_l2_sandwich_uses_penalised_hessian():
    X, y = _synthetic(11, 400, 3)
    clf = LogisticRegression(C=0.1, solver="newton", tol=1e-12).fit(X, y)
    theta = np.r_[clf.intercept_, clf.coef_[0]]
    X1 = np.column_stack([np.ones(400), X])
    p = 1.0 / (1.0 + np.exp(-(X1 @ theta)))
    A = (X1 * (p * (1 - p))[:, None]).T @ X1 + np.diag([0, 10.0, 10.0, 10.0])
    S = X1 * (y - p)[:, None]
    Ainv = np.linalg.inv(A)
    assert_allclose(clf.covariance_matrix(X, y, kind="HC0"), Ainv @ S.T @ S @ Ainv,
                    rtol=1e-9)
    table = clf.summary(X, y, print_table=False)
    assert table.attrs["separation"] == "not checked"


def test_refusals():
    X, y = _synthetic(12, 200, 3)
    with pytest.raises(ValueError, match="not defined for L1 or elastic-net"):
        LogisticRegression(C=1.0, l1_ratio=0.5, solver="newton").fit(X, y).bse(X, y)
    clf = _fit(X, y)
    with pytest.raises(ValueError, match="kind must be one of"):
        clf.bse(X, y, kind="HC3")
    with pytest.raises(ValueError, match="needs the cluster labels"):
        clf.bse(X, y, kind="cluster")
    with pytest.raises(ValueError, match="labels not seen in fit"):
        clf.bse(X, np.where(y == 1, 7, 0))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clf.bse(np.where(np.arange(200)[:, None] == 7, np.nan, X), y)
    with pytest.raises(ValueError, match="alpha must be in"):
        clf.coef_table(X, y, alpha=1.5)
    X3, y3 = _multinomial_data(0, 150, 2, 3)
    with pytest.raises(ValueError, match="penalised multinomial"):
        LogisticRegression(C=1.0).fit(X3, y3).bse(X3, y3)
    wide = np.random.default_rng(0).normal(size=(6, _inference.MAX_PARAMS))
    big = LogisticRegression(C=1.0, max_iter=2, tol=0, solver="gd").fit(wide, [0, 1] * 3)
    with pytest.raises(ValueError, match="at most 5001 parameters"):
        big.bse(wide, [0, 1] * 3)
    collinear = np.column_stack([X, X[:, 0] + X[:, 1]])
    with pytest.raises(ValueError, match="singular"):
        LogisticRegression(C=1e6).fit(collinear, y).set_params(C=np.inf).bse(collinear, y)


def test_warns_when_not_at_the_optimum():
    X, y = _synthetic(13, 400, 3)
    clf = _fit(X, y)
    with pytest.warns(ConvergenceWarning, match="not at the optimum for these data"):
        clf.bse(X[::-1], y)


# --------------------------------------------------------------- separation
def test_detect_separation_constructed_cases():
    x = np.arange(8.0)[:, None]
    comp = detect_separation(x, x[:, 0] >= 4)
    assert comp.kind == "complete" and comp.rows.size == 8
    assert comp.columns == ["0", "1"] and comp.direction[1] > 0
    # quasi-complete: a tie at x = 4 has both classes; everything else is separated
    xq = np.r_[np.arange(8.0), 4.0][:, None]
    quasi = detect_separation(xq, np.r_[x[:, 0] >= 4, False])
    assert quasi.kind == "quasi-complete"
    assert sorted(quasi.rows.tolist()) == [0, 1, 2, 3, 5, 6, 7]
    # a binary column that is 1 only for cases (quasi-complete: Albert & Anderson)
    rng = np.random.default_rng(0)
    noise = rng.normal(size=60)
    y = rng.integers(0, 2, 60)
    flag = np.where(y == 1, rng.integers(0, 2, 60), 0).astype(float)
    res = detect_separation(np.column_stack([noise, flag]), y,
                            names=["const", "noise", "flag"])
    assert res.kind == "quasi-complete" and res.columns == ["flag"]
    assert set(res.rows) == set(np.flatnonzero(flag == 1))
    # overlap
    assert detect_separation(np.column_stack([noise, noise ** 2]), y).kind == "none"
    # zero-weight rows do not count
    assert detect_separation(xq, np.r_[x[:, 0] >= 4, False],
                             sample_weight=np.r_[np.ones(8), 0.0]).kind == "complete"


def test_summary_flags_quasi_separated_column():
    rng = np.random.default_rng(1)
    n = 200
    noise = rng.normal(size=n)
    y = (noise + rng.logistic(size=n) > 0).astype(int)
    flag = np.where(y == 1, (rng.uniform(size=n) < 0.2), 0).astype(float)
    X = np.column_stack([noise, flag])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the fit's own warnings
        clf = LogisticRegression(C=np.inf, solver="lbfgs").fit(X, y)
    with pytest.warns(PerfectSeparationWarning, match=r"quasi-complete separation.*"
                      r"estimates of x2 do not exist"):
        table = clf.summary(X, y, print_table=False)
    assert np.isnan(table.loc["x2", "std err"]) and np.isnan(table.loc["x2", "P>|z|"])
    assert np.isfinite(table.loc["x1", "std err"])
    assert table.attrs["separation"] == "quasi-complete"
    assert issubclass(PerfectSeparationWarning, ConvergenceWarning)


def _completely_separated_fit():
    """Six rows split by x > 2.5, fitted without a penalty (it stops with finite
    coefficients), and the data."""
    X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])
    y = np.array([0, 0, 0, 1, 1, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LogisticRegression(C=np.inf, solver="newton").fit(X, y)
    return X, y, clf


def test_complete_separation_gives_nan_statistics():
    X, y, clf = _completely_separated_fit()
    with pytest.warns(PerfectSeparationWarning, match="complete separation"):
        bse = clf.bse(X, y)
    assert np.isnan(bse).all()


def test_multinomial_separation_is_detected_and_flagged():
    rng = np.random.default_rng(2)
    n = 300
    X = rng.normal(size=(n, 2))
    y = rng.integers(0, 2, n)                      # classes 0 and 1 overlap ...
    y[X[:, 1] > 1.0] = 2                           # ... class 2 is x2 > 1 exactly
    res = detect_separation(X, y)
    assert res.kind == "quasi-complete"
    assert set(res.rows) == set(np.flatnonzero(y == 2))
    assert res.direction[:3].tolist() == [0, 0, 0]  # class 1 vs 0: no separation
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = LogisticRegression(C=np.inf, max_iter=300).fit(X, y)
    with pytest.warns(PerfectSeparationWarning, match="quasi-complete separation"):
        table = clf.coef_table(X, y)
    assert np.isfinite(table.loc[["1:const", "1:x1", "1:x2"], "std err"]).all()
    assert np.isnan(table.loc["2:x2", "std err"])
    assert detect_separation(X, np.where(y == 2, 0, y)).kind == "none"


def test_overlapping_data_need_no_linear_program(monkeypatch):
    X, y = _synthetic(14, 2000, 5)
    clf = _fit(X, y)

    X3, y3 = _multinomial_data(3, 2000, 3, 3)
    clf3 = _fit(X3, y3)

    def fail(*args, **kwargs):
        raise AssertionError("the LP ran although the fit certifies overlap")
    monkeypatch.setattr(_separation.optimize, "linprog", fail)
    assert clf.summary(X, y, print_table=False).attrs["separation"] == "none"
    assert clf3.summary(X3, y3, print_table=False).attrs["separation"] == "none"
    # where the cheap bound from the columns' largest values is too loose, the exact
    # pass over the rows certifies
    monkeypatch.setattr(_covariance, "_step_bound", lambda *args: np.inf)
    assert clf.summary(X, y, print_table=False).attrs["separation"] == "none"
    assert clf3.summary(X3, y3, print_table=False).attrs["separation"] == "none"


# --------------------------------------------------------------- doctests
def test_module_docstring_examples_run():
    for module in (_inference, clogreg._firth):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.attempted > 0 and result.failed == 0


def test_readme_inference_example_runs():
    readme = (Path(__file__).resolve().parents[1] / "README.md")
    if not readme.exists():
        pytest.skip("README.md is not next to the tests (installed-wheel run)")
    text = readme.read_text()
    section = text[text.index("## Inference"):]
    section = section[:section.index("\n## ", 5)] if "\n## " in section[5:] else section
    blocks = re.findall(r"```pycon\n(.*?)```", section, flags=re.DOTALL)
    assert blocks, "the README's Inference section has no pycon example"
    parser, runner = doctest.DocTestParser(), doctest.DocTestRunner(
        optionflags=doctest.NORMALIZE_WHITESPACE)
    test = parser.get_doctest("\n".join(blocks), {}, "README-inference", "README.md", 0)
    result = runner.run(test)
    assert result.attempted > 0 and result.failed == 0


def test_wald_test_by_index_and_its_refusals():
    X, y, clf, _, R, expected = _wald_x2_x3()
    got = clf.wald_test(X, y, [2, 3])  # parameter indices: 0 is const
    assert_allclose(got.statistic, expected.statistic, rtol=RTOL)
    with pytest.raises(ValueError, match=r"parameter index 7 out of range 0\.\.6"):
        clf.wald_test(X, y, [1, 7])
    with pytest.raises(ValueError, match="R must have 7 columns \\(one per parameter\\), "
                                         "got 6"):
        clf.wald_test(X, y, R=np.eye(6)[:2])
    with pytest.raises(ValueError, match=r"q must have shape \(2,\), got \(3,\)"):
        clf.wald_test(X, y, R=R, q=[0.0, 0.0, 0.0])


def test_class_weights_are_frequency_weights_and_clusters_are_checked():
    X, y = _synthetic(21, 400, 3)
    clf = _fit(X, y, class_weight={0: 2, 1: 3})
    w = np.where(y == 1, 3, 2)
    # integer class weights: the fit of the rows repeated that often
    ref = sm.Logit(np.repeat(y, w), sm.add_constant(np.repeat(X, w, axis=0))).fit(
        disp=0, tol=1e-12)
    assert_allclose(clf.bse(X, y), ref.bse, rtol=RTOL)
    assert_allclose(clf.bse(X, y, sample_weight=np.full(400, 2.0)),
                    ref.bse / np.sqrt(2.0), rtol=RTOL)
    with pytest.raises(ValueError, match=r"clusters must have shape \(400,\), got \(399,\)"):
        clf.bse(X, y, kind="cluster", clusters=np.arange(399))
    with pytest.raises(ValueError, match="clusters is used only with kind=\"cluster\" "
                                         "\\(kind='HC0'\\)"):
        clf.bse(X, y, kind="HC0", clusters=np.arange(400))


def test_unaligned_x_gives_the_statistics_of_aligned_x():
    X, y = _synthetic(22, 300, 3)
    clf = _fit(X, y)
    buffer = bytearray(X.nbytes + 1)
    unaligned = np.frombuffer(buffer, dtype=np.float64, offset=1,
                              count=X.size).reshape(X.shape)
    unaligned[:] = X
    assert not unaligned.flags.aligned
    ref = sm.Logit(y, sm.add_constant(X)).fit(disp=0, tol=1e-12)
    assert_allclose(clf.bse(unaligned, y), ref.bse, rtol=RTOL)
    assert_allclose(clf.bse(unaligned, y), clf.bse(X, y), rtol=1e-12)


def test_summary_says_when_it_is_penalised_or_separated(capsys):
    X, y = _synthetic(23, 300, 2)
    _fit(X, y, C=1.0).summary(X, y)
    out = capsys.readouterr().out
    assert "L2-penalised fit: the covariance uses the penalised Hessian" in out
    X, y, clf = _completely_separated_fit()
    with pytest.warns(PerfectSeparationWarning, match="complete separation"):
        clf.summary(X, y)
    out = capsys.readouterr().out
    assert "NaN: the estimate diverges (separation); its statistics are undefined." in out
    assert "penalised" not in out


def test_detect_separation_without_intercept_and_with_one_class():
    # through the origin: x > 0 exactly for the positive class, a direction b = (1,)
    x = np.array([[-3.0], [-1.0], [-0.5], [0.5], [2.0], [4.0]])
    y = np.array([0, 0, 0, 1, 1, 1])
    res = detect_separation(x, y, fit_intercept=False, names=["x"])
    assert res.kind == "complete" and res.columns == ["x"] and res.direction[0] > 0
    # shifted, the origin no longer separates them (an intercept would)
    assert detect_separation(x + 2.0, y, fit_intercept=False).kind == "none"
    assert detect_separation(x + 2.0, y).kind == "complete"
    with pytest.raises(ValueError, match="detect_separation needs two or more classes, "
                                         "got 1"):
        detect_separation(x, np.zeros(6))


def test_multinomial_robust_covariance_matches_statsmodels():
    X, y = _multinomial_data(3, 600, 3, 3)
    clf = _fit(X, y)
    ref = sm.MNLogit(y, sm.add_constant(X)).fit(disp=0, method="newton", tol=1e-12,
                                                 cov_type="HC0")
    assert_cov_close(clf.cov_params(X, y, kind="HC0"), ref.cov_params())
    # HC1 = HC0 * n / (n - k), k = 8 parameters
    assert_cov_close(clf.cov_params(X, y, kind="HC1"), ref.cov_params() * 600 / (600 - 8))
