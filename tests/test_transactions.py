"""Property test: any sequence of fit, failing fit, partial_fit and set_params leaves
the estimator either unfitted or consistent, and every successful fit of an exact
solver reaches the optimum (against SciPy's L-BFGS-B on a NumPy objective).

The CI profile (tests/conftest.py) runs ``TRANSACTION_EXAMPLES`` sequences.
"""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import multinomial_objective, objective
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning

from clogreg import LogisticRegression

TRANSACTION_EXAMPLES = 2000


@st.composite
def problems(draw):
    n = draw(st.integers(8, 60))
    d = draw(st.integers(1, 4))
    k = draw(st.sampled_from([2, 2, 3]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * 10.0 ** draw(st.integers(-1, 1))
    y = np.arange(n) % k  # every class present
    rng.shuffle(y)
    X += 0.8 * y[:, None] * rng.standard_normal(d)  # some signal, rarely separable
    weighted = draw(st.booleans())
    sw = rng.uniform(0.1, 3.0, n) if weighted else None
    return X, y, sw


PARAMS = st.fixed_dictionaries({
    "C": st.sampled_from([1e-3, 0.1, 1.0, 100.0]),
    "solver": st.sampled_from(["lbfgs", "newton", "gd", "sgd", "auto"]),
    "n_jobs": st.sampled_from([None, 1, 2, 10**6, -1]),
    "fit_intercept": st.booleans(),
    "class_weight": st.sampled_from([None, "balanced"]),
})
BAD = st.sampled_from(["nan", "weights", "one class", "features", "param"])
STEPS = st.lists(st.one_of(st.just(("fit",)), BAD.map(lambda b: ("bad", b)),
                           st.just(("partial",)), PARAMS.map(lambda p: ("set", p))),
                 min_size=1, max_size=5)


def optimum(X, y, sw, C, fit_intercept, class_weight):
    """The objective's minimum by SciPy's L-BFGS-B on the NumPy reference (float64)."""
    classes = np.unique(y)
    k, d = classes.size, X.shape[1]
    s = np.ones(len(y)) if sw is None else np.asarray(sw, float)
    if class_weight == "balanced":
        counts = np.array([s[y == c].sum() for c in classes])
        s = s * (s.sum() / (k * counts))[np.searchsorted(classes, y)]
    n_out = 1 if k == 2 else k

    def f(theta):
        W = theta[:n_out * d].reshape(n_out, d)
        b = theta[n_out * d:] if fit_intercept else np.zeros(n_out)
        if n_out == 1:
            return objective(X, (y == classes[1]).astype(float), W[0], b[0], s, 1.0 / C)
        return multinomial_objective(X, np.searchsorted(classes, y), W, b, s, 1.0 / C)

    size = n_out * d + (n_out if fit_intercept else 0)
    res = minimize(f, np.zeros(size), method="L-BFGS-B",
                   options={"maxiter": 10_000, "ftol": 1e-15, "gtol": 1e-11})
    return res.fun, f


def check_consistent(est, X, y):
    fitted = hasattr(est, "coef_")
    leftovers = [k for k in vars(est) if k.endswith("_") and not k.startswith("__")]
    if not fitted:
        assert not leftovers, f"unfitted but holds {leftovers}"
        return
    k = est.classes_.size
    assert est.coef_.shape == (1 if k == 2 else k, est.n_features_in_)
    assert est.intercept_.shape == (est.coef_.shape[0],)
    assert np.isfinite(est.coef_).all() and np.isfinite(est.intercept_).all()
    proba = est.predict_proba(X[:, :est.n_features_in_])
    assert proba.shape == (len(X), k)


@settings(max_examples=TRANSACTION_EXAMPLES if settings.default.max_examples >= 500
          else settings.default.max_examples)
@given(data=problems(), params=PARAMS, steps=STEPS)
def test_any_sequence_leaves_an_unfitted_or_consistent_estimator(data, params, steps):
    X, y, sw = data
    est = LogisticRegression(max_iter=300, tol=1e-9, random_state=0, **params)
    for step in steps:
        before = hasattr(est, "coef_")
        if step[0] == "fit":
            fit_or_refused(est, X, y, sw)
        elif step[0] == "partial":
            try:
                est.partial_fit(X, y, classes=np.unique(y), sample_weight=sw)
            except ValueError as exc:  # balanced weights, or a model of other features
                assert "balanced" in str(exc) or "features" in str(exc)
                assert hasattr(est, "coef_") == before
        elif step[0] == "set":
            est.set_params(**step[1])
        else:
            Xb, yb, swb, expected = X, y, sw, ValueError
            if step[1] == "nan":
                Xb = X.copy()
                Xb[0, 0] = np.nan
            elif step[1] == "weights":
                swb = -np.ones(len(y))
            elif step[1] == "one class":
                yb = np.zeros(len(y), int)
            elif step[1] == "features":
                Xb = np.hstack([X, X])[:, :X.shape[1] + 1]
                expected = None  # a refit with more features is fine
            else:
                est.set_params(C=-1.0)
            if expected is None:
                fit_or_refused(est, Xb, yb, swb)
            else:
                with pytest.raises(expected):
                    est.fit(Xb, yb, sample_weight=swb)
                assert not hasattr(est, "coef_"), "a failed fit left fitted attributes"
            if step[1] == "param":
                est.set_params(C=params["C"])
        check_consistent(est, np.hstack([X, X]), y)


def fit_or_refused(est, X, y, sw):
    """A fit that must succeed; a successful exact fit is optimal."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # gd/sgd may stop short
        est.fit(X, y, sample_weight=sw)
    check_optimal(est, X, y, sw)


def check_optimal(est, X, y, sw):
    """An exact solver's fit at tol 1e-9 is within 1e-6 (relative) of the optimum."""
    if est.solver_ not in ("lbfgs", "newton") or est.stop_reason_ == "max_iter":
        return
    best, f = optimum(X, y, sw, est.C, est.fit_intercept, est.class_weight)
    theta = np.concatenate([est.coef_.astype(float).ravel(),
                            est.intercept_ if est.fit_intercept else []])
    assert f(theta) <= best + 1e-6 * max(1.0, abs(best))
