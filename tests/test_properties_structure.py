"""Property tests (hypothesis) whose problems span the kernel's structure.

The kernel works on tiles of up to 256 rows inside fixed chunks of 4,096 rows (the
unit of OpenMP work and of the bit-identical reduction), computes ``X @ w`` in its
own loops up to 10 columns and with BLAS above, and has separate binary and
multinomial passes. The problems here are drawn across all of these: rows from 2
to ~20,000 (most small, some around the tile and chunk sizes, a few large ones),
1 to 40 columns, 2 to 6 classes, sample weights with zeros, class weights,
``n_jobs`` in {1, 2, 3}, float32 and float64, every solver. The data themselves
come from a NumPy generator seeded by hypothesis (drawing 20,000 x 40 values one by
one would take hypothesis far longer than the fits).

Properties:

* a fit reaches the optimum of the objective written out in NumPy
  (`reference.mean_gradient`: the gradient of the mean objective at the fitted
  parameters is within a few tol of zero);
* the first fit of a fresh estimator equals the first fit of another one, and a
  fit with n_jobs = 2 or 3 equals it bit for bit;
* float32 agrees with float64 under a relative tolerance (comment below);
* sgd follows its documented algorithm (`reference.sgd_epochs`);
* invalid inputs drawn from the README's input-contract table raise the documented
  exception and message.
"""
import warnings

import numpy as np
import pytest
from hypothesis import assume, event, given, note, settings
from hypothesis import strategies as st
from reference import mean_gradient, sgd_epochs
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_class_weight

from clogreg import LogisticRegression

TILE_ROWS, CHUNK_ROWS, OWN_LOOP_MAX_COLS = 256, 4096, 10


def examples(fraction):
    """``fraction`` of the profile's examples per property (tests/conftest.py): these
    fits are bigger than those of tests/test_properties.py."""
    return settings(max_examples=max(10, int(settings().max_examples * fraction)))


@st.composite
def row_counts(draw):
    """Mostly small; some across one or two 256-row tiles; a few across 4,096-row
    chunks (up to ~20,000 rows: five chunks, the last one partial)."""
    kind = draw(st.sampled_from(["small"] * 5 + ["tile"] * 3 + ["chunk"] * 2 + ["large"]))
    event(f"rows: {kind}")
    if kind == "small":
        return draw(st.integers(2, 60))
    if kind == "tile":
        return draw(st.sampled_from([TILE_ROWS - 1, TILE_ROWS, TILE_ROWS + 1])) + \
            draw(st.sampled_from([0, TILE_ROWS]))
    if kind == "chunk":
        return CHUNK_ROWS + draw(st.integers(-3, 3))
    return draw(st.integers(2 * CHUNK_ROWS + 1, 20_000))


@st.composite
def problems(draw, max_classes=6, weights=True):
    """(X, y, sample_weight, class_weight): a well-posed problem of unit scale."""
    n = draw(row_counts())
    d = draw(st.one_of(st.integers(1, OWN_LOOP_MAX_COLS),
                       st.integers(OWN_LOOP_MAX_COLS + 1, 40)))
    event("cols: own loops" if d <= OWN_LOOP_MAX_COLS else "cols: BLAS")
    k = draw(st.integers(2, min(max_classes, n)))
    event(f"classes: {k}")
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = rng.standard_normal((n, d)) * rng.uniform(0.5, 2.0, d) + rng.uniform(-1, 1, d)
    scores = X @ rng.standard_normal((d, k)) / np.sqrt(d) + rng.gumbel(size=(n, k))
    y = np.argmax(scores, axis=1)
    y[:k] = np.arange(k)  # every class present
    labels = draw(st.sampled_from(["int", "str"]))
    if labels == "str":
        y = np.array([f"c{i}" for i in range(k)])[y]
    sw = None
    if weights and draw(st.booleans()):
        sw = rng.uniform(0.0, 3.0, n) * (rng.random(n) > 0.2)  # some zero weights
        sw[:k] = rng.uniform(0.5, 2.0, k)  # every class keeps weight
    cw = None
    if weights:
        cw = draw(st.sampled_from([None, "balanced", "dict"]))
        if cw == "dict":
            cw = {c: float(v) for c, v in zip(np.unique(y), rng.uniform(0.2, 3.0, k))}
    return X, y, sw, cw


