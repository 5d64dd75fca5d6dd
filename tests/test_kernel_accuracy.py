"""The kernel's own exp/log1p/sigmoid, row by row, against extended-precision NumPy."""
import numpy as np
import pytest


from clogreg import _kernel

# Per-row loss log(1 + e^z) (y = 0) and probability sigmoid(z), in ulps of the dtype.
MAX_ULPS = 4


def kernel_rows(z, dtype):
    """(loss, p) of one-row problems x = 1, w = z, y = 0: loss_grad row by row."""
    X, y = np.ones((1, 1), dtype), np.zeros(1, dtype)
    sw, grad = np.empty(0, dtype), np.empty(1, dtype)
    out = np.empty((z.size, 2))
    for i, zi in enumerate(z):
        loss, grad_b, _ = _kernel.loss_grad(X, y, sw, np.array([zi], dtype), 0.0, grad)
        out[i] = loss, grad_b  # grad_b = p - y = p
    return out[:, 0], out[:, 1]


def ulps(got, ref, dtype):
    ref_d = ref.astype(dtype)
    spacing = np.maximum(np.spacing(np.abs(ref_d)), np.finfo(dtype).tiny).astype(np.longdouble)
    return np.abs(got.astype(np.longdouble) - ref) / spacing


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_loss_and_sigmoid_within_a_few_ulps(dtype):
    rng = np.random.default_rng(0)
    top = 700.0 if dtype == np.float64 else 85.0  # exp(-|z|) stays a normal number
    z = np.concatenate([rng.uniform(-1, 1, 400), rng.uniform(-40, 40, 400),
                        rng.uniform(-top, top, 200), [0.0, 1e-30, -1e-30, top, -top]])
    z = z.astype(dtype)
    loss, p = kernel_rows(z, dtype)
    zl = z.astype(np.longdouble)
    ez = np.exp(-np.abs(zl))
    loss_ref = np.log1p(ez) + np.maximum(zl, 0)
    p_ref = np.where(zl > 0, 1 / (1 + ez), ez / (1 + ez))
    assert ulps(loss, loss_ref, dtype).max() <= MAX_ULPS
    assert ulps(p, p_ref, dtype).max() <= MAX_ULPS
    # z = 0, where every fit starts: log 2 and 1/2 exactly
    assert loss[-5] == dtype(np.log(2.0)) and p[-5] == 0.5


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_extreme_margins_flush_to_exact_limits(dtype):
    z = np.array([-1e4, -800.0, 800.0, 1e4], dtype)
    loss, p = kernel_rows(z, dtype)
    np.testing.assert_array_equal(loss, [0.0, 0.0, 800.0, 1e4])
    np.testing.assert_array_equal(p, [0.0, 0.0, 1.0, 1.0])
