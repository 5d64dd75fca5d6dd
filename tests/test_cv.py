"""LogisticRegressionCV against scikit-learn's LogisticRegressionCV, GridSearchCV and
fold-by-fold fits on copies of the fold data; thread-count invariance; bad input."""
import doctest
import types

import numpy as np
import pytest
from reference import multinomial_objective, objective
from scipy.special import expit, softmax
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.linear_model import LogisticRegressionCV as SkLogisticRegressionCV
from sklearn.metrics import accuracy_score, log_loss, make_scorer
from sklearn.model_selection import GridSearchCV, GroupKFold, StratifiedKFold
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.estimator_checks import parametrize_with_checks

import clogreg._cv
import clogreg._kernel
import clogreg._rows
from clogreg import LogisticRegression, LogisticRegressionCV

TIGHT = {"tol": 1e-10, "max_iter": 1000}


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def three_classes():
    X, y = make_classification(n_samples=300, n_features=6, n_informative=4,
                               n_redundant=0, n_classes=3, random_state=0)
    return X, y


@pytest.fixture(scope="module")
def many_rows():
    """Rows enough for several kernel chunks (`clogreg._kernel.CHUNK_ROWS`), so that a
    pass on 2 threads splits its work, and above `clogreg._cv.THREADS_MIN_VALUES`."""
    X, y = make_classification(n_samples=3 * clogreg._kernel.CHUNK_ROWS, n_features=12,
                               random_state=1)
    return X, y


def _folds(X, y, k=4):
    return list(StratifiedKFold(k, shuffle=True, random_state=0).split(X, y))