def effective_weights(y, sw, cw):
    """s_i = sample weight times class weight (README: "multiplied into the sample
    weights"), the class weights from scikit-learn's compute_class_weight."""
    classes, index = np.unique(y, return_inverse=True)
    s = np.ones(len(y)) if sw is None else np.asarray(sw, float)
    if cw is not None:
        try:  # scikit-learn >= 1.7 weights "balanced" by the sample weights
            per_class = compute_class_weight(cw, classes=classes, y=y, sample_weight=sw)
        except TypeError:
            per_class = compute_class_weight(cw, classes=classes, y=y)
        s = s * per_class[index]
    return classes, index, s


@given(problem=problems(), dtype=st.sampled_from([np.float64, np.float32]),
       solver=st.sampled_from(["gd", "lbfgs", "newton"]),
       C=st.sampled_from([0.1, 1.0, 10.0]), fit_intercept=st.booleans())
@examples(0.1)
def test_fit_reaches_the_numpy_optimum(problem, dtype, solver, C, fit_intercept):
    X, y, sw, cw = problem
    classes, index, s = effective_weights(y, sw, cw)
    if solver == "newton" and classes.size > 2:
        solver = "lbfgs"  # newton is binary only (its refusal: test_estimator.py)
    X = X.astype(dtype)
    n_out = 1 if classes.size == 2 else classes.size
    # float32 gradients carry rounding errors of ~ sqrt(n) eps32 relative to their
    # terms (unit scale here): tol = 1e-4 leaves them far behind
    tol = 1e-6 if dtype == np.float64 else 1e-4
    clf = LogisticRegression(C=C, solver=solver, tol=tol, max_iter=20_000,
                             fit_intercept=fit_intercept, class_weight=cw)
    if solver == "gd":
        # plain gradient descent at 1 / L converges linearly at a rate set by the
        # conditioning: some drawn problems need more than 20,000 epochs (it then warns,
        # as documented); those say nothing about the optimum and are set aside
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y, sample_weight=sw)
        assume(clf.stop_reason_ == "converged")
    else:
        clf.fit(X, y, sample_weight=sw)
    assert clf.stop_reason_ == "converged", clf.stop_reason_
    gW, gb = mean_gradient(X, index, n_out, clf.coef_, clf.intercept_, s, alpha_l2=1 / C,
                           fit_intercept=fit_intercept)
    # the solver stops on its own (kernel) gradient <= tol: NumPy's, computed in
    # float64 at the rounded float32 coefficients, agrees within rounding
    slack = 1.01 if dtype == np.float64 else 3.0
    assert max(np.abs(gW).max(), np.abs(gb).max()) <= slack * tol
    assert clf.coef_.dtype == dtype and clf.coef_.shape == (n_out, X.shape[1])
    np.testing.assert_array_equal(clf.classes_, classes)


def assert_same_fit(a, b):
    np.testing.assert_array_equal(a.coef_, b.coef_)
    np.testing.assert_array_equal(a.intercept_, b.intercept_)
    np.testing.assert_array_equal(a.n_iter_, b.n_iter_)
    for key in ("loss", "accuracy", "grad_norm"):
        np.testing.assert_array_equal(a.history_[key], b.history_[key])
    assert a.stop_reason_ == b.stop_reason_


@given(problem=problems(), dtype=st.sampled_from([np.float64, np.float32]),
       solver=st.sampled_from(["gd", "sgd", "lbfgs", "newton"]),
       n_jobs=st.sampled_from([2, 3, -1]), batch_size=st.sampled_from([7, 256, 5000]),
       l1_ratio=st.sampled_from([0.0, 0.5]))
