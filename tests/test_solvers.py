"""Every solver against scikit-learn's solution, and the multinomial / Newton maths."""
import functools
import re
import warnings

import numpy as np
import pytest
import sklearn
from helpers import dense_objective
from reference import multinomial_objective, objective, sklearn_objective
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression as SkLogisticRegression
from sklearn.preprocessing import StandardScaler

from clogreg import LogisticRegression, _kernel
from clogreg._objective import LogisticObjective
from clogreg._rows import DenseRows, column_stats
from clogreg._solvers import _newton


def standardised(loader):
    X, y = loader(return_X_y=True)
    return StandardScaler().fit_transform(X), y


DATASETS = {
    "breast_cancer": lambda: standardised(load_breast_cancer),
    "wine": lambda: standardised(load_wine),
    "iris3": lambda: standardised(load_iris),
    "digits": lambda: standardised(load_digits),
    "classification": lambda: make_classification(
        n_samples=400, n_features=8, n_informative=5, n_redundant=0, random_state=1),
}
# (name, C, l1_ratio): none, L2, L1, elastic-net
PENALTIES = [("none", np.inf, 0.0), ("l2", 0.5, 0.0), ("l1", 0.5, 1.0),
             ("elasticnet", 0.5, 0.5)]
SOLVERS = ["gd", "lbfgs", "newton"]


def supports(solver, n_classes, l1_ratio):
    # "newton" takes multinomial problems too (block-diagonal proximal Newton)
    return not (solver == "lbfgs" and l1_ratio > 0)


@functools.cache
def sklearn_best(data, C, l1_ratio, fit_intercept, weighted):
    """The lowest objective among scikit-learn's solvers fitted to tight tolerance."""
    X, y = DATASETS[data]()
    sample_weight = weights(len(y)) if weighted else None
    solvers = ["saga"] if l1_ratio > 0 else ["lbfgs", "newton-cg", "newton-cholesky"]
    if l1_ratio == 1.0 and np.unique(y).size == 2:
        solvers.append("liblinear")
    best, best_ref = np.inf, None
    for solver in solvers:
        extra = {"intercept_scaling": 1e4} if solver == "liblinear" else {}
        with np.errstate(all="ignore"), _quiet():  # scikit-learn's fits: not judged
            ref = SkLogisticRegression(C=C, solver=solver, fit_intercept=fit_intercept,
                                       tol=1e-12, max_iter=20_000,
                                       **sklearn_penalty(C, l1_ratio), **extra)
            ref.fit(X, y, sample_weight=sample_weight)
        f = sklearn_objective(ref, X, y, sample_weight)
        if f < best:
            best, best_ref = f, ref
    return best, best_ref


SKLEARN_VERSION = tuple(int(part) for part in re.findall(r"\d+", sklearn.__version__)[:2])


def sklearn_penalty(C, l1_ratio):
    """scikit-learn's arguments for the penalty (1 - l1_ratio) / 2C L2 + l1_ratio / C L1.

    Before 1.8, scikit-learn ignores ``l1_ratio`` unless ``penalty="elasticnet"``
    (the default "l2" would silently fit an L2 reference); from 1.8 on ``l1_ratio``
    alone chooses the penalty and ``penalty`` is deprecated.
    """
    if SKLEARN_VERSION >= (1, 8):
        return {"l1_ratio": l1_ratio}
    if l1_ratio == 0.0:
        return {"penalty": "l2"}
    if l1_ratio == 1.0:
        return {"penalty": "l1"}
    return {"penalty": "elasticnet", "l1_ratio": l1_ratio}


def test_sklearn_references_have_the_penalty_asked_for():
    # the L1 reference must be sparser than the L2 one at the same C (breast cancer,
    # standardised: L1 at C = 0.05 keeps a handful of the 30 features)
    X, y = DATASETS["breast_cancer"]()
    fits = {}
    for l1_ratio in (0.0, 1.0):
        with _quiet():
            fits[l1_ratio] = SkLogisticRegression(
                C=0.05, solver="saga", tol=1e-8, max_iter=10_000,
                **sklearn_penalty(0.05, l1_ratio)).fit(X, y)
    assert np.sum(fits[1.0].coef_ == 0) >= 10
    assert np.sum(fits[0.0].coef_ == 0) == 0
    # and the reference objective reads the penalty of either API
    assert sklearn_objective(fits[1.0], X, y) < sklearn_objective(fits[0.0], X, y) or \
        np.abs(fits[1.0].coef_).sum() < np.abs(fits[0.0].coef_).sum()


