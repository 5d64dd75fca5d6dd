/* How the binary pass reads a tile of rows: the measurement behind clogreg_rows_dot_d
   (src/clogreg/_kernel/simd.h) and _WIDE_TILE_BYTES (src/clogreg/_kernel.pyx).

       gcc -O3 -mavx2 -mfma -ffp-contract=off benchmarks/tuning_rows_dot.c -o /tmp/rows_dot
       /tmp/rows_dot 500000 100

   Prints, per round, milliseconds for: reading X once (4 AVX2 sums, the memory bound);
   z = X @ w one row after the other (8 lanes in 2 registers, as simd.h); the same with
   four rows interleaved (as OpenBLAS's gemv reads a row-major X); and the whole
   product pair of the binary pass (z = X_t @ w, then g += X_t.T @ z, 4 rows at a time)
   for tiles of 1, 2, 4 and 8 KiB-elements. BENCHMARKS.md, "Kernel tuning constants",
   quotes it. */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static inline double lanes(__m256d a, __m256d b) {
    __m256d s = _mm256_add_pd(a, b);
    __m128d u = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
    return _mm_cvtsd_f64(_mm_add_sd(u, _mm_unpackhi_pd(u, u)));
}

static double read_once(const double* x, long n) {
    __m256d a = _mm256_setzero_pd(), b = a, c = a, d = a;
    for (long i = 0; i + 16 <= n; i += 16) {
        a = _mm256_add_pd(a, _mm256_loadu_pd(x + i));
        b = _mm256_add_pd(b, _mm256_loadu_pd(x + i + 4));
        c = _mm256_add_pd(c, _mm256_loadu_pd(x + i + 8));
        d = _mm256_add_pd(d, _mm256_loadu_pd(x + i + 12));
    }
    return lanes(a, b) + lanes(c, d);
}

/* d a multiple of 8 here (the kernel masks the last columns) */
static void dot_rows(const double* x, const double* w, long t, long d, double* z) {
    for (long i = 0; i < t; i++) {
        const double* xi = x + i * d;
        __m256d a = _mm256_setzero_pd(), b = a;
        for (long j = 0; j + 8 <= d; j += 8) {
            a = _mm256_add_pd(a, _mm256_mul_pd(_mm256_loadu_pd(xi + j), _mm256_loadu_pd(w + j)));
            b = _mm256_add_pd(b, _mm256_mul_pd(_mm256_loadu_pd(xi + j + 4),
                                               _mm256_loadu_pd(w + j + 4)));
        }
        z[i] = lanes(a, b);
    }
}

static void dot_4rows(const double* x, const double* w, long t, long d, double* z) {
    long i = 0;
    for (; i + 4 <= t; i += 4) {
        const double *x0 = x + i * d, *x1 = x0 + d, *x2 = x1 + d, *x3 = x2 + d;
        __m256d a0 = _mm256_setzero_pd(), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0,
                a3 = a0, b3 = a0;
        for (long j = 0; j + 8 <= d; j += 8) {
            __m256d wa = _mm256_loadu_pd(w + j), wb = _mm256_loadu_pd(w + j + 4);
            a0 = _mm256_add_pd(a0, _mm256_mul_pd(_mm256_loadu_pd(x0 + j), wa));
            b0 = _mm256_add_pd(b0, _mm256_mul_pd(_mm256_loadu_pd(x0 + j + 4), wb));
            a1 = _mm256_add_pd(a1, _mm256_mul_pd(_mm256_loadu_pd(x1 + j), wa));
            b1 = _mm256_add_pd(b1, _mm256_mul_pd(_mm256_loadu_pd(x1 + j + 4), wb));
            a2 = _mm256_add_pd(a2, _mm256_mul_pd(_mm256_loadu_pd(x2 + j), wa));
            b2 = _mm256_add_pd(b2, _mm256_mul_pd(_mm256_loadu_pd(x2 + j + 4), wb));
            a3 = _mm256_add_pd(a3, _mm256_mul_pd(_mm256_loadu_pd(x3 + j), wa));
            b3 = _mm256_add_pd(b3, _mm256_mul_pd(_mm256_loadu_pd(x3 + j + 4), wb));
        }
        z[i] = lanes(a0, b0);
        z[i + 1] = lanes(a1, b1);
        z[i + 2] = lanes(a2, b2);
        z[i + 3] = lanes(a3, b3);
    }
    dot_rows(x + i * d, w, t - i, d, z + i);
}

static void axpy_rows(const double* x, const double* r, long t, long d, double* g) {
    long i = 0;
    for (; i + 4 <= t; i += 4) {
        const double* x0 = x + i * d;
        double r0 = r[i], r1 = r[i + 1], r2 = r[i + 2], r3 = r[i + 3];
        for (long j = 0; j < d; j++)
            g[j] = g[j] + ((r0 * x0[j] + r1 * x0[d + j]) + (r2 * x0[2 * d + j] + r3 * x0[3 * d + j]));
    }
    for (; i < t; i++)
        for (long j = 0; j < d; j++)
            g[j] = g[j] + r[i] * x[i * d + j];
}

int main(int argc, char** argv) {
    long n = argc > 1 ? atol(argv[1]) : 500000, d = argc > 2 ? atol(argv[2]) : 100;
    d -= d % 8;
    if (n < 1 || d < 8 || d > 4096) {
        fprintf(stderr, "usage: rows_dot N D (8 <= D <= 4096)\n");
        return 2;
    }
    double* x = aligned_alloc(64, ((n * d * 8 + 63) / 64) * 64);
    double w[4096], z[4096], g[4096], sink = 0;
    for (long i = 0; i < n * d; i++) x[i] = (i % 7) * 0.1;
    for (long j = 0; j < d; j++) { w[j] = 0.01 * j; g[j] = 0; }
    long elems[] = {1024, 2048, 4096, 8192};
    printf("%ld x %ld float64, ms per pass\n", n, d);
    for (int round = 0; round < 5; round++) {
        double t0 = now();
        sink += read_once(x, n * d);
        double t1 = now();
        for (long i = 0; i + 256 <= n; i += 256) dot_rows(x + i * d, w, 256, d, z);
        double t2 = now();
        for (long i = 0; i + 256 <= n; i += 256) dot_4rows(x + i * d, w, 256, d, z);
        double t3 = now();
        printf("read %.1f | rows %.1f | 4 rows interleaved %.1f |", (t1 - t0) * 1e3,
               (t2 - t1) * 1e3, (t3 - t2) * 1e3);
        for (int e = 0; e < 4; e++) {
            long tile = elems[e] / d > 0 ? elems[e] / d : 1;
            double a = now();
            for (long i = 0; i + tile <= n; i += tile) {
                dot_rows(x + i * d, w, tile, d, z);
                axpy_rows(x + i * d, z, tile, d, g);
            }
            printf(" pair, tile %ld KiB %.1f", elems[e] * 8 / 1024, (now() - a) * 1e3);
        }
        printf("\n");
        sink += z[0] + g[0];
    }
    return sink == 12345.678;  /* keeps the sums alive */
}
