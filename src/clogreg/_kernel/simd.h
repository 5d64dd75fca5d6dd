/* The C parts of clogreg's kernel (included by _kernel.pyx through cdef extern).

   Compiled twice with the rest of the kernel: once for the baseline x86-64 (SSE2) and
   once with -mavx2 -mfma -ffp-contract=off (setup.py). Everything here gives the same
   bits in both builds; tests/test_dispatch.py checks it. */
#ifndef CLOGREG_SIMD_H
#define CLOGREG_SIMD_H

#include <Python.h> /* Py_ssize_t */

#if defined(__AVX2__)
#include <immintrin.h>
#endif

/* Ask for the cache line at p (read, keep in all cache levels); nothing elsewhere. */
#if defined(__GNUC__) || defined(__clang__)
#define CLOGREG_PREFETCH(p) __builtin_prefetch((p), 0, 3)
#else
#define CLOGREG_PREFETCH(p) ((void)(p))
#endif

/* z[i] = x[i, :] @ w for the t rows of a row-major tile of d columns, every row
   summed in one fixed order: lane k of 8 adds the products of columns k, k + 8,
   k + 16, ... in turn, then the lanes are added as
   ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)).

   The AVX2 build keeps the 8 lanes of a row in registers (one for float32, two for
   float64) and reads one row after the other: a single forward stream, which the
   hardware prefetcher keeps at the speed of memory. (Interleaving four rows, as
   OpenBLAS's gemv does, read X 2.5x slower on an AMD EPYC host: issue 12,
   BENCHMARKS.md "Kernel tuning constants".) Where a row ends mid-register, masked
   loads add 0 * 0 to the idle lanes: no change, as a lane that starts at +0 never
   holds -0. Any other build does the same sums in the same order in plain C, so both
   builds give the same bits (tests/test_dispatch.py). */
#define CLOGREG_DOT8_C(T, xi, w, d, out)                                            \
    do {                                                                            \
        T l0 = 0, l1 = 0, l2 = 0, l3 = 0, l4 = 0, l5 = 0, l6 = 0, l7 = 0;           \
        Py_ssize_t j_;                                                              \
        for (j_ = 0; j_ + 8 <= (d); j_ += 8) {                                      \
            l0 = l0 + (xi)[j_] * (w)[j_];                                           \
            l1 = l1 + (xi)[j_ + 1] * (w)[j_ + 1];                                   \
            l2 = l2 + (xi)[j_ + 2] * (w)[j_ + 2];                                   \
            l3 = l3 + (xi)[j_ + 3] * (w)[j_ + 3];                                   \
            l4 = l4 + (xi)[j_ + 4] * (w)[j_ + 4];                                   \
            l5 = l5 + (xi)[j_ + 5] * (w)[j_ + 5];                                   \
            l6 = l6 + (xi)[j_ + 6] * (w)[j_ + 6];                                   \
            l7 = l7 + (xi)[j_ + 7] * (w)[j_ + 7];                                   \
        }                                                                           \
        switch ((d) - j_) { /* the last columns (idle lanes: see above) */          \
        case 7: l6 = l6 + (xi)[j_ + 6] * (w)[j_ + 6]; /* fall through */            \
        case 6: l5 = l5 + (xi)[j_ + 5] * (w)[j_ + 5]; /* fall through */            \
        case 5: l4 = l4 + (xi)[j_ + 4] * (w)[j_ + 4]; /* fall through */            \
        case 4: l3 = l3 + (xi)[j_ + 3] * (w)[j_ + 3]; /* fall through */            \
        case 3: l2 = l2 + (xi)[j_ + 2] * (w)[j_ + 2]; /* fall through */            \
        case 2: l1 = l1 + (xi)[j_ + 1] * (w)[j_ + 1]; /* fall through */            \
        case 1: l0 = l0 + (xi)[j_] * (w)[j_]; /* fall through */                    \
        default: break;                                                             \
        }                                                                           \
        (out) = ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7));                  \
    } while (0)