@examples(0.1)
def test_first_fits_and_thread_counts_are_bit_identical(problem, dtype, solver, n_jobs,
                                                        batch_size, l1_ratio):
    X, y, sw, cw = problem
    if solver == "newton" and np.unique(y).size > 2:
        solver = "gd"
    if solver == "lbfgs":
        l1_ratio = 0.0
    X = X.astype(dtype)
    params = {"solver": solver, "max_iter": 8, "tol": 0 if solver in ("gd", "sgd") else 1e-3,
                  "class_weight": cw, "batch_size": batch_size, "random_state": 3,
                  "l1_ratio": l1_ratio}
    with warnings.catch_warnings():
        # 8 iterations may stop short of tol=1e-3: the warning is not the point here
        warnings.filterwarnings("ignore", "solver=.* did not reach tol", ConvergenceWarning)
        first = LogisticRegression(n_jobs=1, **params).fit(X, y, sample_weight=sw)
        other = LogisticRegression(n_jobs=1, **params).fit(X, y, sample_weight=sw)
        threaded = LogisticRegression(n_jobs=n_jobs, **params).fit(X, y, sample_weight=sw)
        default = LogisticRegression(n_jobs=None, **params).fit(X, y, sample_weight=sw)
    assert_same_fit(first, other)
    assert_same_fit(first, threaded)
    assert_same_fit(first, default)


@given(problem=problems(), C=st.sampled_from([0.1, 1.0, np.inf]),
       max_iter=st.integers(1, 15), n_jobs=st.sampled_from([1, 2, 3]))
@examples(0.1)
def test_float32_agrees_with_float64_relatively(problem, C, max_iter, n_jobs):
    X, y, sw, cw = problem
    X32 = X.astype(np.float32)
    X64 = X32.astype(np.float64)  # the same values: only the arithmetic differs
    params = {"solver": "gd", "C": C, "max_iter": max_iter, "tol": 0, "class_weight": cw,
                  "n_jobs": n_jobs}
    f32 = LogisticRegression(**params).fit(X32, y, sample_weight=sw)
    f64 = LogisticRegression(**params).fit(X64, y, sample_weight=sw)
    assert f32.coef_.dtype == np.float32 and f64.coef_.dtype == np.float64
    # Relative tolerance. The float32 kernel rounds each product and each sum to
    # eps32 = 6e-8 relative to the terms summed: z = x.w + b to ~d eps32 |x||w|,
    # and the gradient sum_i s_i r_i x_i, accumulated in float32 over at most one
    # 256-row tile before the float64 reduction, to at worst ~256 eps32 times
    # sum_i s_i |r_i||x_i| (random rounding errors grow like the square root).
    # A gradient step of size lr = 1/L is non-expansive, so the errors of the epochs
    # add up: after m epochs the coefficients differ by at most about
    # m * 256 eps32 * (the scale of the coefficients and of one step: max|w|, |b|
    # of the float64 fit, and the first gradient norm). rtol = 256 eps32 * m is that
    # worst case; 60 random problems of this kind measured at most 1.7 eps32 * m, so
    # it holds with margin, while a float32 path that lost even 4 bits an epoch fails.
    rtol = 256 * float(np.finfo(np.float32).eps) * max_iter
    scale = max(np.abs(f64.coef_).max(), np.abs(f64.intercept_).max(),
                np.abs(f64.history_["grad_norm"][0]))
    np.testing.assert_allclose(f32.coef_, f64.coef_, rtol=0, atol=rtol * scale)
    np.testing.assert_allclose(f32.intercept_, f64.intercept_, rtol=0, atol=rtol * scale)
    z32 = f32.decision_function(X32).astype(np.float64)
    z64 = f64.decision_function(X64)
    # decision values: their error is |x| times the coefficients' error plus the
    # rounding of the sum, relative to its terms: rtol * (|x| @ (|w| + scale) + ...)
    terms = np.abs(X64) @ (np.abs(f64.coef_.T) + scale) + np.abs(f64.intercept_) + scale
    terms = terms.ravel() if z64.ndim == 1 else terms
    assert np.all(np.abs(z32 - z64) <= rtol * terms), np.abs(z32 - z64).max()


