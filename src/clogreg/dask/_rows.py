"""`DaskRows`: the rows layout over the row blocks of a Dask array.

Every pass is one task per block that runs the *same* dense pass as in memory
(`clogreg._rows.DenseRows` over that block) on the worker that holds the block (or,
out of core, that loads it from its source); the client then adds the partial results
up in block order, in float64. The order of the sums never depends on which worker
ran which block or when, so the same chunks give bit-identical results on any number
of workers and threads. Solvers see only the objective (`clogreg._objective`), as in
memory; there is no ``gd_epochs`` here, so "gd" runs the Python epoch loop of
`clogreg._solvers._gd.gd_epochs_python`, one distributed pass per epoch.
"""
import numpy as np

from .._rows import ColumnStats, DenseRows, column_stats


# ------------------------------------------------------------ tasks (on the workers)
def _dense(X, y, sw, n_out, n_threads):
    """A `DenseRows` over one block (C-contiguous; a read-only memory map is fine)."""
    X = np.ascontiguousarray(X)
    if not X.flags.aligned:
        X = X.copy()
    return DenseRows(X, np.ascontiguousarray(y, dtype=X.dtype),
                     np.ascontiguousarray(sw, dtype=X.dtype), n_out, n_threads)


def block_loss_grad(X, y, sw, w, b, n_out, n_threads):
    loss, grad, grad_b, correct = _dense(X, y, sw, n_out, n_threads).loss_grad(w, b)
    return float(loss), grad.copy(), grad_b.copy(), float(correct)


def block_hessian(X, y, sw, w, b, n_out, n_threads, cols=None):
    H, H_wb, h_sum = _dense(X, y, sw, n_out, n_threads).hessian(w, b, cols)
    return H, H_wb, float(h_sum)


def block_column_stats(X, y, sw, labels, n_threads):
    X = np.ascontiguousarray(X)
    y = np.ascontiguousarray(y, dtype=X.dtype)
    return tuple(column_stats(X, np.ascontiguousarray(sw, dtype=X.dtype), n_threads,
                              y if labels else None))


def block_gram(X, y, sw, n_out, fit_intercept):
    return _dense(X, y, sw, n_out, 1).gram(fit_intercept)


def block_squared_norm_sum(X, y, sw, n_out):
    return _dense(X, y, sw, n_out, 1).squared_norm_sum()


def block_max_row_norm(X, y, sw, n_out, fit_intercept):
    return _dense(X, y, sw, n_out, 1).max_row_norm(fit_intercept)


# ------------------------------------------------------------------- the layout
class DaskRows:
    """Rows held as row blocks of Dask arrays (in workers' memory or at their source).

    Parameters
    ----------
    X_blocks, y_blocks, sw_blocks : lists of dask.delayed.Delayed
        Block i of X (n_i, d), of the encoded labels (n_i,) and of the sample weights
        ((n_i,), or (0,) for all ones), in X's dtype.
    block_rows : sequence of int
        n_i, the number of rows of each block (known, > 0).
    n_features, n_out, dtype, sum_weights :
        As `clogreg._rows.DenseRows`; ``sum_weights`` from the validation pass.
    run : callable
        ``run(fn, X_blocks, y_blocks, sw_blocks, args) -> list of results``: computes
        ``fn(X_i, y_i, sw_i, *args)`` for every block on the client's cluster (or
        Dask's local scheduler) and returns the results in block order.
    n_threads : int
        OpenMP threads for each block's pass.
    """

    def __init__(self, X_blocks, y_blocks, sw_blocks, block_rows, *, n_features, n_out,
                 dtype, sum_weights, run, n_threads=1):
        from .._dispatch import kernel

        self.X_blocks, self.y_blocks, self.sw_blocks = X_blocks, y_blocks, sw_blocks
        self.block_rows = list(block_rows)
        self.n_samples, self.n_features = int(sum(self.block_rows)), int(n_features)
        self.n_out, self.dtype = n_out, np.dtype(dtype)
        self.sum_weights = float(sum_weights)
        self.kernel = kernel  # the client's build: QuadraticModel's coordinate descent
        self.n_threads = n_threads
        self._run = run
        self.n_passes = 0  # distributed passes made (benchmarks report it)

    def _map(self, fn, *args):
        """One task per block: ``fn(X_i, y_i, sw_i, *args)``; results in block order."""
        self.n_passes += 1
        return self._run(fn, self.X_blocks, self.y_blocks, self.sw_blocks, args)

    # ------------------------------------------------------------------ passes
    def loss_grad(self, w, b):
        """``(sum s*loss, grad_w, grad_b, n_correct)``: one distributed pass; the
        partial sums added in block order in float64."""
        w = np.ascontiguousarray(w, dtype=self.dtype)
        b = np.array(b, dtype=np.float64, ndmin=1)
        parts = self._map(block_loss_grad, w, b, self.n_out, self.n_threads)
        loss, correct = 0.0, 0.0
        grad = np.zeros(self.n_out * self.n_features)
        grad_b = np.zeros(self.n_out)
        for part_loss, part_grad, part_grad_b, part_correct in parts:
            loss += part_loss
            grad += part_grad
            grad_b += part_grad_b
            correct += part_correct
        return loss, grad, grad_b, correct

    def hessian(self, w, b, cols=None):
        """``(H, H_wb, h_sum)`` of the binary model (lower triangle of H; the partial
        Hessians reduced in block order, in float64); with ``cols``, of those columns
        only (`clogreg._rows.DenseRows.hessian`)."""
        w = np.ascontiguousarray(w, dtype=self.dtype)
        parts = self._map(block_hessian, w, float(b), self.n_out, self.n_threads, cols)
        k = self.n_features if cols is None else cols.size
        H, H_wb, h_sum = np.zeros((k, k)), np.zeros(k), 0.0
        for part_H, part_H_wb, part_h_sum in parts:
            H += part_H
            H_wb += part_H_wb
            h_sum += part_h_sum
        return H, H_wb, h_sum

    def column_stats(self, labels):
        """`ColumnStats` from one distributed pass (inf on overflow, NaN from NaN)."""
        parts = self._map(block_column_stats, bool(labels), self.n_threads)
        with np.errstate(over="ignore", invalid="ignore"):
            fields = []
            for values in zip(*parts):
                if values[0] is None:
                    fields.append(None)
                    continue
                total = np.zeros_like(np.asarray(values[0], dtype=np.float64))
                for v in values:
                    total = total + v
                fields.append(total if total.ndim else float(total))
        return ColumnStats(*fields)

    def gram(self, fit_intercept):
        total = None
        with np.errstate(over="ignore", invalid="ignore"):
            for part in self._map(block_gram, self.n_out, bool(fit_intercept)):
                total = part.copy() if total is None else total + part
        return total

    def squared_norm_sum(self):
        with np.errstate(over="ignore", invalid="ignore"):
            return float(sum(self._map(block_squared_norm_sum, self.n_out), 0.0))

    def max_row_norm(self, fit_intercept):
        return float(max(self._map(block_max_row_norm, self.n_out, bool(fit_intercept))))
