"""The Python epoch loop of "gd" (`clogreg._solvers._gd.gd_epochs_python`), used by
layouts without an in-kernel loop (clogreg.dask), against the kernel's ``gd_fit`` on
the same dense rows and against the NumPy reference."""
import numpy as np
import pytest
import reference
from helpers import dense_objective

from clogreg._solvers import StopReason, gradient_descent


class NoEpochLoop:
    """The dense rows without ``gd_epochs``: gradient_descent's Python loop runs."""

    def __init__(self, rows):
        self._rows = rows

    def __getattr__(self, name):
        if name in ("gd_epochs", "sgd_epochs"):
            raise AttributeError(name)
        return getattr(self._rows, name)


def _problem(n_out, weighted, seed=0, n=3000, d=6):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if n_out == 1:
        y = (X @ rng.normal(size=d) + rng.logistic(size=n) > 0).astype(np.float64)
    else:
        y = rng.integers(0, n_out, size=n).astype(np.float64)
        X[np.arange(n), y.astype(int) % d] += 1.0
    sw = rng.uniform(0.2, 2.0, size=n) if weighted else None
    return X, y, sw


@pytest.mark.parametrize("n_out, weighted, a2, a1, fit_b, tol", [
    (1, False, 0.0, 0.0, True, 0.0),
    (1, True, 1.0, 0.0, True, 1e-6),
    (1, False, 0.5, 20.0, True, 1e-8),     # L1: proximal steps, zeros in w
    (1, True, 0.0, 0.0, False, 0.0),
    (3, False, 1.0, 0.0, True, 1e-6),
    (4, True, 0.2, 5.0, True, 0.0),
])
def test_python_loop_matches_kernel_loop(n_out, weighted, a2, a1, fit_b, tol):
    X, y, sw = _problem(n_out, weighted)
    obj = dense_objective(X, y, sw, n_out=n_out, alpha_l2=a2, alpha_l1=a1,
                          fit_intercept=fit_b)
    K, d = n_out, X.shape[1]
    kw = {"learning_rate": "auto", "max_iter": 200, "tol": tol}
    kernel = gradient_descent(obj, np.zeros((K, d)), np.zeros(K), **kw)
    obj.rows = NoEpochLoop(obj.rows)
    python = gradient_descent(obj, np.zeros((K, d)), np.zeros(K), **kw)
    assert python.n_iter == kernel.n_iter
    assert python.stop_reason == kernel.stop_reason
    if tol > 0:
        assert kernel.stop_reason == StopReason.CONVERGED
    np.testing.assert_allclose(python.coef, kernel.coef, rtol=0, atol=1e-12)
    np.testing.assert_allclose(python.intercept, kernel.intercept, rtol=0, atol=1e-12)
    np.testing.assert_allclose(python.loss, kernel.loss, rtol=1e-12)
    np.testing.assert_array_equal(python.accuracy, kernel.accuracy)
    np.testing.assert_allclose(python.grad_norm, kernel.grad_norm, rtol=1e-9, atol=1e-15)
    if a1:
        assert (python.coef == 0).any()  # the soft threshold zeroed coefficients


def test_python_loop_matches_numpy_reference():
    X, y, sw = _problem(1, True, seed=3)
    obj = dense_objective(X, y, sw, alpha_l2=0.3, alpha_l1=2.0)
    obj.rows = NoEpochLoop(obj.rows)
    lr = 1e-4
    res = gradient_descent(obj, np.zeros((1, 6)), np.zeros(1), learning_rate=lr,
                           max_iter=40, tol=0.0)
    w, b, losses, accs = reference.gradient_descent(X, y, lr=lr, epochs=40,
                                                    sample_weight=sw, alpha_l2=0.3,
                                                    alpha_l1=2.0)
    np.testing.assert_allclose(res.coef.ravel(), w, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res.intercept[0], b, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res.loss, losses, rtol=1e-12)
    np.testing.assert_allclose(res.accuracy, accs)


def test_python_loop_stops_before_a_nonfinite_step():
    X, y, _ = _problem(1, False, seed=4)
    X *= 1e150
    obj = dense_objective(X, y)
    obj.rows = NoEpochLoop(obj.rows)
    res = gradient_descent(obj, np.zeros((1, 6)), np.zeros(1), learning_rate=1e10,
                           max_iter=10, tol=0.0)
    assert res.stop_reason == StopReason.NONFINITE
    assert np.isfinite(res.coef).all()
    with pytest.raises(ValueError, match="lr must be positive"):
        from clogreg._solvers._gd import gd_epochs_python
        gd_epochs_python(obj, np.zeros(6), np.zeros(1), np.empty((3, 1)), lr=0.0,
                         alpha_l2=0.0, alpha_l1=0.0, fit_intercept=True, max_iter=1,
                         tol=0.0)
