"""Regression tests for the reliability issue: extreme parameters, refits that fail,
partial_fit's checks, concurrent use of one estimator, stable probabilities."""
import copy
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pytest
from scipy.special import expit
from sklearn.utils._param_validation import InvalidParameterError

from clogreg import LogisticRegression, _base, _validation


def data(n=300, d=4, seed=0, classes=2):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if classes == 2:
        y = (X[:, 0] + rng.standard_normal(n) > 0).astype(int)
    else:
        y = rng.integers(0, classes, n)
    return X, y


def is_unfitted(est):
    fitted = [k for k in vars(est) if k.endswith("_") and not k.startswith("__")]
    return not fitted and "_sgd_state" not in vars(est)


# ----------------------------------------------------------------- 1. n_jobs
def test_huge_n_jobs_is_capped_at_the_cpus_and_gives_the_same_bits():
    # a subprocess: before the fix this crashed the interpreter inside GOMP_parallel
    code = """
import numpy as np
from clogreg import LogisticRegression
rng = np.random.default_rng(0)
X = rng.standard_normal((20_000, 10)); y = (X[:, 0] > 0).astype(int)
ref = LogisticRegression(n_jobs=1).fit(X, y)
for n_jobs in (100_000, 2**31 - 1, -1, -100_000):
    m = LogisticRegression(n_jobs=n_jobs).fit(X, y)
    assert np.array_equal(m.coef_, ref.coef_), n_jobs
print("ok")
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok"


def test_n_threads_follows_joblib_and_caps_at_available_cpus():
    cpus = _validation.available_cpus()
    assert _validation.n_threads(None) == 1
    assert _validation.n_threads(1) == 1
    assert _validation.n_threads(10**9) == cpus
    assert _validation.n_threads(-1) == cpus
    assert _validation.n_threads(-10**9) == 1
    with pytest.raises(ValueError, match="n_jobs == 0"):
        _validation.n_threads(0)


# ------------------------------------------------------- 2. fit as a transaction
FAILING_REFITS = [
    ("negative weights, string labels", lambda X, y: (X, np.where(y, "a", "b")),
     {"sample_weight": "negative"}, ValueError),
    ("one class", lambda X, y: (X, np.full(len(y), 7)), {}, ValueError),
    ("NaN in X", lambda X, y: (np.where(np.arange(X.size).reshape(X.shape) == 3, np.nan, X), y),
     {}, ValueError),
    ("strings in X", lambda X, y: (X.astype(str), y), {}, ValueError),
    ("wrong sample_weight shape", lambda X, y: (X, y), {"sample_weight": "short"}, ValueError),
    ("bad parameter", lambda X, y: (X, y), {"params": {"C": -1.0}}, InvalidParameterError),
    ("learning rate too large", lambda X, y: (X * 1e150, y),
     {"params": {"solver": "gd", "learning_rate": 1e300, "tol": 0}}, (FloatingPointError,
                                                                     ValueError)),
]


@pytest.mark.parametrize("solver", ["lbfgs", "newton", "gd", "sgd"])
@pytest.mark.parametrize("case", FAILING_REFITS, ids=[c[0] for c in FAILING_REFITS])
def test_a_failed_refit_leaves_the_estimator_unfitted(solver, case):
    _, make, extra, exc = case
    X, y = data()
    est = LogisticRegression(solver=solver, random_state=0, max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    assert hasattr(est, "coef_")
    X2, y2 = make(X, y)
    kwargs = {}
    if extra.get("sample_weight") == "negative":
        kwargs["sample_weight"] = -np.ones(len(y2))
    elif extra.get("sample_weight") == "short":
        kwargs["sample_weight"] = np.ones(3)
    est.set_params(**extra.get("params", {}))
    with pytest.raises(exc):
        est.fit(X2, y2, **kwargs)
    assert is_unfitted(est)
    with pytest.raises(Exception, match="not fitted"):
        est.predict(X)


def test_a_failed_multiclass_refit_leaves_no_mixed_state():
    X, y = data()
    est = LogisticRegression(solver="lbfgs").fit(X, y)
    est.set_params(l1_ratio=0.5)  # refused by lbfgs, after the 3 classes are encoded
    with pytest.raises(ValueError, match="supports only L2"):
        est.fit(*data(classes=3))
    assert is_unfitted(est)


def test_keyboard_interrupt_during_fit_leaves_the_estimator_unfitted(monkeypatch):
    X, y = data()
    est = LogisticRegression().fit(X, y)
    from clogreg import _solvers

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(_solvers, "solve", interrupted)
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)
    assert is_unfitted(est)


def test_a_failed_partial_fit_leaves_the_estimator_unchanged():
    X, y = data()
    est = LogisticRegression(random_state=0).partial_fit(X, y, classes=[0, 1])
    before = copy.deepcopy(vars(est))
    for bad in ({"X": X[:, :2]}, {"y": np.full(len(y), 5)},
                {"sample_weight": -np.ones(len(y))}, {"X": X * np.nan}):
        args = {"X": X, "y": y, **bad}
        with pytest.raises(ValueError):
            est.partial_fit(args["X"], args["y"], sample_weight=args.get("sample_weight"))
        assert vars(est).keys() == before.keys()
        for key, value in before.items():
            got = vars(est)[key]
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(got, value)
        np.testing.assert_array_equal(est._sgd_state.rng_state, before["_sgd_state"].rng_state)
    # and it goes on exactly as if the failures had not happened
    twin = LogisticRegression(random_state=0).partial_fit(X, y, classes=[0, 1])
    np.testing.assert_array_equal(est.partial_fit(X, y).coef_, twin.partial_fit(X, y).coef_)


# ------------------------------------------------------------- 3. sgd intercept
@pytest.mark.parametrize("solver, max_iter, tol", [("gd", 100, 1e-4), ("sgd", 200, 1e-4)])
def test_the_intercept_reaches_the_base_rate_under_a_huge_penalty(solver, max_iter, tol):
    # with C tiny every coefficient is ~0 and the optimum's intercept is the log-odds
    # of the base rate; the intercept is not penalised, so its automatic step must not
    # shrink with the penalty's curvature (before: sgd stopped at -0.007, "converged").
    # gd converges to it; sgd's stopping rule (the mean loss has not improved by tol
    # for 5 epochs) ends it where the loss is flat near the optimum, within 0.2 here.
    rng = np.random.default_rng(0)
    X = rng.standard_normal((1000, 5))
    y = (rng.random(1000) < 0.21).astype(int)
    p = y.mean()
    est = LogisticRegression(C=1e-6, solver=solver, random_state=0, max_iter=max_iter,
                             tol=tol).fit(X, y)
    assert est.stop_reason_ == "converged"
    assert np.abs(est.coef_).max() < 1e-3
    assert est.intercept_[0] == pytest.approx(np.log(p / (1 - p)),
                                              abs=1e-3 if solver == "gd" else 0.2)


# ---------------------------------------------------- 4. partial_fit's checks
@pytest.mark.parametrize("params", [{"C": -1.0}, {"learning_rate": -0.5}, {"l1_ratio": 5.0},
                                    {"C": 0}, {"learning_rate": np.nan}, {"batch_size": 0},
                                    {"max_iter": True}])
def test_partial_fit_validates_parameters_on_every_call(params):
    X, y = data()
    est = LogisticRegression().partial_fit(X, y, classes=[0, 1])
    est.set_params(**params)
    with pytest.raises(InvalidParameterError):
        est.partial_fit(X, y)


@pytest.mark.parametrize("classes, match", [([0, 1, np.nan], "NaN"),
                                            ([0, 0.5, 1], "continuous"),
                                            ([1], "at least 2"),
                                            ([0, "a"], "mixes label types")])
def test_partial_fit_checks_classes_like_y(classes, match):
    X, y = data()
    with pytest.raises(ValueError, match=match):
        LogisticRegression().partial_fit(X, y, classes=classes)


# ------------------------------------------------- 5. partial_fit + balanced
def test_partial_fit_refuses_balanced_class_weight():
    X, y = data()
    with pytest.raises(ValueError, match="balanced"):
        LogisticRegression(class_weight="balanced").partial_fit(X, y, classes=[0, 1])
    LogisticRegression(class_weight={0: 1.0, 1: 3.0}).partial_fit(X, y, classes=[0, 1])


# --------------------------------------------------- 6. one estimator, two threads
def test_a_concurrent_fit_of_the_same_estimator_raises():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200_000, 20))
    y = (X[:, 0] > 0).astype(int)
    est = LogisticRegression(solver="gd", max_iter=200, tol=0, learning_rate=1e-7)
    errors = []
    worker = threading.Thread(target=lambda: est.fit(X, y))
    worker.start()
    deadline = time.monotonic() + 30
    while id(est) not in _base._FITTING and time.monotonic() < deadline:
        time.sleep(0.001)
    assert id(est) in _base._FITTING, "the first fit never started"
    try:
        est.fit(X[:100], y[:100])
    except RuntimeError as exc:
        errors.append(exc)
    worker.join()
    assert errors and "already being fitted" in str(errors[0])
    # the first fit's result, whole
    assert est.coef_.shape == (1, 20) and est.n_iter_[0] == 200
    assert est.n_features_in_ == 20


# ------------------------------------------------ 7. errors naming the real cause
@pytest.mark.parametrize("solver", ["lbfgs", "newton", "gd", "sgd"])
def test_c_whose_inverse_overflows_is_named(solver):
    X, y = data()
    with pytest.raises(ValueError, match="C=1e-310 is so small"):
        LogisticRegression(C=1e-310, solver=solver).fit(X, y)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_warm_start_from_non_finite_coefficients_is_named(bad):
    X, y = data()
    est = LogisticRegression(warm_start=True).fit(X, y)
    est.coef_[0, 0] = bad
    with pytest.raises(ValueError, match="warm_start=True, but coef_"):
        est.fit(X, y)


@pytest.mark.parametrize("solver", ["lbfgs", "newton", "gd", "sgd"])
def test_a_start_where_the_objective_is_not_finite_is_named(solver):
    X, y = data()
    # gd / sgd: all epochs (tol=0), so that the first fit converges without a warning
    kw = {"tol": 0.0, "max_iter": 5} if solver in ("gd", "sgd") else {}
    est = LogisticRegression(warm_start=True, solver=solver, **kw).fit(X, y)
    est.coef_[:] = 1e200  # the penalty ||w||^2 / 2C overflows
    with pytest.raises(FloatingPointError, match="starting coefficients"):
        est.fit(X, y)


@pytest.mark.parametrize("weight", [np.nan, np.inf, -1.0, None])
def test_bad_class_weight_values_are_named(weight):
    X, y = data()
    with pytest.raises(ValueError, match="class_weight must be finite and non-negative"):
        LogisticRegression(class_weight={0: weight, 1: 1.0}).fit(X, y)


def test_subnormal_sample_weights_are_named():
    X, y = data()
    with pytest.raises(ValueError, match="sample_weight sums to .* too small"):
        LogisticRegression().fit(X, y, sample_weight=np.full(len(y), 5e-324))


def test_huge_weights_on_float32_are_named_with_x():
    X, y = data()
    with pytest.raises(ValueError, match="X and sample_weight together are so large"):
        LogisticRegression().fit(X.astype(np.float32), y,
                                 sample_weight=np.full(len(y), 1e37))


# -------------------------------------------------------------------- 8. smaller
@pytest.mark.parametrize("solver", ["gd", "sgd"])
def test_max_iter_near_int_max_allocates_only_what_runs(solver):
    X, y = data()
    est = LogisticRegression(solver=solver, max_iter=2**31 - 1, tol=1e-3, random_state=0)
    est.fit(X, y)  # before: a 48 GiB history buffer, MemoryError
    assert est.stop_reason_ == "converged"
    assert est.history_["loss"].size == est.n_iter_[0] < 10**5


def test_gd_in_segments_matches_one_call(monkeypatch):
    from clogreg._solvers import _result

    X, y = data()
    params = {"solver": "gd", "max_iter": 50, "tol": 0}
    whole = LogisticRegression(**params).fit(X, y)
    monkeypatch.setattr(_result, "SEGMENT_EPOCHS", 7)
    cut = LogisticRegression(**params).fit(X, y)
    np.testing.assert_array_equal(cut.coef_, whole.coef_)
    for key in whole.history_:
        np.testing.assert_array_equal(cut.history_[key], whole.history_[key])


@pytest.mark.parametrize("name", ["max_iter", "batch_size", "n_jobs"])
def test_bools_are_not_integers_here(name):
    X, y = data()
    with pytest.raises(InvalidParameterError, match="not a bool"):
        LogisticRegression(**{name: True}).fit(X, y)


@pytest.mark.parametrize("dtype, zmax", [(np.float64, 700.0), (np.float32, 80.0)])
def test_binary_probabilities_are_stable_in_both_tails(dtype, zmax):
    z = np.linspace(-zmax, zmax, 2001)
    est = LogisticRegression()
    est.coef_ = np.ones((1, 1), dtype)
    est.intercept_ = np.zeros(1, dtype)
    est.classes_ = np.array([0, 1])
    est.n_features_in_ = 1
    proba = est.predict_proba(z[:, None].astype(dtype))
    ref = np.column_stack([expit(-z.astype(dtype)), expit(z.astype(dtype))])
    np.testing.assert_allclose(proba, ref, rtol=4 * np.finfo(dtype).eps, atol=0)
    assert proba[-1, 0] > 0 and proba[0, 1] > 0  # representable, so not rounded to 0
    np.testing.assert_allclose(np.exp(est.predict_log_proba(z[:, None].astype(dtype))),
                               ref, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=0)


def test_newton_refuses_wide_problems_and_auto_avoids_it():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 2000))
    y = (X[:, 0] > 0).astype(int)
    with pytest.raises(ValueError, match="solver='newton' forms a 2000 x 2000 Hessian"):
        LogisticRegression(C=np.inf, solver="newton").fit(X, y)
    assert LogisticRegression(C=1.0, l1_ratio=1.0, max_iter=5, tol=0).fit(X, y).solver_ == "gd"


def test_a_copy_of_a_partial_fit_model_has_its_own_random_state():
    X, y = data()
    est = LogisticRegression(random_state=0).partial_fit(X, y, classes=[0, 1])
    twin = copy.copy(est)
    a = est.partial_fit(X, y).coef_.copy()
    b = twin.partial_fit(X, y).coef_.copy()
    np.testing.assert_array_equal(a, b)  # the same state, advanced separately