def weights(n):
    return np.random.default_rng(0).uniform(0.2, 2.0, n)


class _quiet:
    """Silence every warning: for scikit-learn's reference fits only (clogreg's own
    fits allow just the warnings a test names, `_allow_max_iter`)."""

    def __enter__(self):
        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


class _allow_max_iter(_quiet):
    """Allow clogreg's "did not reach tol" ConvergenceWarning, nothing else."""

    def __enter__(self):
        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.filterwarnings("ignore", "solver=.* did not reach tol", ConvergenceWarning)


N_CLASSES = {"breast_cancer": 2, "wine": 3, "iris3": 3, "digits": 10, "classification": 2}
# Without a penalty only "classification" has a finite optimum (the others separate).
CASES = [
    (data, solver, pen, fit_intercept, weighted)
    for data in DATASETS
    for solver in SOLVERS
    for pen in PENALTIES
    for fit_intercept in (True, False)
    for weighted in (False, True)
    if supports(solver, N_CLASSES[data], pen[2])
    and (pen[0] != "none" or data == "classification")
]


@pytest.mark.parametrize("data, solver, penalty, fit_intercept, weighted", [
    pytest.param(*case, id=f"{case[0]}-{case[1]}-{case[2][0]}-"
                           f"{'b' if case[3] else 'nob'}-{'sw' if case[4] else 'nosw'}")
    for case in CASES])
def test_objective_matches_best_scikit_learn(data, solver, penalty, fit_intercept,
                                             weighted):
    X, y = DATASETS[data]()
    _, C, l1_ratio = penalty
    assert np.unique(y).size == N_CLASSES[data]
    if solver == "gd" and data == "digits":
        pytest.skip("gd needs ~140,000 epochs (about a minute) on digits; its multinomial "
                    "path is checked on wine and iris3")
    if l1_ratio > 0 and data == "digits":
        pytest.skip("saga needs minutes to reach 1e-12 on digits with L1; L2 covers it")
    sw = weights(len(y)) if weighted else None
    max_iter = 1_000_000 if solver == "gd" else 1_000
    ours = LogisticRegression(C=C, l1_ratio=l1_ratio, solver=solver,
                              fit_intercept=fit_intercept, tol=1e-10, max_iter=max_iter)
    with _allow_max_iter():  # gd may stop at max_iter on ill-conditioned data; judged below
        ours.fit(X, y, sample_weight=sw)
    best, ref = sklearn_best(data, C, l1_ratio, fit_intercept, weighted)
    f_ours = sklearn_objective(ours, X, y, sw)
    assert f_ours <= best * (1 + 1e-8), (f_ours, best)
    if data in ("classification", "iris3") and l1_ratio == 0:  # well conditioned
        np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-4,
                                   atol=1e-4 * np.abs(ref.coef_).max())


def test_multinomial_pass_matches_numpy_and_finite_differences():
    rng = np.random.default_rng(0)
    n, d, K = 5000, 6, 4
    X = rng.standard_normal((n, d))
    y = rng.integers(0, K, n)
    sw = rng.uniform(0.5, 2.0, n)
    W, b = rng.standard_normal((K, d)), rng.standard_normal(K)
    grad, grad_b = np.empty(K * d), np.empty(K)
    loss, correct = _kernel.multinomial_loss_grad(X, y.astype(float), sw, W.ravel(), b,
                                                  grad, grad_b)
    assert loss == pytest.approx(multinomial_objective(X, y, W, b, sw), rel=1e-12)
    assert correct == np.sum(np.argmax(X @ W.T + b, axis=1) == y)
    h = 1e-6
    for k, j in [(0, 0), (1, 3), (3, 5), (2, 2)]:
        E = np.zeros_like(W)
        E[k, j] = h
        fd = (multinomial_objective(X, y, W + E, b, sw)
              - multinomial_objective(X, y, W - E, b, sw)) / (2 * h)
        assert grad[k * d + j] == pytest.approx(fd, rel=1e-6)
    for k in range(K):
        e = np.zeros(K)
        e[k] = h
        fd = (multinomial_objective(X, y, W, b + e, sw)
              - multinomial_objective(X, y, W, b - e, sw)) / (2 * h)
        assert grad_b[k] == pytest.approx(fd, rel=1e-6)


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_multinomial_threads_bit_identical(n_threads):
    X, y = make_classification(n_samples=12_000, n_features=5, n_informative=4,
                               n_redundant=0, n_classes=3, random_state=0)
    one = LogisticRegression(solver="lbfgs", n_jobs=1).fit(X, y)
    many = LogisticRegression(solver="lbfgs", n_jobs=n_threads).fit(X, y)
    np.testing.assert_array_equal(one.coef_, many.coef_)


