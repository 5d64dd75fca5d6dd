"""Training kernels for binary and multinomial logistic regression.

Design
------
Python validates the data, encodes the labels (0.0 / 1.0, or class indices), picks
the dtype and allocates the inputs and outputs; the def functions here check the
shapes, allocate their own work arrays (NumPy; newton_pass: malloc, checked) so that a
failed allocation is a ``MemoryError`` before any loop starts, and then run arithmetic
only, without the GIL.

* The one pass over the data (``binary.pxi``, ``multinomial.pxi``) works a tile of
  rows at a time: ``z = X_tile @ w`` (BLAS), the per-row arithmetic, ``g += X_tile.T
  @ r`` (BLAS) while the tile is still in cache, so X is read from memory once per
  pass; the next tile is prefetched meanwhile.
* The per-row arithmetic is a few short, branch-free loops over the tile without
  library calls: ``exp(-|z|)`` and ``log1p`` are written out (``maths.pxi``) so that
  the compiler emits packed SIMD instructions even for the baseline x86-64 (SSE2) of a
  portable wheel, and float32 data gets float32 arithmetic. (setup.py compiles with
  ``-fno-trapping-math``, which lets gcc turn the selects ``a if c else b`` into blends.)
* Rows are cut into fixed chunks of ``CHUNK_ROWS``. Each chunk writes its own partial
  gradient and statistics; the partials are then added in chunk order
  (``reductions.pxi``). The chunks are spread over OpenMP threads, but the order of
  every addition is fixed by the chunk layout alone, so the result is bit-identical for
  any number of threads.
* ``gd_fit`` and ``sgd_fit`` (``epochs.pxi``) run all epochs inside one ``nogil``
  block. Trouble (a non-finite loss or step) is reported as a status code and turned
  into an exception by the caller, in Python.

Arrays are marked ``# IN`` (read only: ``const`` memoryviews, so read-only and
memory-mapped arrays work without a copy), ``# OUT`` (written) and ``# WORK``
(scratch). ``floating`` is float32 or float64: float32 data trains in float32, with
the loss and the chunk totals accumulated in float64.

Layout: one extension, its parts included below (``src/clogreg/_kernel/``); the C
for SIMD row loops, prefetching and the CPU probe is in ``_kernel/simd.h``. setup.py
compiles this file twice (baseline and AVX2+FMA), so the parts must not depend on the
build other than through ``simd.h``'s ``#if defined(__AVX2__)``. Each part cimports
what it uses (repeated cimports are allowed), so that cython-lint can read it alone.

Public functions: ``loss_grad`` (binary.pxi), ``multinomial_loss_grad``
(multinomial.pxi), ``column_stats`` (reductions.pxi), ``newton_pass`` and
``cd_quadratic`` (newton.pxi), ``csc_cd_step`` (sparse_cd.pxi: the same coordinate
descent on a CSC matrix, without the Hessian), ``gd_fit`` and ``sgd_fit`` (epochs.pxi),
``cpu_supports_avx2_fma`` (cpu.pxi), ``CHUNK_ROWS`` and ``Status``.
"""
cdef extern from "simd.h":
    void _prefetch "CLOGREG_PREFETCH"(const void* p) noexcept nogil
    void _rows_dot_f "clogreg_rows_dot_f"(const float* x, const float* w, Py_ssize_t t,
                                          Py_ssize_t d, float* z) noexcept nogil
    void _rows_dot_d "clogreg_rows_dot_d"(const double* x, const double* w, Py_ssize_t t,
                                          Py_ssize_t d, double* z) noexcept nogil
    void _tile_scores_f "clogreg_tile_scores_f"(
        const float* x, const float* W, Py_ssize_t t, Py_ssize_t d, Py_ssize_t K,
        float* z) noexcept nogil
    void _tile_scores_d "clogreg_tile_scores_d"(
        const double* x, const double* W, Py_ssize_t t, Py_ssize_t d, Py_ssize_t K,
        double* z) noexcept nogil
    void _tile_grad_f "clogreg_tile_grad_f"(
        const float* r, const float* x, Py_ssize_t t, Py_ssize_t d, Py_ssize_t K,
        float* G) noexcept nogil
    void _tile_grad_d "clogreg_tile_grad_d"(
        const double* r, const double* x, Py_ssize_t t, Py_ssize_t d, Py_ssize_t K,
        double* G) noexcept nogil
    int _cpu_avx2_fma "clogreg_cpu_avx2_fma"() noexcept nogil


