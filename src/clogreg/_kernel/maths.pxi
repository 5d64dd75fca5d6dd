# Scalar maths of the kernel: per-element, inline, nogil. Included by _kernel.pyx.
#
# exp(-|z|) and log(1 + e) are written out in plain arithmetic (no library call), so
# that the loops over a tile that call them compile to packed SIMD instructions.

from cython cimport floating
from libc.math cimport exp, expf, fabs, log, logf, sqrt
from libc.stdint cimport uint32_t, uint64_t


cdef union _Bits64:      # reinterpret a double's bits (type punning through a union)
    double f
    uint64_t u


cdef union _Bits32:
    float f
    uint32_t u


cdef inline floating _exp_neg_abs(floating z) noexcept nogil:
    """Return exp(-|z|), in [0, 1], in plain arithmetic that the compiler vectorises.

    ``exp(-a) = 2**-k * exp(r)`` with ``a = |z|``, ``k = round(a / ln 2)`` and
    ``r = k ln 2 - a`` in [-ln2/2, ln2/2]. exp(r) is its Pade approximant (degree
    6/6 in float64, 3/3 in float32: fewer operations than a polynomial of the same
    accuracy) and ``2**-k`` is built from its exponent bits. Where exp(-a) would be
    subnormal, and for a = inf or NaN, it returns 0 (the caller's loss then still
    carries the inf or NaN of z).
    """
    cdef floating a = fabs(z)  # (float)fabs((double)z) compiles to a float abs
    cdef floating t, k, r, p, t2, ev, od
    cdef _Bits64 b64
    cdef _Bits32 b32
    if floating is double:
        # Adding 1.5 * 2**52 rounds a / ln 2 to the integer k, kept in t's low bits.
        t = a * 1.4426950408889634 + 6755399441055744.0
        k = t - 6755399441055744.0
        # r = k ln2 - a, with ln2 split in two (its high part times k is exact)
        r = (k * 0.6931471803691238 - a) + k * 1.9082149292705877e-10
        # exp(r) by its [6/6] Pade approximant (E + r O) / (E - r O), E and O even
        # polynomials, written 1 + 2 r O / (E - r O) (error below 1e-18)
        t2 = r * r
        ev = ((t2 * (1.0 / 665280.0) + 1.0 / 792.0) * t2 + 5.0 / 44.0) * t2 + 1.0
        od = ((t2 * (1.0 / 15840.0) + 1.0 / 66.0) * t2 + 0.5) * r
        p = 1.0 + 2.0 * od / (ev - od)
        # times 2**-k: the exponent field 1023 - k (t's low 12 bits hold k)
        b64.f = t
        b64.u = (<uint64_t>1023 - b64.u) << 52
        p = p * b64.f
        return p if a < 708.0 else 0.0
    else:
        t = a * <float>1.442695 + <float>12582912.0  # 1.5 * 2**23
        k = t - <float>12582912.0
        r = (k * <float>0.693145752 - a) + k * <float>1.42860677e-06
        # the [3/3] Pade approximant (error below 1e-8)
        t2 = r * r
        ev = t2 * <float>0.1 + <float>1.0
        od = (t2 * <float>(1.0 / 120.0) + <float>0.5) * r
        p = <float>1.0 + <float>2.0 * od / (ev - od)
        b32.f = t
        b32.u = (<uint32_t>127 - b32.u) << 23
        p = p * b32.f
        return p if a < <float>87.0 else <float>0.0


cdef inline floating _log1p_unit(floating e) noexcept nogil:
    """Return log(1 + e) for e in [0, 1], in plain arithmetic that the compiler vectorises.

    ``log(1 + e) = 2 atanh(s) = s P(s**2)`` with ``s = e / (2 + e)`` in [0, 1/3]: no
    cancellation for small e. P is a polynomial in t = s**2 on [0, 1/9] (degree 9 in
    float64, 4 in float32; relative error below 0.4 ulp), nearly the atanh series
    ``2 + 2t/3 + 2t**2/5 + ...``.
    """
    cdef floating s = e / (<floating>2 + e)
    cdef floating t = s * s
    cdef floating p
    # mpmath.chebyfit(lambda t: 2 atanh(sqrt t) / sqrt t, [0, 1/9], degree + 1)
    if floating is double:
        p = 0.17780763826113302
        p = p * t + 0.09880789048764786
        p = p * t + 0.13591305485579894
        p = p * t + 0.15363676248891633
        p = p * t + 0.1818285980047391
        p = p * t + 0.22222190861346283
        p = p * t + 0.2857142911165716
        p = p * t + 0.399999999952876
        p = p * t + 0.6666666666668257
        p = p * t + 2.0
    else:
        p = <float>0.2815778
        p = p * t + <float>0.27965158
        p = p * t + <float>0.40024596
        p = p * t + <float>0.6666632
        p = p * t + <float>2.0
    p = s * p
    # e = 1 (z = 0) is where every fit starts (w = 0): return log 2 there exactly
    if floating is double:
        return p if e < 1 else 0.6931471805599453
    else:
        return p if e < 1 else <float>0.6931472


cdef inline floating _exp(floating x) noexcept nogil:
    if floating is float:
        return expf(x)
    else:
        return exp(x)


cdef inline floating _log(floating x) noexcept nogil:
    if floating is float:
        return logf(x)
    else:
        return log(x)


cdef inline floating _sqrt(floating x) noexcept nogil:
    return <floating>sqrt(x)