def test_newton_hessian_matches_finite_differences_of_the_gradient():
    rng = np.random.default_rng(1)
    n, d = 3000, 5
    X = rng.standard_normal((n, d))
    y = (rng.random(n) < 0.4).astype(float)
    sw = rng.uniform(0.5, 2.0, n)
    w, b = 0.3 * rng.standard_normal(d), 0.2
    grad, H, H_wb = np.empty(d), np.empty((d, d)), np.empty(d)
    loss, grad_b, h_sum, _ = _kernel.newton_pass(X, y, sw, w, b, grad, H, H_wb)
    H = np.tril(H) + np.tril(H, -1).T
    assert loss == pytest.approx(objective(X, y, w, b, sw), rel=1e-12)

    def gradient(w_, b_):
        g = np.empty(d)
        _, gb, _ = _kernel.loss_grad(X, y, sw, w_, b_, g)
        return np.append(g, gb)

    np.testing.assert_allclose(np.append(grad, grad_b), gradient(w, b), rtol=1e-12)
    full = np.block([[H, H_wb[:, None]], [H_wb[None, :], np.array([[h_sum]])]])
    eps = 1e-6
    for j in range(d + 1):
        e = np.zeros(d + 1)
        e[j] = eps
        fd = (gradient(w + e[:d], b + e[d]) - gradient(w - e[:d], b - e[d])) / (2 * eps)
        np.testing.assert_allclose(full[:, j], fd, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("solver", SOLVERS)
def test_class_weight_matches_scikit_learn(solver):
    X, y = make_classification(n_samples=300, n_features=6, weights=[0.8, 0.2],
                               random_state=3)
    for class_weight in ({0: 1.0, 1: 3.0}, "balanced"):
        ours = LogisticRegression(solver=solver, class_weight=class_weight, tol=1e-10,
                                  max_iter=100_000).fit(X, y)
        with _quiet():  # scikit-learn's fit (1.6 + SciPy 1.17: a DeprecationWarning)
            ref = SkLogisticRegression(class_weight=class_weight, tol=1e-12,
                                       max_iter=10_000).fit(X, y)
        np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-5)


