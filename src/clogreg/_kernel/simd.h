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

/* float32: z[i] = x[i, :] @ w for the t rows of a row-major tile of d columns,
   every row summed in one fixed order: lane k of 8 (one AVX2 register) adds the
   products of columns k, k + 8, k + 16, ... in turn, then the lanes are added as
   ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)). The AVX2 build does it in
   registers (where a row ends mid-register, masked loads add 0 * 0 to the idle
   lanes: no change, as a lane that starts at +0 never holds -0); any other
   build in plain C: the same sums in the same order, so the same bits.
   The AVX2 code is faster than the 4-row loops of _small_matvec, the plain C slower,
   so float64 keeps those (BENCHMARKS.md, "Kernel tuning constants"). */
static void clogreg_rows_dot_f(const float* x, const float* w, Py_ssize_t t,
                               Py_ssize_t d, float* z) {
    Py_ssize_t i, j;
#if defined(__AVX2__)
    const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(d % 8)),
                                            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    for (i = 0; i < t; i++) {
        const float* xi = x + i * d;
        __m256 acc = _mm256_setzero_ps();
        __m128 s, u;
        for (j = 0; j + 8 <= d; j += 8)
            acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_loadu_ps(xi + j),
                                                   _mm256_loadu_ps(w + j)));
        if (j < d)
            acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_maskload_ps(xi + j, mask),
                                                   _mm256_maskload_ps(w + j, mask)));
        s = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
        u = _mm_add_ps(s, _mm_movehl_ps(s, s));
        z[i] = _mm_cvtss_f32(_mm_add_ss(u, _mm_shuffle_ps(u, u, 1)));
    }
#else
    for (i = 0; i < t; i++) {
        const float* xi = x + i * d;
        float l0 = 0.0f, l1 = 0.0f, l2 = 0.0f, l3 = 0.0f;
        float l4 = 0.0f, l5 = 0.0f, l6 = 0.0f, l7 = 0.0f;
        for (j = 0; j + 8 <= d; j += 8) {
            l0 = l0 + xi[j] * w[j];
            l1 = l1 + xi[j + 1] * w[j + 1];
            l2 = l2 + xi[j + 2] * w[j + 2];
            l3 = l3 + xi[j + 3] * w[j + 3];
            l4 = l4 + xi[j + 4] * w[j + 4];
            l5 = l5 + xi[j + 5] * w[j + 5];
            l6 = l6 + xi[j + 6] * w[j + 6];
            l7 = l7 + xi[j + 7] * w[j + 7];
        }
        switch (d - j) {  /* the last columns (idle lanes: see above) */
        case 7: l6 = l6 + xi[j + 6] * w[j + 6]; /* fall through */
        case 6: l5 = l5 + xi[j + 5] * w[j + 5]; /* fall through */
        case 5: l4 = l4 + xi[j + 4] * w[j + 4]; /* fall through */
        case 4: l3 = l3 + xi[j + 3] * w[j + 3]; /* fall through */
        case 3: l2 = l2 + xi[j + 2] * w[j + 2]; /* fall through */
        case 2: l1 = l1 + xi[j + 1] * w[j + 1]; /* fall through */
        case 1: l0 = l0 + xi[j] * w[j]; /* fall through */
        default: break;
        }
        z[i] = ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7));
    }
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
