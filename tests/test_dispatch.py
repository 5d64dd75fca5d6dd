"""The AVX2+FMA build of the kernel against the baseline build: bit-identical results.

setup.py compiles ``_kernel.pyx`` a second time with ``-mavx2 -mfma -ffp-contract=off``
(x86-64, gcc/clang). Without contraction and without -ffast-math, packed AVX2
arithmetic rounds exactly as the baseline's SSE2, so every output must be equal
bit for bit (``np.array_equal``, not ``allclose``), and ``clogreg._dispatch`` may pick
either build without changing any result.
"""
import os
import subprocess
import sys

import numpy as np
import pytest


from clogreg import _dispatch, _kernel, _rows

avx2 = _dispatch.avx2_module()
needs_avx2 = pytest.mark.skipif(
    avx2 is None,
    reason="no AVX2 kernel to compare: " + (
        "this CPU lacks AVX2/FMA" if not _kernel.cpu_supports_avx2_fma()
        else "clogreg._kernel_avx2 was not built (CLOGREG_AVX2=0, not x86-64, or MSVC)"))

DTYPES = [np.float64, np.float32]
N = 3 * _kernel.CHUNK_ROWS + 1000  # several chunks, a ragged last one, many tiles


def make_data(dtype, n=N, d=7, n_classes=2, seed=0):
    """Margins from about -40 to 40 (both branches of every exp/log1p), a few huge."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.1, 6.0, d)
    X[:5] *= 1e3
    if n_classes == 2:
        y = (X @ rng.standard_normal(d) + rng.standard_normal(n) > 0).astype(dtype)
    else:
        y = rng.integers(0, n_classes, n).astype(dtype)
    sw = rng.uniform(0.1, 3.0, n).astype(dtype)
    return np.ascontiguousarray(X, dtype=dtype), y, sw


def both(call):
    """call(module) for the baseline and the AVX2 build."""
    return call(_kernel), call(avx2)


def assert_identical(a, b):
    """Equal bit for bit: arrays, scalars, tuples of them (NaNs equal to NaNs)."""
    if isinstance(a, tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_identical(x, y)
        return
    a, b = np.atleast_1d(a), np.atleast_1d(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(a.view(np.uint8), b.view(np.uint8)), \
        f"max |diff| = {np.nanmax(np.abs(a.astype(float) - b.astype(float)))}"


@needs_avx2
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("d", [1, 3, 8, 9, 10, 11, 20])
def test_loss_grad_identical_for_every_row_length(dtype, d):
    # up to 10 columns the pass computes X @ w itself (float32: a row per AVX2
    # register, with masked loads for a ragged end, against plain C in the baseline)
    X, y, sw = make_data(dtype, n=5_003, d=d, seed=d)
    w = np.random.default_rng(d).standard_normal(d).astype(dtype)
    assert_identical(*both(loss_grad_run(X, y, sw, w, -0.2)))


def loss_grad_run(X, y, sw, w, b, n_threads=1):
    """A call of ``module.loss_grad`` returning every output."""
    def run(module):
        grad = np.empty_like(w)
        out = module.loss_grad(X, y, sw, w, b, grad, n_threads)
        return out, grad
    return run


@needs_avx2
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_threads", [1, 2])
def test_loss_grad_identical(dtype, weighted, n_threads):
    X, y, sw = make_data(dtype)
    sw = sw if weighted else np.empty(0, dtype)
    w = np.random.default_rng(1).standard_normal(X.shape[1]).astype(dtype)
    assert_identical(*both(loss_grad_run(X, y, sw, w, 0.3, n_threads)))


@needs_avx2
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_multinomial_loss_grad_identical(dtype, weighted):
    K = 4
    X, y, sw = make_data(dtype, n_classes=K)
    sw = sw if weighted else np.empty(0, dtype)
    rng = np.random.default_rng(2)
    W, b = rng.standard_normal(K * X.shape[1]).astype(dtype), rng.standard_normal(K)

    def run(module):
        grad, grad_b = np.empty_like(W), np.empty(K)
        out = module.multinomial_loss_grad(X, y, sw, W, b, grad, grad_b, 2)
        return out, grad, grad_b

    assert_identical(*both(run))


@needs_avx2
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("d", [1, 3, 4, 5, 8, 9, 13, 50])
@pytest.mark.parametrize("K", [3, 4, 5, 7, 10])
def test_multinomial_pass_identical_for_every_shape(dtype, d, K):
    # the AVX2 build's tile products keep four classes and 4 (float64) or 8 (float32)
    # columns in registers, with masked loads or plain C for the rest: every
    # remainder of classes and columns against the baseline's plain C
    X, y, sw = make_data(dtype, n=1_003, d=d, n_classes=K, seed=d + K)
    rng = np.random.default_rng(K)
    W, b = rng.standard_normal(K * d).astype(dtype), rng.standard_normal(K)

    def run(module):
        grad, grad_b = np.empty_like(W), np.empty(K)
        out = module.multinomial_loss_grad(X, y, sw, W, b, grad, grad_b, 1)
        return out, grad, grad_b

    assert_identical(*both(run))


@needs_avx2
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("alpha_l2, alpha_l1", [(0.0, 0.0), (5.0, 20.0)])
def test_gd_fit_identical(dtype, weighted, n_classes, alpha_l2, alpha_l1):
    X, y, sw = make_data(dtype, n_classes=n_classes)
    sw = sw if weighted else np.empty(0, dtype)
    K = 1 if n_classes == 2 else n_classes
    epochs = 25

    def run(module):
        w, b = np.zeros(K * X.shape[1], dtype), np.zeros(K)
        hist = np.empty((3, epochs))
        out = module.gd_fit(X, y, sw, w, b, hist, 2e-5, alpha_l2, alpha_l1, True, epochs,
                            0.0, float(X.shape[0]), 2)
        return out, w, b, hist

    base, fast = both(run)
    assert base[0] == (epochs, int(_kernel.Status.STATUS_MAX_ITER))
    assert np.any(base[1] != 0) and np.all(np.isfinite(base[3]))  # it did train
    assert_identical(base, fast)


@needs_avx2
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_newton_pass_identical(dtype, weighted):
    X, y, sw = make_data(dtype)
    sw = sw if weighted else np.empty(0, dtype)
    d = X.shape[1]
    w = (0.3 * np.random.default_rng(3).standard_normal(d)).astype(dtype)
    g = np.random.default_rng(4).standard_normal(d + 1)

    def run(module):
        grad, H, H_wb = np.empty(d, dtype), np.zeros((d, d), dtype), np.empty(d, dtype)
        out = module.newton_pass(X, y, sw, w, -0.2, grad, H, H_wb)
        # and the one-call Newton step (the same pass, then LAPACK)
        delta = np.empty(d + 1)
        status = module.newton_direction(X, y, sw, w, -0.2, g, 0.5, 1e-13, delta)
        return out, grad, np.tril(H), H_wb, np.array([status]), delta

    assert_identical(*both(run))


@needs_avx2
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_sgd_fit_identical(dtype, weighted, n_classes):
    X, y, sw = make_data(dtype, n_classes=n_classes)
    sw = sw if weighted else np.empty(0, dtype)
    d = X.shape[1]
    K = 1 if n_classes == 2 else n_classes
    B, epochs = 5000, 4  # batches of two chunks, and a short last batch

    def run(module):
        w, b = np.zeros(K * d, dtype), np.zeros(K)
        hist = np.empty((3, epochs))
        rng_state, seen = np.array([12345], dtype=np.uint64), np.zeros(1)
        out = module.sgd_fit(X, y, sw, w, b, hist, rng_state, seen, 1e-3, 0.5, 1.0, 0.5,
                             True, B, epochs, 0.0, 5)
        return out, w, b, hist, rng_state

    base, fast = both(run)
    assert base[0][0] == epochs and np.any(base[1] != 0)
    assert_identical(base, fast)


@needs_avx2
def test_cd_quadratic_identical():
    rng = np.random.default_rng(4)
    M = rng.standard_normal((30, 8))
    A, g, theta = M.T @ M, rng.standard_normal(8), rng.standard_normal(8)
    l1 = np.full(8, 0.7)

    def run(module):
        delta = np.zeros(8)
        sweeps = module.cd_quadratic(A, g, theta, l1, delta, 1000, 1e-12)
        return sweeps, delta

    assert_identical(*both(run))


def test_dispatch_picks_avx2_where_it_can():
    expected = "avx2" if avx2 is not None and os.environ.get(
        "CLOGREG_KERNEL", "auto").strip().lower() != "baseline" else "baseline"
    assert _dispatch.KERNEL_NAME == expected
    assert _dispatch.kernel is (avx2 if expected == "avx2" else _kernel)
    assert _rows.DenseRows(np.zeros((1, 1)), np.zeros(1), np.empty(0), 1).kernel \
        is _dispatch.kernel


def chosen_in_subprocess(value):
    env = {**os.environ, "CLOGREG_KERNEL": value}
    code = ("import numpy as np; from clogreg import _dispatch, _rows; "
            "rows = _rows.DenseRows(np.zeros((1, 1)), np.zeros(1), np.empty(0), 1); "
            "assert rows.kernel is _dispatch.kernel; "
            "print(_dispatch.KERNEL_NAME, _dispatch.kernel.__name__)")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, check=False)


def test_clogreg_kernel_baseline_selects_the_baseline():
    proc = chosen_in_subprocess("baseline")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["baseline", "clogreg._kernel"]


def test_clogreg_kernel_avx2_forces_it_or_fails_clearly():
    proc = chosen_in_subprocess("avx2")
    if avx2 is not None:
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split() == ["avx2", "clogreg._kernel_avx2"]
    else:
        assert proc.returncode != 0
        assert "ImportError: CLOGREG_KERNEL=avx2, but" in proc.stderr


def test_invalid_clogreg_kernel_raises_a_clear_error():
    with pytest.raises(ValueError, match="CLOGREG_KERNEL must be one of auto, avx2, "
                                         "baseline; got 'sse9'"):
        _dispatch.select("sse9")
    proc = chosen_in_subprocess("sse9")
    assert proc.returncode != 0
    assert "ValueError: CLOGREG_KERNEL must be one of" in proc.stderr


def test_select_defaults_to_auto():
    assert _dispatch.select("") == _dispatch.select("auto") == _dispatch.select(" AUTO ")
    assert _dispatch.select("baseline") == ("baseline", _kernel)


def test_without_avx2_auto_falls_back_and_avx2_fails_clearly(monkeypatch):
    """The module docstring's rules on a CPU without AVX2/FMA and on a build without
    the AVX2 kernel (CLOGREG_AVX2=0, ARM, MSVC), simulated here: "auto" picks the
    baseline, "avx2" raises ImportError saying which of the two is missing."""
    import clogreg

    monkeypatch.setattr(_kernel, "cpu_supports_avx2_fma", lambda: False)
    assert _dispatch.avx2_module() is None
    assert _dispatch.select("auto") == ("baseline", _kernel)
    with pytest.raises(ImportError, match="CLOGREG_KERNEL=avx2, but this CPU lacks AVX2 or "
                                          "FMA"):
        _dispatch.select("avx2")
    monkeypatch.undo()
    if not _kernel.cpu_supports_avx2_fma():
        pytest.skip("this CPU lacks AVX2/FMA: the missing build cannot be told apart")
    # the build without clogreg._kernel_avx2: its import fails
    monkeypatch.delattr(clogreg, "_kernel_avx2", raising=False)
    monkeypatch.setitem(sys.modules, "clogreg._kernel_avx2", None)
    assert _dispatch.avx2_module() is None
    assert _dispatch.select("auto") == ("baseline", _kernel)
    with pytest.raises(ImportError, match=r"clogreg was built without the AVX2 kernel "
                                          r"\(CLOGREG_AVX2=0, not x86-64, or MSVC\)"):
        _dispatch.select("avx2")