@pytest.mark.parametrize("solver", SOLVERS)
def test_warm_start_starts_from_the_previous_solution(solver):
    X, y = make_classification(n_samples=300, n_features=6, random_state=4)
    clf = LogisticRegression(solver=solver, warm_start=True, tol=1e-8,
                             max_iter=100_000).fit(X, y)
    first = clf.n_iter_[0]
    clf.fit(X, y)
    assert clf.n_iter_[0] <= 1 < first
    cold = LogisticRegression(solver=solver, tol=1e-8, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(clf.coef_, cold.coef_, rtol=1e-5)


def test_history_records_the_gradient_norm_compared_with_tol():
    X, y = make_classification(n_samples=300, n_features=6, random_state=5)
    for solver in SOLVERS:
        clf = LogisticRegression(solver=solver, tol=1e-6, max_iter=100_000).fit(X, y)
        assert clf.stop_reason_ == "converged"
        g = clf.history_["grad_norm"]
        assert g[-1] <= 1e-6 < g[0]
        assert len(clf.history_["loss"]) == len(g) == len(clf.history_["accuracy"])


def test_auto_solver_choice():
    X, y = make_classification(n_samples=100, n_features=4, n_classes=3,
                               n_informative=3, n_redundant=0, random_state=0)
    assert LogisticRegression().fit(X, y > 0).solver_ == "newton"  # 400 values
    assert LogisticRegression().fit(np.tile(X, (100, 1)), np.tile(y > 0, 100)).solver_ \
        == "lbfgs"  # 40,000 values
    assert LogisticRegression().fit(X, y).solver_ == "lbfgs"
    assert LogisticRegression(l1_ratio=0.5).fit(X, y > 0).solver_ == "newton"
    # multinomial with an L1 part: the block-diagonal proximal Newton
    assert LogisticRegression(l1_ratio=0.5, max_iter=10_000).fit(X, y).solver_ == "newton"


@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_full_batch_sgd_is_gradient_descent_on_the_mean_objective(n_classes, weighted):
    # One batch of all n rows, constant step eta on the mean objective, is a gd step of
    # eta / n on the summed one: the shuffle only reorders the sum.
    X, y = make_classification(n_samples=300, n_features=5, n_informative=4,
                               n_redundant=0, n_classes=n_classes, random_state=6)
    sw = np.random.default_rng(1).uniform(0.5, 2.0, 300) if weighted else None
    common = {"C": 2.0, "l1_ratio": 0.3, "tol": 0, "max_iter": 40}
    sgd = LogisticRegression(solver="sgd", batch_size=300, lr_schedule="constant",
                             learning_rate=0.5, **common).fit(X, y, sample_weight=sw)
    gd = LogisticRegression(solver="gd", learning_rate=0.5 / 300, **common).fit(
        X, y, sample_weight=sw)
    np.testing.assert_allclose(sgd.coef_, gd.coef_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sgd.intercept_, gd.intercept_, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sgd.history_["loss"], gd.history_["loss"], rtol=1e-10)


def test_partial_fit_continues_training():
    X, y = make_classification(n_samples=300, n_features=5, random_state=7)
    params = {"batch_size": 300, "lr_schedule": "constant", "learning_rate": 0.5,
              "C": 2.0}
    stream = LogisticRegression(**params)
    for _ in range(25):
        stream.partial_fit(X, y, classes=[0, 1])
    gd = LogisticRegression(solver="gd", learning_rate=0.5 / 300, C=2.0, tol=0,
                            max_iter=25).fit(X, y)
    np.testing.assert_allclose(stream.coef_, gd.coef_, rtol=1e-10)
    assert stream.n_iter_[0] == 25 and len(stream.history_["loss"]) == 25
    with pytest.raises(ValueError, match="labels not in classes"):
        stream.partial_fit(X, np.where(y == 1, 5, 0))
    with pytest.raises(ValueError, match="classes must be given"):
        LogisticRegression().partial_fit(X, y)


def test_minibatch_sgd_approaches_the_optimum_and_is_reproducible():
    X, y = make_classification(n_samples=4000, n_features=6, random_state=8)
    X = StandardScaler().fit_transform(X)
    best = LogisticRegression(solver="newton", tol=1e-10).fit(X, y)
    f_best = best.history_["loss"][-1]
    runs = [LogisticRegression(solver="sgd", batch_size=64, max_iter=60, tol=0,
                               learning_rate=0.5,
                               random_state=seed).fit(X, y) for seed in (0, 0, 1)]
    f_sgd = objective(X, y, runs[0].coef_[0], runs[0].intercept_[0], alpha_l2=1.0)
    assert f_best <= f_sgd <= f_best * (1 + 1e-3)
    np.testing.assert_array_equal(runs[0].coef_, runs[1].coef_)
    assert not np.array_equal(runs[0].coef_, runs[2].coef_)


def _count_passes(monkeypatch):
    """Count kernel passes: loss-gradient passes and Newton (Hessian) passes."""
    counts = {"data": 0, "hessian": 0, "points": []}
    data_pass, hessian = LogisticObjective.loss_grad, DenseRows.hessian
    direction = DenseRows.newton_direction  # the Hessian pass and the step in one call

    def counted_data_pass(self, w, b):
        counts["data"] += 1
        counts["points"].append(np.concatenate([np.ravel(w), np.ravel(b)]))
        return data_pass(self, w, b)

    def counted_hessian(*args):
        counts["hessian"] += 1
        return hessian(*args)

    def counted_direction(*args):
        counts["hessian"] += 1
        return direction(*args)

    monkeypatch.setattr(LogisticObjective, "loss_grad", counted_data_pass)
    monkeypatch.setattr(DenseRows, "hessian", counted_hessian)
    monkeypatch.setattr(DenseRows, "newton_direction", counted_direction)
    return counts


def test_newton_reuses_its_hessian_and_still_matches_scikit_learn(monkeypatch):
    # 20 features with scales from 1e-2 to 1e2: Newton converges in a few steps, the
    # last ones with the Hessian factorised before (chord steps)
    rng = np.random.default_rng(3)
    X = rng.standard_normal((3_000, 20)) * np.logspace(-2, 2, 20)
    y = (rng.random(3_000) < 1 / (1 + np.exp(-(X / np.logspace(-2, 2, 20)) @
                                            rng.standard_normal(20)))).astype(int)
    counts = _count_passes(monkeypatch)
    # a Hessian this small (3,000 x 20) is cheap: a fresh one every iteration
    plain = LogisticRegression(C=1.0, solver="newton", tol=1e-10).fit(X, y)
    assert counts["hessian"] == plain.n_iter_[0]
    # as if it were expensive: chord steps
    monkeypatch.setattr(_newton, "REUSE_MIN_FLOPS", 0)
    counts["hessian"] = 0
    ours = LogisticRegression(C=1.0, solver="newton", tol=1e-10).fit(X, y)
    assert ours.stop_reason_ == "converged"
    # every iteration costs one loss-gradient pass; fewer Hessians than iterations
    assert counts["hessian"] < ours.n_iter_[0]
    with _quiet():
        ref = SkLogisticRegression(C=1.0, solver="newton-cholesky", tol=1e-12,
                                   max_iter=1000).fit(X, y)
    assert objective(X, y, ours.coef_.ravel(), ours.intercept_[0], 1.0) <= \
        objective(X, y, ref.coef_.ravel(), ref.intercept_[0], 1.0) * (1 + 1e-12)
    np.testing.assert_allclose(ours.coef_, ref.coef_, rtol=1e-6, atol=1e-9)


def _sparse_truth_problem(n=2_000, d=120, informative=5, seed=5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w = np.zeros(d)
    w[:informative] = rng.standard_normal(informative) * 2
    y = (rng.random(n) < 1 / (1 + np.exp(-(X @ w)))).astype(int)
    return X, y


def test_newton_l1_working_set_reaches_the_kkt_point_of_the_full_problem(monkeypatch):
    """L1 proximal Newton forms Hessians of a working set of columns only, and still
    ends where the full proximal Newton does, at a point that meets the optimality
    (KKT) conditions of all coordinates, checked in NumPy."""
    X, y = _sparse_truth_problem()
    d, C = X.shape[1], 0.01
    sizes, hessian = [], DenseRows.hessian

    def spy(self, w, b, cols=None):
        sizes.append(self.n_features if cols is None else cols.size)
        return hessian(self, w, b, cols)

    monkeypatch.setattr(DenseRows, "hessian", spy)
    ours = LogisticRegression(C=C, l1_ratio=1.0, solver="newton", tol=1e-10).fit(X, y)
    assert ours.stop_reason_ == "converged"
    assert 0 < np.count_nonzero(ours.coef_) < d // 4
    assert max(sizes) < d // 2  # never the whole Hessian
    sizes.clear()
    monkeypatch.setattr(_newton, "WORKING_SET_MAX_SHARE", -1.0)  # all coordinates
    full = LogisticRegression(C=C, l1_ratio=1.0, solver="newton", tol=1e-10).fit(X, y)
    assert set(sizes) == {d}
    w, b = ours.coef_[0], ours.intercept_[0]
    f_ours = objective(X, y, w, b, alpha_l1=1 / C)
    f_full = objective(X, y, full.coef_[0], full.intercept_[0], alpha_l1=1 / C)
    assert f_ours == pytest.approx(f_full, rel=1e-12)
    # KKT of sum logloss + ||w||_1 / C, from NumPy: g = X.T (p - y)
    r = 1 / (1 + np.exp(-(X @ w + b))) - y
    g = X.T @ r
    zero = w == 0
    assert np.all(np.abs(g[zero]) <= 1 / C + 1e-10 * len(y))
    np.testing.assert_allclose(g[~zero], -np.sign(w[~zero]) / C, rtol=0,
                               atol=1e-10 * len(y))
    assert abs(r.sum()) <= 1e-10 * len(y)


def test_working_set_holds_the_nonzero_coordinates_and_the_kkt_violators():
    theta = np.array([0.0, 0.5, 0.0, 0.0, 0.0, 1.0])  # the last: the intercept
    g = np.array([0.2, 0.0, 1.5, -1.0, -0.99, 3.0])
    l1 = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.0])
    np.testing.assert_array_equal(_newton._working_set(theta, g, l1, 5), [1, 2, 3, 5])
    # the strong rule's lower thresholds (2 alpha - alpha_prev) let more in
    np.testing.assert_array_equal(_newton._working_set(theta, g, 0.9 * l1, 5),
                                  [1, 2, 3, 4, 5])
    # almost all coordinates: None, the whole Hessian in one contiguous pass
    assert _newton._working_set(theta, g, 0.1 * l1, 5) is None


