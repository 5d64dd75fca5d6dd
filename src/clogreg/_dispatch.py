"""Which build of the Cython kernel runs: the baseline or the AVX2+FMA one.

setup.py compiles ``_kernel.pyx`` twice on x86-64 (gcc or clang): ``clogreg._kernel``
for any CPU of the target and ``clogreg._kernel_avx2`` with ``-mavx2 -mfma
-ffp-contract=off``. Both give bit-identical results (no fused multiply-adds;
tests/test_dispatch.py); the AVX2 one is faster where the per-row arithmetic matters.

``CLOGREG_KERNEL`` (read once, at import) chooses:

* ``auto`` (default): the AVX2 build when it was built and the CPU has AVX2 and FMA;
* ``avx2``: the AVX2 build, or ImportError when it is missing or the CPU lacks it;
* ``baseline``: the baseline build.

``kernel`` is the chosen module and ``KERNEL_NAME`` its name ("avx2" or "baseline").
"""
import os

from . import _kernel as _baseline

CHOICES = ("auto", "avx2", "baseline")


def avx2_module():
    """The AVX2+FMA build if it was built and this CPU runs it, else None."""
    if not _baseline.cpu_supports_avx2_fma():
        return None
    try:
        from . import _kernel_avx2
    except ImportError:
        return None
    return _kernel_avx2


def select(choice):
    """``(name, module)`` for a value of ``CLOGREG_KERNEL`` ("" means "auto")."""
    choice = (choice or "auto").strip().lower()
    if choice not in CHOICES:
        raise ValueError(f"CLOGREG_KERNEL must be one of {', '.join(CHOICES)}; got {choice!r}")
    if choice == "baseline":
        return "baseline", _baseline
    avx2 = avx2_module()
    if avx2 is not None:
        return "avx2", avx2
    if choice == "avx2":
        raise ImportError("CLOGREG_KERNEL=avx2, but " + (
            "this CPU lacks AVX2 or FMA" if not _baseline.cpu_supports_avx2_fma() else
            "clogreg was built without the AVX2 kernel (CLOGREG_AVX2=0, not x86-64, or MSVC)"))
    return "baseline", _baseline


KERNEL_NAME, kernel = select(os.environ.get("CLOGREG_KERNEL", "auto"))