/* float32 rows (any d). */
static void clogreg_rows_dot_f(const float* x, const float* w, Py_ssize_t t,
                               Py_ssize_t d, float* z) {
    Py_ssize_t i;
#if defined(__AVX2__)
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(d % 8)),
                                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    const Py_ssize_t d8 = d - d % 8;
    const __m256 wt = _mm256_maskload_ps(w + d8, mask);
    for (i = 0; i < t; i++) {
        const float* xi = x + i * d;
        __m256 acc = _mm256_setzero_ps();
        __m128 s, u;
        Py_ssize_t j;
        for (j = 0; j < d8; j += 8)
            acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_loadu_ps(xi + j),
                                                   _mm256_loadu_ps(w + j)));
        if (d8 < d)
            acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_maskload_ps(xi + d8, mask), wt));
        s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
        u = _mm_add_ps(s, _mm_movehl_ps(s, s));
        z[i] = _mm_cvtss_f32(_mm_add_ss(u, _mm_shuffle_ps(u, u, 1)));
    }
#else
    for (i = 0; i < t; i++)
        CLOGREG_DOT8_C(float, x + i * d, w, d, z[i]);
#endif
}

/* float64 rows of more than a few columns (the binary pass keeps its in-order 4-row
   loops up to _SMALL_D columns: BENCHMARKS.md, "Kernel tuning constants"). */
static void clogreg_rows_dot_d(const double* x, const double* w, Py_ssize_t t,
                               Py_ssize_t d, double* z) {
    Py_ssize_t i;
#if defined(__AVX2__)
    const Py_ssize_t d8 = d - d % 8, rest = d % 8;
    /* the lanes 0-3 and 4-7 of the last, partial group of 8 columns */
    const __m256i idx = _mm256_setr_epi64x(0, 1, 2, 3);
    const __m256i ma = _mm256_cmpgt_epi64(_mm256_set1_epi64x(rest), idx);
    const __m256i mb = _mm256_cmpgt_epi64(_mm256_set1_epi64x(rest - 4), idx);
    const __m256d wta = _mm256_maskload_pd(w + d8, ma);
    const __m256d wtb = _mm256_maskload_pd(w + d8 + 4, mb);
    for (i = 0; i < t; i++) {
        const double* xi = x + i * d;
        __m256d a = _mm256_setzero_pd(), b = _mm256_setzero_pd(), s;
        __m128d u;
        Py_ssize_t j;
        for (j = 0; j < d8; j += 8) {
            a = _mm256_add_pd(a, _mm256_mul_pd(_mm256_loadu_pd(xi + j),
                                               _mm256_loadu_pd(w + j)));
            b = _mm256_add_pd(b, _mm256_mul_pd(_mm256_loadu_pd(xi + j + 4),
                                               _mm256_loadu_pd(w + j + 4)));
        }
        if (rest) {
            a = _mm256_add_pd(a, _mm256_mul_pd(_mm256_maskload_pd(xi + d8, ma), wta));
            b = _mm256_add_pd(b, _mm256_mul_pd(_mm256_maskload_pd(xi + d8 + 4, mb), wtb));
        }
        s = _mm256_add_pd(a, b); /* l0 + l4, l1 + l5, l2 + l6, l3 + l7 */
        u = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
        z[i] = _mm_cvtsd_f64(_mm_add_sd(u, _mm_unpackhi_pd(u, u)));
    }
#else
    for (i = 0; i < t; i++)
        CLOGREG_DOT8_C(double, x + i * d, w, d, z[i]);
#endif
}

/* ---------------------------------------------------------------------------------
   The multinomial pass's two products over a tile of t rows (row-major, d columns),
   the kernel's own loops (no BLAS: its gemm on (t x d) @ (d x K) tiles is slow for
   few classes, and sums in an order of its own on every CPU):

   scores:  z[i * K + k] = x_i . W_k, summed in lanes as the binary pass's rows: 8
            lanes for float32 (CLOGREG_DOT8_C), 4 for float64 (CLOGREG_DOT4_C:
            lane m adds columns m, m + 4, ... in turn; z = (l0 + l2) + (l1 + l3)).
            The AVX2 build keeps four classes' lanes in registers, so that each load
            of x serves four classes.
   gradient: G[k * d + j] += r[i * K + k] * x[i * d + j] for i = 0 .. t - 1 in turn:
            every (k, j) its own sum in row order, whichever columns and classes the
            AVX2 build keeps in registers together.

   Multiplications and additions stay separate (no FMA), so that both builds give the
   same bits (tests/test_dispatch.py). */