def test_newton_with_a_singular_hessian_takes_the_least_squares_step():
    # a repeated column and no penalty: the Hessian is singular, the objective has a
    # line of minima; the fit converges to the minimum-norm one (equal weights)
    X, y = DATASETS["classification"]()
    X2 = np.column_stack([X, X[:, 0]])
    clf = LogisticRegression(C=np.inf, solver="newton", tol=1e-8).fit(X2, y)
    assert clf.stop_reason_ == "converged"
    assert clf.coef_[0, 0] == pytest.approx(clf.coef_[0, -1], rel=1e-6)
    single = LogisticRegression(C=np.inf, solver="newton", tol=1e-10).fit(X, y)
    assert clf.coef_[0, 0] + clf.coef_[0, -1] == pytest.approx(single.coef_[0, 0], rel=1e-6)


def test_lbfgs_does_not_evaluate_its_start_twice(monkeypatch):
    X, y = DATASETS["breast_cancer"]()
    counts = _count_passes(monkeypatch)
    LogisticRegression(solver="lbfgs", tol=1e-6).fit(X, y)
    first, second = counts["points"][:2]
    assert not np.array_equal(first, second)


def test_newton_with_a_subnormal_hessian_entry():
    # found by hypothesis: a feature of 2e-155 in the one weighted row makes its
    # Hessian diagonal subnormal; the Jacobi scaling must not overflow on it
    X = np.zeros((24, 4))
    X[0, 1], X[0, 3] = 2.1066115e-155, 1.0
    y = np.full(24, -1)
    y[1] = 1
    sw = np.zeros(24)
    sw[0] = 1.0
    clf = LogisticRegression(C=np.inf, solver="newton", fit_intercept=False, max_iter=1)
    with pytest.warns(ConvergenceWarning, match="did not reach tol"):
        clf.fit(X, y, sample_weight=sw)
    assert np.all(np.isfinite(clf.coef_))