# ---------------------------------------------------------------- scikit-learn
@pytest.mark.parametrize("data, solver, sk_solver", [
    ("cancer", "newton", "newton-cholesky"),
    ("cancer", "lbfgs", "newton-cholesky"),
    ("three_classes", "lbfgs", "newton-cholesky"),
])
def test_matches_scikit_learn_logistic_regression_cv(data, solver, sk_solver, request):
    X, y = request.getfixturevalue(data)
    folds = _folds(X, y)
    # up to C = 10: on breast cancer at C = 100 lbfgs stops (relative objective change
    # below 64 eps) about 1e-6 short of the optimum, in the score
    Cs = np.logspace(-3, 1, 7)
    ours = LogisticRegressionCV(Cs=Cs, cv=folds, solver=solver, **TIGHT).fit(X, y)
    sk = SkLogisticRegressionCV(Cs=Cs, cv=folds, solver=sk_solver, scoring="neg_log_loss",
                                l1_ratios=(0.0,), use_legacy_attributes=False,
                                **TIGHT).fit(X, y)
    assert ours.scores_.shape == sk.scores_.shape == (4, 1, 7)
    assert ours.coefs_paths_.shape == sk.coefs_paths_.shape
    np.testing.assert_allclose(ours.scores_, sk.scores_, rtol=0, atol=1e-6)
    assert ours.C_ == sk.C_
    assert ours.l1_ratio_ == sk.l1_ratio_ == 0.0
    np.testing.assert_allclose(ours.Cs_, sk.Cs_)
    scale = np.abs(sk.coefs_paths_).max()
    np.testing.assert_allclose(ours.coefs_paths_, sk.coefs_paths_, rtol=0, atol=1e-5 * scale)
    np.testing.assert_allclose(ours.coef_, sk.coef_, rtol=0, atol=1e-5 * np.abs(sk.coef_).max())
    np.testing.assert_allclose(ours.intercept_, sk.intercept_, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(ours.predict(X), sk.predict(X))


def test_default_grid_and_refit_false_match_scikit_learn(cancer):
    X, y = cancer
    folds = _folds(X, y, 3)
    assert_allclose = np.testing.assert_allclose
    assert_allclose(LogisticRegressionCV(Cs=10).fit(X, y).Cs_, np.logspace(-4, 4, 10))
    # up to C = 10: beyond, breast cancer is nearly separable and scikit-learn's log-loss
    # clips the probabilities at machine epsilon
    Cs = np.logspace(-4, 1, 6)
    ours = LogisticRegressionCV(Cs=Cs, cv=folds, refit=False, solver="newton",
                                **TIGHT).fit(X, y)
    sk = SkLogisticRegressionCV(Cs=Cs, cv=folds, refit=False, solver="newton-cholesky",
                                scoring="neg_log_loss", l1_ratios=(0.0,),
                                use_legacy_attributes=False, **TIGHT).fit(X, y)
    assert_allclose(ours.scores_, sk.scores_, rtol=0, atol=1e-6)
    assert ours.C_ == pytest.approx(sk.C_, rel=1e-12)
    np.testing.assert_allclose(ours.coef_, sk.coef_, rtol=0, atol=1e-4)
    assert not hasattr(ours, "history_")


# ----------------------------------------------------------------- GridSearchCV
@pytest.mark.parametrize("data", ["cancer", "three_classes"])
@pytest.mark.parametrize("class_weight", [None, "balanced"])
def test_matches_grid_search_cv(data, class_weight, request):
    X, y = request.getfixturevalue(data)
    if class_weight == "balanced":  # unbalance the classes: drop most of class 0
        keep = (y != 0) | (np.arange(y.size) % 3 == 0)
        X, y = X[keep], y[keep]
    folds = _folds(X, y)
    Cs = [0.01, 0.1, 1.0, 10.0]
    search = GridSearchCV(LogisticRegression(solver="lbfgs", class_weight=class_weight,
                                             **TIGHT),
                          {"C": Cs}, cv=folds, scoring="neg_log_loss").fit(X, y)
    grid = np.array([search.cv_results_[f"split{i}_test_score"] for i in range(4)])
    for scoring in (None, "neg_log_loss"):  # our own log-loss and scikit-learn's scorer
        ours = LogisticRegressionCV(Cs=Cs, cv=folds, solver="lbfgs", scoring=scoring,
                                    class_weight=class_weight, **TIGHT).fit(X, y)
        np.testing.assert_allclose(ours.scores_[:, 0, :], grid, rtol=0, atol=1e-6)
        assert ours.C_ == search.best_params_["C"]
        best = search.best_estimator_
        np.testing.assert_allclose(ours.coef_, best.coef_, rtol=0, atol=1e-5)
        np.testing.assert_allclose(ours.intercept_, best.intercept_, rtol=0, atol=1e-5)


def test_accuracy_and_scorers(three_classes):
    X, y = three_classes
    folds = _folds(X, y, 3)
    fast = LogisticRegressionCV(Cs=4, cv=folds, scoring="accuracy").fit(X, y)
    via_scorer = LogisticRegressionCV(Cs=4, cv=folds,
                                      scoring=make_scorer(accuracy_score)).fit(X, y)
    np.testing.assert_array_equal(fast.scores_, via_scorer.scores_)
    # the same accuracies from the stored paths, predicted by hand
    for i, (_, test) in enumerate(folds):
        for k in range(4):
            W = fast.coefs_paths_[i, 0, k]
            z = X[test] @ W[:, :-1].T + W[:, -1]
            assert fast.scores_[i, 0, k] == accuracy_score(y[test], z.argmax(axis=1))
    macro = LogisticRegressionCV(Cs=4, cv=folds, scoring="f1_macro").fit(X, y)
    assert macro.scores_.shape == (3, 1, 4) and np.all(macro.scores_ <= 1)


# ----------------------------------------------- fold by fold, on copies of the data
@pytest.mark.parametrize("data, solver, l1_ratios", [
    ("cancer", "newton", None),
    ("cancer", "newton", [0.0, 0.5, 1.0]),
    ("cancer", "lbfgs", None),
    ("three_classes", "lbfgs", None),
    ("three_classes", "gd", [0.5]),
])
def test_zero_weight_folds_match_fits_on_copies(data, solver, l1_ratios, request):
    """Held-out rows get weight 0 on the full X: the same fits as on copies of the
    training rows, with the user's weights and per-fold "balanced" class weights."""
    X, y = request.getfixturevalue(data)
    rng = np.random.default_rng(1)
    sw = rng.uniform(0.5, 2.0, y.size)
    folds = _folds(X, y, 3)
    Cs = [0.05, 1.0]
    tight = {"tol": 1e-9, "max_iter": 20000} if solver == "gd" else TIGHT
    ours = LogisticRegressionCV(Cs=Cs, l1_ratios=l1_ratios, cv=folds, solver=solver,
                                class_weight="balanced", **tight).fit(X, y, sample_weight=sw)
    classes = np.unique(y)
    for i, (train, test) in enumerate(folds):
        Xtr, ytr, swtr = X[train].copy(), y[train].copy(), sw[train].copy()
        cw = compute_class_weight("balanced", classes=classes, y=ytr, sample_weight=swtr)
        s = swtr * cw[np.searchsorted(classes, ytr)]
        for j, l1 in enumerate(ours.l1_ratios_):
            for k, C in enumerate(Cs):
                alone = LogisticRegression(C=C, l1_ratio=l1, solver=solver,
                                           class_weight="balanced", **tight)
                alone.fit(Xtr, ytr, sample_weight=swtr)
                path = ours.coefs_paths_[i, j, k]
                W, b = path[:, :-1], path[:, -1]
                np.testing.assert_allclose(W, alone.coef_, rtol=0, atol=2e-5)
                np.testing.assert_allclose(b, alone.intercept_, rtol=0, atol=2e-5)
                # the training objective, from NumPy on the copied rows
                a1, a2 = l1 / C, (1 - l1) / C
                if classes.size == 2:
                    ref = objective(Xtr, ytr, W[0], b[0], s, a2, a1)
                else:
                    ref = multinomial_objective(Xtr, ytr, W, b, s, a2, a1)
                assert ours.path_objective_[i, j, k] == pytest.approx(ref, rel=1e-10)
                # the held-out score: scikit-learn's log_loss, weighted by sample_weight
                z = X[test] @ W.T + b
                proba = np.column_stack([expit(-z[:, 0]), expit(z[:, 0])]) \
                    if classes.size == 2 else softmax(z, axis=1)
                ref_score = -log_loss(y[test], proba, sample_weight=sw[test])
                assert ours.scores_[i, j, k] == pytest.approx(ref_score, abs=1e-9)


def _l1_reference(X, y, C):
    """argmin sum_i logloss_i + ||w||_1 / C by SciPy's L-BFGS-B on w = u - v, u, v >= 0
    (a smooth problem with bounds), from an independent code path."""
    from scipy.optimize import minimize

    d = X.shape[1]

    def f(theta):
        u, v, b = theta[:d], theta[d:2 * d], theta[-1]
        z = X @ (u - v) + b
        r = expit(z) - y
        g = X.T @ r
        return (np.sum(np.logaddexp(0.0, z) - y * z) + (u.sum() + v.sum()) / C,
                np.concatenate([g + 1 / C, -g + 1 / C, [r.sum()]]))

    bounds = [(0, None)] * (2 * d) + [(None, None)]
    res = minimize(f, np.zeros(2 * d + 1), jac=True, method="L-BFGS-B", bounds=bounds,
                   options={"maxiter": 20000, "ftol": 1e-15, "gtol": 1e-10})
    return res.x[:d] - res.x[d:2 * d], res.x[-1], res.fun


def test_l1_path_matches_an_independent_solver(cancer):
    X, y = cancer
    folds = _folds(X, y, 3)
    Cs = [0.05, 0.2, 1.0]
    ours = LogisticRegressionCV(Cs=Cs, l1_ratios=[1.0], cv=folds, solver="newton",
                                **TIGHT).fit(X, y)
    assert np.sum(ours.coefs_paths_ == 0) > 50  # a sparse path
    for i, (train, _) in enumerate(folds):
        for k, C in enumerate(Cs):
            w, b, f = _l1_reference(X[train], y[train], C)
            path = ours.coefs_paths_[i, 0, k, 0]
            np.testing.assert_allclose(path[:-1], w, rtol=0, atol=1e-4)
            assert path[-1] == pytest.approx(b, abs=1e-4)
            assert ours.path_objective_[i, 0, k] <= f + 1e-9 * f


def test_l1_path_screening_changes_no_result(monkeypatch):
    """On a 150-feature problem with 5 informative columns, the strong rule and the
    working set skip most columns along the path (each fit's first working set uses
    thresholds below the L1 strength) and give the path of plain proximal Newton."""
    from clogreg._solvers import _newton
    rng = np.random.default_rng(2)
    X = rng.standard_normal((1_500, 150))
    y = (rng.random(1_500) < expit(X[:, :5] @ np.array([2.0, -1.5, 1.0, -1.0, 0.5])))
    folds = _folds(X, y.astype(int), 3)
    Cs = np.logspace(-3, -1, 9)  # a factor 1.78 between points: the strong rule applies
    thresholds, working_set = [], _newton._working_set

    def spy(theta, g, threshold, d):
        thresholds.append(float(threshold[:d].min()))
        return working_set(theta, g, threshold, d)

    monkeypatch.setattr(_newton, "_working_set", spy)
    params = dict(Cs=Cs, l1_ratios=[1.0], cv=folds, solver="newton", **TIGHT)
    ours = LogisticRegressionCV(**params).fit(X, y)
    # the KKT thresholds are the strengths 1 / C; the strong rule's, 2 / C_k - 1 /
    # C_(k-1), lie below them
    strong = [t for t in thresholds if not np.isclose(t, 1 / Cs, rtol=1e-12).any()]
    assert len(strong) >= 2 * len(folds) and min(strong) > 0
    monkeypatch.setattr(_newton, "WORKING_SET_MAX_SHARE", -1.0)
    plain = LogisticRegressionCV(**params).fit(X, y)
    assert ours.C_ == plain.C_
    np.testing.assert_allclose(ours.coefs_paths_, plain.coefs_paths_, rtol=0, atol=1e-7)
    np.testing.assert_allclose(ours.path_objective_, plain.path_objective_, rtol=1e-12)
    assert np.mean(ours.coefs_paths_[..., :-1] == 0) > 0.5  # a sparse path


def test_float32_stays_float32(cancer):
    X, y = cancer
    Cs = [0.01, 0.1, 1.0]
    ours = LogisticRegressionCV(Cs=Cs, cv=3).fit(X.astype(np.float32), y)
    assert ours.coef_.dtype == np.float32 and ours.coefs_paths_.dtype == np.float32
    ref = LogisticRegressionCV(Cs=Cs, cv=3).fit(X, y)
    np.testing.assert_allclose(ours.scores_, ref.scores_, rtol=0, atol=1e-4)


def test_string_labels_and_groups(cancer):
    X, y = cancer
    labels = np.array(["benign", "malignant"])[y]
    ours = LogisticRegressionCV(Cs=3, cv=GroupKFold(3)).fit(X, labels,
                                                            groups=np.arange(y.size) % 7)
    assert ours.predict(X[:3]).dtype.kind == "U"
    assert list(ours.classes_) == ["benign", "malignant"]
    np.testing.assert_array_equal(ours.predict_proba(X).argmax(axis=1),
                                  (ours.decision_function(X) > 0).astype(int))


@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
def test_skipping_converged_grid_points_changes_nothing(cancer, solver, monkeypatch):
    """Grid points whose warm start provably meets tol are not refitted: the fits
    would return their start after 0 iterations, so every result is the same."""

    X, y = cancer
    kwargs = {"Cs": np.logspace(-1, 4, 12), "cv": 3, "solver": solver, "tol": 1e-3}
    decide, decisions = clogreg._cv._ConvergedSkip.still_converged, []
    monkeypatch.setattr(clogreg._cv._ConvergedSkip, "still_converged",
                        lambda *a: decisions.append(decide(*a)) or decisions[-1])
    skipped = LogisticRegressionCV(**kwargs).fit(X, y)
    assert sum(decisions) >= 6  # grid points were skipped
    monkeypatch.setattr(clogreg._cv, "SKIP_CONVERGED", False)
    run = LogisticRegressionCV(**kwargs).fit(X, y)
    assert np.sum(run.n_iter_ == 0) >= 6  # there was something to skip
    for name in ("scores_", "coefs_paths_", "n_iter_", "coef_", "intercept_"):
        np.testing.assert_array_equal(getattr(skipped, name), getattr(run, name))
    np.testing.assert_allclose(skipped.path_objective_, run.path_objective_, rtol=1e-12)


def test_auto_runs_small_binary_paths_with_newton(cancer, three_classes, monkeypatch):
    assert LogisticRegressionCV(Cs=[0.1, 1.0]).fit(*cancer).solver_ == "newton"
    assert LogisticRegressionCV(Cs=[0.1, 1.0]).fit(*three_classes).solver_ == "lbfgs"
    monkeypatch.setattr(clogreg._cv, "NEWTON_PATH_MAX_VALUES", cancer[0].size - 1)
    # (the single fit's own bound, which the breast-cancer data are also under)
    monkeypatch.setattr(clogreg._solvers._policy, "AUTO_NEWTON_MAX_VALUES", 0)
    assert LogisticRegressionCV(Cs=[0.1, 1.0]).fit(*cancer).solver_ == "lbfgs"


# ------------------------------------------------------------------ threads
def test_threads_of_finished_workers_go_to_the_paths_still_running():
    share = clogreg._cv._KernelThreads(n_threads=4, n_workers=2, n_tasks=3)
    a, b, c = (types.SimpleNamespace(n_threads=None) for _ in range(3))
    share.start(a)
    share.start(b)
    assert (a.n_threads, b.n_threads) == (2, 2)  # a path waits: 4 // 2 workers each
    share.finish(a)
    share.start(c)
    assert (b.n_threads, c.n_threads) == (2, 2)  # none waits, both workers busy
    share.finish(b)
    assert c.n_threads == 4                      # the last path takes all four


def test_last_path_runs_on_every_thread(many_rows, monkeypatch):
    """3 folds on 2 threads: the third fold's passes run on both once the first ends
    (seen by the rows objects' thread counts at each pass)."""
    X, y = many_rows
    seen = []
    loss_grad = clogreg._rows.DenseRows.loss_grad

    def spy(self, *args):
        seen.append(self.n_threads)
        return loss_grad(self, *args)

    monkeypatch.setattr(clogreg._rows.DenseRows, "loss_grad", spy)
    LogisticRegressionCV(Cs=4, cv=3, n_jobs=2, refit=False).fit(X, y)
    assert set(seen) == {1, 2}


@pytest.mark.parametrize("data, kwargs", [
    ("cancer", {"solver": "newton", "l1_ratios": [0.0, 1.0]}),
    ("three_classes", {"solver": "lbfgs", "class_weight": "balanced"}),
    ("many_rows", {"solver": "lbfgs"}),
    ("many_rows", {"solver": "gd", "l1_ratios": [0.5], "max_iter": 30}),
])
@pytest.mark.filterwarnings("ignore:.*did not reach tol")  # gd: 30 iterations
def test_results_bit_identical_for_any_n_jobs(data, kwargs, request):
    X, y = request.getfixturevalue(data)
    fits = [LogisticRegressionCV(Cs=5, cv=4, n_jobs=n_jobs, **kwargs).fit(X, y)
            for n_jobs in (None, 2, 3, -1)]
    for other in fits[1:]:
        for name in ("scores_", "coefs_paths_", "n_iter_", "path_objective_", "coef_",
                     "intercept_"):
            np.testing.assert_array_equal(getattr(other, name), getattr(fits[0], name))
        assert other.C_ == fits[0].C_


def test_docstring_examples_run():
    import clogreg._cv

    result = doctest.testmod(clogreg._cv, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("Cs, message", [
    ([], "non-empty"),
    ([1.0, 0.0], "must be > 0"),
    ([-1.0], "must be > 0"),
    ([np.nan], "must be > 0"),
    (["a"], "list of numbers"),
    (0, "'Cs' parameter"),
])
def test_bad_grid_raises(cancer, Cs, message):
    X, y = cancer
    with pytest.raises(ValueError, match=message):
        LogisticRegressionCV(Cs=Cs).fit(X, y)


@pytest.mark.parametrize("l1_ratios, message", [
    ([], "non-empty"), ([1.5], r"in \[0, 1\]"), ([-0.1], r"in \[0, 1\]")])
def test_bad_l1_ratios_raise(cancer, l1_ratios, message):
    X, y = cancer
    with pytest.raises(ValueError, match=message):
        LogisticRegressionCV(l1_ratios=l1_ratios, solver="newton").fit(X, y)


def test_fold_with_one_class_raises(cancer):
    X, y = cancer
    only_0 = np.flatnonzero(y == 0)
    folds = [(only_0, np.flatnonzero(y == 1))]
    with pytest.raises(ValueError, match=r"training rows of fold 0 hold no sample of "
                                         r"class\(es\) \[1\]"):
        LogisticRegressionCV(Cs=2, cv=folds).fit(X, y)
    # a class present only with zero weight counts as absent
    sw = np.where(y == 1, 0.0, 1.0)
    with pytest.raises(ValueError, match="hold no sample of class"):
        LogisticRegressionCV(Cs=2, cv=3).fit(X, y, sample_weight=sw)


def test_other_bad_input_raises(cancer):
    X, y = cancer
    with pytest.raises(ValueError, match="at least 2 classes"):
        LogisticRegressionCV(Cs=2).fit(X, np.zeros(y.size))
    with pytest.raises(ValueError, match="n_jobs == 0"):
        LogisticRegressionCV(Cs=2, n_jobs=0).fit(X, y)
    with pytest.raises(ValueError, match="solver='lbfgs' supports only L2"):
        LogisticRegressionCV(Cs=2, solver="lbfgs", l1_ratios=[0.5]).fit(X, y)
    with pytest.raises(ValueError, match="no held-out rows"):
        LogisticRegressionCV(Cs=2, cv=[(np.arange(y.size), np.array([], int))]).fit(X, y)
    with pytest.raises(ValueError, match="Input X contains NaN"):
        LogisticRegressionCV(Cs=2).fit(np.where(X > 3, np.nan, X), y)


def test_convergence_warning_is_reported_once(cancer):
    X, y = cancer
    with pytest.warns(Warning) as record:
        LogisticRegressionCV(Cs=3, cv=3, solver="lbfgs", max_iter=1, tol=1e-12,
                             refit=False).fit(X, y)
    assert len(record) == 1 and "of 9 fits on the regularisation paths" in \
        str(record[0].message)


# ---------------------------------------------------------------- scikit-learn checks
def _expected_failures(estimator):
    # The check fits class_weight="balanced" and then the dict of the weights computed
    # from all of y, and expects the same coef_. LogisticRegressionCV computes
    # "balanced" per fold from the fold's training rows (as GridSearchCV over
    # LogisticRegression does; test_matches_grid_search_cv), so on the check's 5 rows
    # in 3 folds the two settings may choose different C.
    return {"check_class_weight_balanced_linear_classifier":
            "'balanced' class weights are computed per fold, not from all of y"}


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks([LogisticRegressionCV(Cs=3, cv=3),
                          LogisticRegressionCV(Cs=2, cv=3, solver="newton",
                                               l1_ratios=[0.0, 0.5])],
                         expected_failed_checks=_expected_failures)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