#define CLOGREG_DOT4_C(T, xi, w, d, out)                                            \
    do {                                                                            \
        T l0 = 0, l1 = 0, l2 = 0, l3 = 0;                                           \
        Py_ssize_t j_;                                                              \
        for (j_ = 0; j_ + 4 <= (d); j_ += 4) {                                      \
            l0 = l0 + (xi)[j_] * (w)[j_];                                           \
            l1 = l1 + (xi)[j_ + 1] * (w)[j_ + 1];                                   \
            l2 = l2 + (xi)[j_ + 2] * (w)[j_ + 2];                                   \
            l3 = l3 + (xi)[j_ + 3] * (w)[j_ + 3];                                   \
        }                                                                           \
        switch ((d) - j_) {                                                         \
        case 3: l2 = l2 + (xi)[j_ + 2] * (w)[j_ + 2]; /* fall through */            \
        case 2: l1 = l1 + (xi)[j_ + 1] * (w)[j_ + 1]; /* fall through */            \
        case 1: l0 = l0 + (xi)[j_] * (w)[j_]; /* fall through */                    \
        default: break;                                                             \
        }                                                                           \
        (out) = (l0 + l2) + (l1 + l3);                                              \
    } while (0)

/* The gradient's sums in plain C (both builds: the AVX2 build's last columns). */
#define CLOGREG_TILE_GRAD_C(T, r, x, t, d, K, G, j_from)                            \
    do {                                                                            \
        Py_ssize_t i_, j_, k_;                                                      \
        for (k_ = 0; k_ < (K); k_++)                                                \
            for (j_ = (j_from); j_ < (d); j_++) {                                   \
                T g_ = (G)[k_ * (d) + j_];                                          \
                for (i_ = 0; i_ < (t); i_++)                                        \
                    g_ = g_ + (r)[i_ * (K) + k_] * (x)[i_ * (d) + j_];              \
                (G)[k_ * (d) + j_] = g_;                                            \
            }                                                                       \
    } while (0)

#if defined(__AVX2__)
static inline double clogreg_hsum4_d(__m256d a) { /* (l0 + l2) + (l1 + l3) */
    __m128d u = _mm_add_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    return _mm_cvtsd_f64(_mm_add_sd(u, _mm_unpackhi_pd(u, u)));
}

static inline float clogreg_hsum8_f(__m256 a) { /* the order of CLOGREG_DOT8_C */
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    __m128 u = _mm_add_ps(s, _mm_movehl_ps(s, s));
    return _mm_cvtss_f32(_mm_add_ss(u, _mm_shuffle_ps(u, u, 1)));
}

/* Lanes of the 4 (float64) or 8 (float32) columns from j on that lie before d. */
static inline __m256i clogreg_mask_d(Py_ssize_t j, Py_ssize_t d) {
    Py_ssize_t n = d - j < 0 ? 0 : (d - j > 4 ? 4 : d - j);
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
}