def test_lbfgs_first_step_is_the_newton_step_for_uncorrelated_standardised_features(
        monkeypatch):
    # In standardised coordinates the Hessian of the mean objective at w = 0 is
    # p (1 - p) = 1/4 times the features' correlation matrix. lbfgs's first trial
    # point is -4 g, which for these (nearly) uncorrelated columns is the Newton step.
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.standard_normal((400, 5)))
    X = Q - Q.mean(axis=0)
    X /= X.std(axis=0)
    y = (X @ [1.0, -1.0, 0.5, 0.0, 2.0] + rng.standard_normal(400) > 0).astype(int)
    counts = _count_passes(monkeypatch)
    LogisticRegression(C=np.inf, solver="lbfgs", fit_intercept=False, tol=1e-8).fit(X, y)
    g0 = X.T @ (0.5 - y) / 400
    w1 = counts["points"][1][:5]
    np.testing.assert_allclose(w1, -4 * g0, rtol=1e-10)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("weighted", [False, True])
def test_the_first_evaluation_from_column_stats_equals_a_kernel_pass(dtype, weighted):
    # at w = 0, b = 0 LogisticObjective.loss_grad answers from the label sums without a pass
    X, y = DATASETS["breast_cancer"]()
    X, y = X.astype(dtype), y.astype(dtype)
    sw = weights(len(y)).astype(dtype) if weighted else np.empty(0, dtype)
    stats = column_stats(X, sw, 1, y)
    fast = dense_objective(X, y, sw, alpha_l2=0.5, stats=stats)
    slow = dense_objective(X, y, sw, alpha_l2=0.5)
    zero_w, zero_b = np.zeros(X.shape[1]), np.zeros(1)
    got, want = fast.loss_grad(zero_w, zero_b), slow.loss_grad(zero_w, zero_b)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * np.abs(b).max())
    # anywhere else: the kernel
    w = np.full(X.shape[1], 0.01)
    np.testing.assert_array_equal(fast.loss_grad(w, zero_b)[1], slow.loss_grad(w, zero_b)[1])