@given(problem=problems(max_classes=4), dtype=st.sampled_from([np.float64, np.float32]),
       batch_size=st.sampled_from([1, 16, 256, 300, 5000]), epochs=st.integers(1, 3),
       schedule=st.sampled_from(["invscaling", "constant"]),
       l1_ratio=st.sampled_from([0.0, 0.5]), seed=st.integers(0, 2**31 - 1),
       n_jobs=st.sampled_from([1, 2, 3]))
@examples(0.06)
def test_sgd_follows_its_numpy_description(problem, dtype, batch_size, epochs, schedule,
                                           l1_ratio, seed, n_jobs):
    X, y, sw, cw = problem
    if X.shape[0] * epochs > 10_000:  # the reference shuffles in Python
        X, y = X[:2_000], y[:2_000]
        sw = None if sw is None else sw[:2_000]
        if np.unique(y).size < 2:
            return
        cw = None if isinstance(cw, dict) and set(cw) != set(np.unique(y)) else cw
    classes, index, s = effective_weights(y, sw, cw)
    X = X.astype(dtype)
    n, n_out = X.shape[0], 1 if classes.size == 2 else classes.size
    C = 1.0
    # A step no longer than 1 / L_i for every row (L_i = c s_i (|x_i|^2 + 1) + alpha_l2
    # / n, c = 1/4 binary, 1/2 softmax) is non-expansive, so rounding differences
    # between the two implementations do not grow from step to step. Longer steps
    # (class weights ~3 on rows of |x|^2 ~ 60, as hypothesis found) amplify them
    # chaotically: 1e-5 relative after 4,000 steps of float64.
    c = 0.25 if n_out == 1 else 0.5
    X64 = X.astype(np.float64)
    L_max = float(np.max(c * s * (np.einsum("ij,ij->i", X64, X64) + 1.0))) + \
        (1 - l1_ratio) / C / n
    eta0 = min(0.05, 1.0 / L_max)
    clf = LogisticRegression(solver="sgd", C=C, l1_ratio=l1_ratio, batch_size=batch_size,
                             lr_schedule=schedule, learning_rate=eta0, max_iter=epochs,
                             tol=0, random_state=seed, class_weight=cw, n_jobs=n_jobs)
    clf.fit(X, y, sample_weight=sw)
    # the generator's seed, drawn from random_state as the estimator documents
    start = int(check_random_state(seed).randint(1, 2**62)) | 1
    W, b, losses, _, _ = sgd_epochs(
        X, index, n_out, np.zeros((n_out, X.shape[1])), np.zeros(n_out), seed=start,
        epochs=epochs, eta0=eta0, power_t=0.5 if schedule == "invscaling" else 0.0,
        batch_size=min(batch_size, n), sample_weight=s, alpha_l2=(1 - l1_ratio) / C,
        alpha_l1=l1_ratio / C)
    # float64: the same operations in another order (BLAS, chunked sums): 1e-9
    # relative. float32: each batch step rounds to ~sqrt(batch) eps32 relative to its
    # terms and steps are non-expansive (eta0 above): a few thousand steps at most
    # keep the coefficients within 1e-3 of their scale.
    rtol = 1e-9 if dtype == np.float64 else 2e-3
    scale = max(1.0, np.abs(W).max(), np.abs(b).max())
    np.testing.assert_allclose(clf.coef_, W, rtol=0, atol=rtol * scale)
    np.testing.assert_allclose(clf.intercept_, b, rtol=0, atol=rtol * scale)
    np.testing.assert_allclose(clf.history_["loss"], losses, rtol=max(rtol, 1e-12))


# ------------------------------------------------------------- invalid inputs
def _with(X, i, value):
    X = X.astype(object if isinstance(value, str) else X.dtype, copy=True)
    X.flat[i] = value
    return X