static inline __m256i clogreg_mask_f(Py_ssize_t j, Py_ssize_t d) {
    Py_ssize_t n = d - j < 0 ? 0 : (d - j > 8 ? 8 : d - j);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
#endif

/* The AVX2 scores: four classes of a row at a time, then the last K % 4 classes four
   rows at a time (four independent sums in flight either way). */
#define CLOGREG_TILE_SCORES_AVX2(T, V, W_, LOADU, MASKLOAD, MUL, ADD, ZERO, HSUM,     \
                                 MASK)                                                \
    do {                                                                              \
        const Py_ssize_t dw = d - d % W_;                                             \
        const __m256i m = MASK(dw, d);                                                \
        Py_ssize_t i, j, k;                                                           \
        for (i = 0; i < t; i++) {                                                     \
            const T* xi = x + i * d;                                                  \
            T* zi = z + i * K;                                                        \
            for (k = 0; k + 4 <= K; k += 4) {                                         \
                const T *w0 = W + k * d, *w1 = w0 + d, *w2 = w1 + d, *w3 = w2 + d;    \
                V a0 = ZERO(), a1 = a0, a2 = a0, a3 = a0, xv;                         \
                for (j = 0; j < dw; j += W_) {                                        \
                    xv = LOADU(xi + j);                                               \
                    a0 = ADD(a0, MUL(xv, LOADU(w0 + j)));                             \
                    a1 = ADD(a1, MUL(xv, LOADU(w1 + j)));                             \
                    a2 = ADD(a2, MUL(xv, LOADU(w2 + j)));                             \
                    a3 = ADD(a3, MUL(xv, LOADU(w3 + j)));                             \
                }                                                                     \
                if (dw < d) { /* idle lanes add 0 * 0: see clogreg_rows_dot_d */      \
                    xv = MASKLOAD(xi + dw, m);                                        \
                    a0 = ADD(a0, MUL(xv, MASKLOAD(w0 + dw, m)));                      \
                    a1 = ADD(a1, MUL(xv, MASKLOAD(w1 + dw, m)));                      \
                    a2 = ADD(a2, MUL(xv, MASKLOAD(w2 + dw, m)));                      \
                    a3 = ADD(a3, MUL(xv, MASKLOAD(w3 + dw, m)));                      \
                }                                                                     \
                zi[k] = HSUM(a0);                                                     \
                zi[k + 1] = HSUM(a1);                                                 \
                zi[k + 2] = HSUM(a2);                                                 \
                zi[k + 3] = HSUM(a3);                                                 \
            }                                                                         \
        }                                                                             \
        for (k = K - K % 4; k < K; k++) {                                             \
            const T* wk = W + k * d;                                                  \
            for (i = 0; i < t; i += 4) {                                              \
                const Py_ssize_t rows = t - i < 4 ? t - i : 4;                        \
                const T* x0 = x + i * d; /* rows past t repeat x0: computed, not stored */\
                const T *x1 = rows > 1 ? x0 + d : x0, *x2 = rows > 2 ? x0 + 2 * d : x0;\
                const T* x3 = rows > 3 ? x0 + 3 * d : x0;                             \
                V a0 = ZERO(), a1 = a0, a2 = a0, a3 = a0, wv;                         \
                for (j = 0; j < dw; j += W_) {                                        \
                    wv = LOADU(wk + j);                                               \
                    a0 = ADD(a0, MUL(LOADU(x0 + j), wv));                             \
                    a1 = ADD(a1, MUL(LOADU(x1 + j), wv));                             \
                    a2 = ADD(a2, MUL(LOADU(x2 + j), wv));                             \
                    a3 = ADD(a3, MUL(LOADU(x3 + j), wv));                             \
                }                                                                     \
                if (dw < d) {                                                         \
                    wv = MASKLOAD(wk + dw, m);                                        \
                    a0 = ADD(a0, MUL(MASKLOAD(x0 + dw, m), wv));                      \
                    a1 = ADD(a1, MUL(MASKLOAD(x1 + dw, m), wv));                      \
                    a2 = ADD(a2, MUL(MASKLOAD(x2 + dw, m), wv));                      \
                    a3 = ADD(a3, MUL(MASKLOAD(x3 + dw, m), wv));                      \
                }                                                                     \
                z[i * K + k] = HSUM(a0);                                              \
                if (rows > 1) z[(i + 1) * K + k] = HSUM(a1);                          \
                if (rows > 2) z[(i + 2) * K + k] = HSUM(a2);                          \
                if (rows > 3) z[(i + 3) * K + k] = HSUM(a3);                          \
            }                                                                         \
        }                                                                             \
    } while (0)

