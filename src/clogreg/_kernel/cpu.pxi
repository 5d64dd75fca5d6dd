# The CPU probe behind clogreg._dispatch (its C is in simd.h). Included by _kernel.pyx.


def cpu_supports_avx2_fma():
    """Whether this CPU and OS run AVX2 and FMA code (False off x86, or without gcc/clang).

    ``clogreg._dispatch`` uses the ``_kernel_avx2`` build only where this is True.
    """
    return bool(_cpu_avx2_fma())