INVALID_X = {  # README "Input contract": (make bad X from good X, exception, message)
    "nan": (lambda X, i: _with(X, i, np.nan), ValueError, "Input X contains NaN"),
    "inf": (lambda X, i: _with(X, i, np.inf), ValueError, "Input X contains infinity"),
    "-inf": (lambda X, i: _with(X, i, -np.inf), ValueError, "Input X contains infinity"),
    "string": (lambda X, i: _with(X, i, "1.5"), ValueError, "X holds strings"),
    "complex": (lambda X, i: X + 1j, ValueError, "X is complex"),
    "1-D": (lambda X, i: X[:, 0], ValueError, "Expected 2D array, got 1D array"),
    "3-D": (lambda X, i: X[:, :, None], ValueError, "Found array with dim 3"),
    "0 features": (lambda X, i: X[:, :0], ValueError, r"0 feature\(s\)"),
    "datetime": (lambda X, i: X.astype("datetime64[s]"), TypeError, "not a number type"),
}
INVALID_Y = {
    "one class": (lambda y, i: np.full_like(y, y[0]), "at least 2 classes; got 1 class"),
    "short": (lambda y, i: y[:-1], "inconsistent numbers of samples"),
    "continuous": (lambda y, i: np.linspace(0.1, 0.9, len(y)),
                   "Unknown label type: continuous"),
    "mixed": (lambda y, i: _with(y, i, "a"), "mixes label types"),
    "nan": (lambda y, i: np.where(np.arange(len(y)) == i, np.nan, y.astype(float)),
            "Input y contains NaN"),
}
INVALID_SW = {
    "negative": (lambda s, i: np.where(np.arange(len(s)) == i, -1.0, s),
                 "sample_weight must be non-negative"),
    "nan": (lambda s, i: np.where(np.arange(len(s)) == i, np.nan, s),
            "Input sample_weight contains NaN"),
    "inf": (lambda s, i: np.where(np.arange(len(s)) == i, np.inf, s),
            "Input sample_weight contains infinity"),
    "zero": (lambda s, i: np.zeros_like(s), "sample_weight must not be all zero"),
    "shape": (lambda s, i: s[:-1], r"sample_weight must have shape \(\d+,\)"),
    "overflow": (lambda s, i: np.full_like(s, 1e308),
                 "sample_weight sums to more than the largest float64"),
}


@given(problem=problems(max_classes=3, weights=False),
       dtype=st.sampled_from([np.float64, np.float32]),
       what=st.sampled_from(sorted(["X:" + k for k in INVALID_X] +
                                   ["y:" + k for k in INVALID_Y] +
                                   ["sw:" + k for k in INVALID_SW])),
       where=st.floats(0, 1, exclude_max=True),
       solver=st.sampled_from(["auto", "gd", "sgd", "lbfgs"]),
       n_jobs=st.sampled_from([1, 2]))
@examples(0.2)
def test_invalid_input_raises_the_documented_error(problem, dtype, what, where, solver,
                                                   n_jobs):
    X, y, _, _ = problem
    X = X[:600].astype(dtype)  # refusals come before any pass: size does not matter
    y = np.unique(y[:600], return_inverse=True)[1]  # integer labels
    if np.unique(y).size < 2:
        return
    sw = np.ones(len(y))
    kind, name = what.split(":")
    error = ValueError
    if kind == "X":
        make, error, message = INVALID_X[name]
        X = make(X, int(where * X.size))
    elif kind == "y":
        make, message = INVALID_Y[name]
        y = make(y, int(where * len(y)))
    else:
        make, message = INVALID_SW[name]
        sw = make(sw, int(where * len(sw)))
        if name == "overflow" and dtype == np.float32:  # 1e308 is inf in float32
            message = "Input sample_weight contains infinity"
    note(f"{what}: X {X.dtype} {X.shape}")
    clf = LogisticRegression(solver=solver, n_jobs=n_jobs)
    with pytest.raises(error, match=message):
        clf.fit(X, y, sample_weight=sw)
    assert not hasattr(clf, "coef_")  # a failed fit leaves the estimator unfitted