static void clogreg_tile_scores_d(const double* x, const double* W, Py_ssize_t t,
                                  Py_ssize_t d, Py_ssize_t K, double* z) {
#if defined(__AVX2__)
    CLOGREG_TILE_SCORES_AVX2(double, __m256d, 4, _mm256_loadu_pd, _mm256_maskload_pd,
                             _mm256_mul_pd, _mm256_add_pd, _mm256_setzero_pd,
                             clogreg_hsum4_d, clogreg_mask_d);
#else
    Py_ssize_t i, k;
    for (i = 0; i < t; i++)
        for (k = 0; k < K; k++)
            CLOGREG_DOT4_C(double, x + i * d, W + k * d, d, z[i * K + k]);
#endif
}

static void clogreg_tile_scores_f(const float* x, const float* W, Py_ssize_t t,
                                  Py_ssize_t d, Py_ssize_t K, float* z) {
#if defined(__AVX2__)
    CLOGREG_TILE_SCORES_AVX2(float, __m256, 8, _mm256_loadu_ps, _mm256_maskload_ps,
                             _mm256_mul_ps, _mm256_add_ps, _mm256_setzero_ps,
                             clogreg_hsum8_f, clogreg_mask_f);
#else
    Py_ssize_t i, k;
    for (i = 0; i < t; i++)
        for (k = 0; k < K; k++)
            CLOGREG_DOT8_C(float, x + i * d, W + k * d, d, z[i * K + k]);
#endif
}

/* The AVX2 gradient keeps four sums in flight: four classes of one column block (the
   last block masked), or, for the last K % 4 classes, four column blocks of one class
   (the last four masked where they pass d: masked-out lanes are neither read nor
   written). */
#define CLOGREG_TILE_GRAD_AVX2(T, V, W_, LOADU, STOREU, MASKLOAD, MASKSTORE, BCAST,     \
                               MUL, ADD, MASK)                                        \
    do {                                                                              \
        Py_ssize_t i, j, k;                                                           \
        for (k = 0; k + 4 <= K; k += 4) {                                             \
            for (j = 0; j < d; j += W_) {                                             \
                T *g0 = G + k * d + j, *g1 = g0 + d, *g2 = g1 + d, *g3 = g2 + d;      \
                V a0, a1, a2, a3;                                                     \
                if (j + W_ <= d) {                                                    \
                    a0 = LOADU(g0); a1 = LOADU(g1); a2 = LOADU(g2); a3 = LOADU(g3);   \
                    for (i = 0; i < t; i++) {                                         \
                        const V xv = LOADU(x + i * d + j);                            \
                        const T* ri = r + i * K + k;                                  \
                        a0 = ADD(a0, MUL(BCAST(ri), xv));                             \
                        a1 = ADD(a1, MUL(BCAST(ri + 1), xv));                         \
                        a2 = ADD(a2, MUL(BCAST(ri + 2), xv));                         \
                        a3 = ADD(a3, MUL(BCAST(ri + 3), xv));                         \
                    }                                                                 \
                    STOREU(g0, a0); STOREU(g1, a1); STOREU(g2, a2); STOREU(g3, a3);   \
                } else {                                                              \
                    const __m256i mj = MASK(j, d);                                    \
                    a0 = MASKLOAD(g0, mj); a1 = MASKLOAD(g1, mj);                     \
                    a2 = MASKLOAD(g2, mj); a3 = MASKLOAD(g3, mj);                     \
                    for (i = 0; i < t; i++) {                                         \
                        const V xv = MASKLOAD(x + i * d + j, mj);                     \
                        const T* ri = r + i * K + k;                                  \
                        a0 = ADD(a0, MUL(BCAST(ri), xv));                             \
                        a1 = ADD(a1, MUL(BCAST(ri + 1), xv));                         \
                        a2 = ADD(a2, MUL(BCAST(ri + 2), xv));                         \
                        a3 = ADD(a3, MUL(BCAST(ri + 3), xv));                         \
                    }                                                                 \
                    MASKSTORE(g0, mj, a0); MASKSTORE(g1, mj, a1);                     \
                    MASKSTORE(g2, mj, a2); MASKSTORE(g3, mj, a3);                     \
                }                                                                     \
            }                                                                         \
        }                                                                             \
        for (; k < K; k++) {                                                          \
            for (j = 0; j + 4 * W_ <= d; j += 4 * W_) {                               \
                T* g = G + k * d + j;                                                 \
                V a0 = LOADU(g), a1 = LOADU(g + W_);                                  \
                V a2 = LOADU(g + 2 * W_), a3 = LOADU(g + 3 * W_);                     \
                for (i = 0; i < t; i++) {                                             \
                    const T* xi = x + i * d + j;                                      \
                    const V rv = BCAST(r + i * K + k);                                \
                    a0 = ADD(a0, MUL(rv, LOADU(xi)));                                 \
                    a1 = ADD(a1, MUL(rv, LOADU(xi + W_)));                            \
                    a2 = ADD(a2, MUL(rv, LOADU(xi + 2 * W_)));                        \
                    a3 = ADD(a3, MUL(rv, LOADU(xi + 3 * W_)));                        \
                }                                                                     \
                STOREU(g, a0); STOREU(g + W_, a1);                                    \
                STOREU(g + 2 * W_, a2); STOREU(g + 3 * W_, a3);                       \
            }                                                                         \
            for (; j < d; j += 4 * W_) { /* the last columns, masked */               \
                const __m256i m0 = MASK(j, d), m1 = MASK(j + W_, d);                  \
                const __m256i m2 = MASK(j + 2 * W_, d), m3 = MASK(j + 3 * W_, d);     \
                T* g = G + k * d + j;                                                 \
                V a0 = MASKLOAD(g, m0), a1 = MASKLOAD(g + W_, m1);                    \
                V a2 = MASKLOAD(g + 2 * W_, m2), a3 = MASKLOAD(g + 3 * W_, m3);       \
                for (i = 0; i < t; i++) {                                             \
                    const T* xi = x + i * d + j;                                      \
                    const V rv = BCAST(r + i * K + k);                                \
                    a0 = ADD(a0, MUL(rv, MASKLOAD(xi, m0)));                          \
                    a1 = ADD(a1, MUL(rv, MASKLOAD(xi + W_, m1)));                     \
                    a2 = ADD(a2, MUL(rv, MASKLOAD(xi + 2 * W_, m2)));                 \
                    a3 = ADD(a3, MUL(rv, MASKLOAD(xi + 3 * W_, m3)));                 \
                }                                                                     \
                MASKSTORE(g, m0, a0); MASKSTORE(g + W_, m1, a1);                      \
                MASKSTORE(g + 2 * W_, m2, a2); MASKSTORE(g + 3 * W_, m3, a3);         \
            }                                                                         \
        }                                                                             \
    } while (0)

