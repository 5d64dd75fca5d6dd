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