# Rows per chunk. It fixes the order of the floating-point additions, so changing it
# changes results in the last bits; it never depends on the number of threads.
cdef Py_ssize_t _CHUNK_ROWS = 4096
CHUNK_ROWS = _CHUNK_ROWS
# Rows per tile: at most _TILE_ELEMS values (64 KiB in float64), so that a tile read
# by the first matrix-vector product is still in cache for the second. Below about
# 9,000 values OpenBLAS also keeps a matrix-vector product on the calling thread.
cdef enum:
    _MAX_TILE_ROWS = 256
    _TILE_ELEMS = 8192
    _LANES = 8          # partial sums per statistic (fixed: it fixes the order too)
    # The binary pass does its two matrix-vector products in its own loops, never
    # BLAS (whose gemv reads X slower than memory on some CPUs: issue 12). For float64
    # up to this many columns they are in-order sums four rows at a time; above, the
    # 8-lane sums of clogreg_rows_dot_d (simd.h) (BENCHMARKS.md, "Kernel tuning
    # constants").
    _SMALL_D = 10
    # Bytes per tile of the binary pass above _SMALL_D columns: half of a 32 KiB L1
    # data cache (BENCHMARKS.md, "Kernel tuning constants").
    _WIDE_TILE_BYTES = 8192
    # Rows per tile of the Newton pass: up to this many values (256 KiB in float64;
    # the tile's work arrays are on the heap, not the stack). Fewer, larger syrk
    # calls are faster than 8,192-value tiles (BENCHMARKS.md, "Kernel tuning constants").
    _NEWTON_TILE_ELEMS = 32768
    # ... but at least this many rows: syrk reads and writes the whole (d, d) lower
    # triangle per call, so with d = 2,000 and 16-row tiles the pass moved 32 GB of H
    # for 32 GFLOP (memory-bound, 4x slower than 256-row tiles; issue 16).
    _NEWTON_MIN_TILE_ROWS = 256

# Status codes returned by gd_fit and sgd_fit; clogreg._solvers turns them into reasons.
cpdef enum Status:
    STATUS_CONVERGED = 0
    STATUS_MAX_ITER = 1
    STATUS_NONFINITE = 2


include "_kernel/maths.pxi"        # exp(-|z|), log1p, exp, log, sqrt: vectorisable
include "_kernel/blas.pxi"         # gemv / syrk with an explicit order; small matvecs
include "_kernel/reductions.pxi"   # lanes, chunk sums, column_stats
include "_kernel/checks.pxi"       # shape checks and work arrays (Python side, with the GIL)
include "_kernel/binary.pxi"       # loss_grad: the binary pass
include "_kernel/multinomial.pxi"  # multinomial_loss_grad: the softmax pass
include "_kernel/newton.pxi"       # newton_pass, cd_quadratic
include "_kernel/epochs.pxi"       # gd_fit, sgd_fit: steps, RNG, epoch drivers
include "_kernel/cpu.pxi"          # cpu_supports_avx2_fma
include "_kernel/sparse.pxi"       # CSR: fixed row blocks, checks, binary pass, Hessian-vector
include "_kernel/sparse_multinomial.pxi"  # CSR: the softmax pass
include "_kernel/sparse_stats.pxi" # CSR: column statistics, repeated entries
include "_kernel/sparse_cd.pxi"    # CSC: coordinate descent for the L1 Newton step