static void clogreg_tile_grad_d(const double* r, const double* x, Py_ssize_t t,
                                Py_ssize_t d, Py_ssize_t K, double* G) {
#if defined(__AVX2__)
    CLOGREG_TILE_GRAD_AVX2(double, __m256d, 4, _mm256_loadu_pd, _mm256_storeu_pd,
                           _mm256_maskload_pd, _mm256_maskstore_pd, _mm256_broadcast_sd,
                           _mm256_mul_pd, _mm256_add_pd, clogreg_mask_d);
#else
    CLOGREG_TILE_GRAD_C(double, r, x, t, d, K, G, 0);
#endif
}

static void clogreg_tile_grad_f(const float* r, const float* x, Py_ssize_t t,
                                Py_ssize_t d, Py_ssize_t K, float* G) {
#if defined(__AVX2__)
    CLOGREG_TILE_GRAD_AVX2(float, __m256, 8, _mm256_loadu_ps, _mm256_storeu_ps,
                           _mm256_maskload_ps, _mm256_maskstore_ps, _mm256_broadcast_ss,
                           _mm256_mul_ps, _mm256_add_ps, clogreg_mask_f);
#else
    CLOGREG_TILE_GRAD_C(float, r, x, t, d, K, G, 0);
#endif
}

/* Whether this CPU and OS run AVX2 and FMA code (0 off x86 or without gcc/clang). */
static int clogreg_cpu_avx2_fma(void) {
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();  /* gcc: needed if called before constructors ran */
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

#endif /* CLOGREG_SIMD_H */