def test_lbfgs_trial_steps_that_overflow_raise_no_warnings():
    # found by hypothesis: features near 1e150 with a few weighted rows; a trial step
    # whose coefficients overflow made `inf * 0` (a NumPy RuntimeWarning) before the
    # check that sends SciPy back. 400 such problems (15 warned before the fix).
    rng = np.random.default_rng(1)
    for _ in range(400):
        n, k = int(rng.integers(5, 25)), int(rng.integers(1, 4))
        rows = rng.choice(n, k, replace=False)
        X = np.zeros((n, 2))
        X[rows] = rng.random((k, 2)) * 10.0 ** rng.integers(148, 154, (k, 2)) * \
            (rng.random((k, 2)) < 0.7)
        y = np.zeros(n, int)
        y[rng.integers(n)] = 1
        sw = np.zeros(n)
        sw[rows] = 40 * rng.random(k)
        for C in (0.01, 1.0):
            clf = LogisticRegression(C=C, solver="lbfgs", max_iter=int(rng.integers(1, 4)))
            with warnings.catch_warnings():
                warnings.simplefilter("error", RuntimeWarning)
                warnings.filterwarnings(  # max_iter <= 3
                    "ignore", "solver=.* did not reach tol", ConvergenceWarning)
                try:
                    clf.fit(X, y, sample_weight=sw if sw.sum() > 0 else None)
                except ValueError as exc:  # the scale check's refusal is fine
                    assert "rescale X" in str(exc)
                    continue
            assert np.all(np.isfinite(clf.coef_)) and np.all(np.isfinite(clf.intercept_))


@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
def test_warm_start_at_the_last_solution_on_a_new_penalty_starts_without_a_pass(solver):
    """A regularisation path: the next fit starts exactly where the previous one's
    last pass was, so it makes one pass fewer than the same fit on a fresh objective
    from the same start, and reaches bit for bit the same solution. Raw breast cancer
    (column means up to 900): lbfgs's start in its centred coordinates does not map
    back to the same bits, so it evaluates at the start as given."""
    from clogreg import _solvers
    X, y = load_breast_cancer(return_X_y=True)

    def counted(alpha_l2):
        obj = dense_objective(X, y.astype(float), alpha_l2=alpha_l2)
        passes = []
        rows_pass = obj.rows.loss_grad
        obj.rows.loss_grad = lambda *a: passes.append(1) or rows_pass(*a)
        return obj, passes

    obj, passes = counted(10.0)
    first = _solvers.solve(obj, solver, np.zeros((1, 30)), np.zeros(1), max_iter=100,
                           tol=1e-8)
    obj.alpha_l2 = 1.0
    before = len(passes)
    second = _solvers.solve(obj, solver, first.coef, first.intercept, max_iter=100,
                            tol=1e-8)
    fresh, fresh_passes = counted(1.0)
    ref = _solvers.solve(fresh, solver, first.coef, first.intercept, max_iter=100,
                         tol=1e-8)
    assert second.n_iter > 0
    assert len(passes) - before == len(fresh_passes) - 1
    np.testing.assert_array_equal(second.coef, ref.coef)
    np.testing.assert_array_equal(second.loss, ref.loss)


@pytest.mark.parametrize("a1, a2", [(1.0, 0.0), (0.0, 2.0), (0.7, 0.3), (3.0, 0.01)])
def test_penalty_centre_minimises_the_penalty_of_the_shifted_classes(a1, a2):
    # against a brute-force search over a fine grid around the coefficients
    from clogreg._objective import penalty_centre as _penalty_centre
    rng = np.random.default_rng(7)
    W = rng.standard_normal((5, 6)) * 2
    W[:3, 0] = 0.0                                  # zeros: a median at 0 for L1
    W[:, 1] = 0.0                                   # an all-zero column stays
    c = _penalty_centre(W, a1, a2)

    def penalty(v, j):
        return (a1 * np.abs(W[:, j] - v) + 0.5 * a2 * (W[:, j] - v) ** 2).sum()
    for j in range(6):
        grid = np.linspace(W[:, j].min() - 1, W[:, j].max() + 1, 200_001)
        brute = (a1 * np.abs(W[:, j][:, None] - grid) +
                 0.5 * a2 * (W[:, j][:, None] - grid) ** 2).sum(axis=0).min()
        assert penalty(c[j], j) <= brute + 1e-9
        assert penalty(c[j], j) <= penalty(0.0, j)
    assert c[1] == 0.0


def test_multinomial_newton_converges_in_few_steps_with_centred_classes():
    # L2-penalised multinomial: proximal Newton on the whole softmax Hessian reaches
    # scikit-learn's optimum in few iterations, and the shift shared by every class
    # (which the data term ignores) is the penalty's best: the classes sum to 0
    X, y = make_classification(n_samples=2000, n_features=20, n_informative=10,
                               n_classes=5, random_state=0)
    X = StandardScaler().fit_transform(X)
    ours = LogisticRegression(solver="newton", C=0.1, tol=1e-10, max_iter=200).fit(X, y)
    assert ours.stop_reason_ == "converged" and ours.n_iter_[0] < 25
    with _quiet():
        ref = SkLogisticRegression(C=0.1, tol=1e-12, max_iter=10_000).fit(X, y)
    assert sklearn_objective(ours, X, y) <= sklearn_objective(ref, X, y) * (1 + 1e-10)
    np.testing.assert_allclose(ours.coef_.sum(axis=0), 0.0, atol=1e-8)


def test_multinomial_l1_newton_forms_the_hessian_where_coordinate_descent_crawls(
        monkeypatch):
    # make_classification's two redundant columns are sums of informative ones: the
    # model's Hessian then has flat valleys along which coordinate descent crawls
    # (its sweep cap reached); the steps after that form the Hessian over the working
    # set (ADMM where its coordinate descent crawls too) and reach saga's optimum
    from clogreg import _objective
    X, y = make_classification(n_samples=2000, n_features=20, n_informative=10,
                               n_classes=5, random_state=0)
    X = StandardScaler().fit_transform(X)
    formed = []
    step = _objective.MultinomialQuadraticModel.step
    monkeypatch.setattr(_objective.MultinomialQuadraticModel, "step",
                        lambda self, *a: formed.append(1) or step(self, *a))
    ours = LogisticRegression(solver="newton", C=1.0, l1_ratio=1.0, tol=1e-8,
                              max_iter=30).fit(X, y)
    assert ours.stop_reason_ == "converged" and formed
    with _quiet():
        ref = SkLogisticRegression(C=1.0, l1_ratio=1.0, solver="saga", tol=1e-12,
                                   max_iter=20_000).fit(X, y)
    assert sklearn_objective(ours, X, y) <= sklearn_objective(ref, X, y) * (1 + 1e-10)
    # without forming (as on sparse X) the same optimum, in more steps
    monkeypatch.setattr(_objective, "MULTINOMIAL_FORM_MAX", 0)
    coordinate = LogisticRegression(solver="newton", C=1.0, l1_ratio=1.0, tol=1e-8,
                                    max_iter=100).fit(X, y)
    assert coordinate.stop_reason_ == "converged"
    assert coordinate.n_iter_[0] > ours.n_iter_[0]
    assert sklearn_objective(coordinate, X, y) <= sklearn_objective(ref, X, y) * (1 + 1e-10)
