"""Build the Cython kernel. All metadata lives in pyproject.toml.

Two extensions come from the one source ``src/clogreg/_kernel.pyx`` (with the parts it
includes from ``src/clogreg/_kernel/``):

* ``clogreg._kernel``: the baseline build, runnable on any CPU of the target;
* ``clogreg._kernel_avx2`` (x86-64 with gcc or clang only): the same code compiled
  with ``-mavx2 -mfma -ffp-contract=off``. ``clogreg._dispatch`` imports it only when
  the CPU has AVX2 and FMA. ``-ffp-contract=off`` forbids fusing a multiply and an add,
  so its results are bit-identical to the baseline's (tests/test_dispatch.py).

Environment switches (read at build time):

* ``CLOGREG_BOUNDSCHECK=1``: compile with Cython's bounds and wraparound checks and
  without ``-DNDEBUG``-style shortcuts, for the test build in ``.ci/run``.
* ``CLOGREG_OPENMP=0``: build without OpenMP; ``n_jobs`` then runs serially.
  OpenMP is on by default with gcc on Linux (``-fopenmp``) and with MSVC on Windows
  (``/openmp``, OpenMP 2.0, which Cython's ``prange`` needs no more than); with clang
  on macOS only when ``CLOGREG_OPENMP=1`` is set explicitly (Apple clang has no OpenMP
  runtime: ``-Xpreprocessor -fopenmp`` and ``-lomp``, with libomp's include and lib
  folders in ``CFLAGS`` / ``LDFLAGS``, as the macOS wheels get them from
  ``[tool.cibuildwheel.macos]``).
* ``CLOGREG_AVX2=0``: build the baseline kernel only.
* ``CLOGREG_COVERAGE=1`` (with ``build_ext --inplace``): Cython line tracing
  (``linetrace``, ``CYTHON_TRACE_NOGIL``) and the generated C beside the .pyx, for
  Cython's coverage plugin (``.coveragerc``; ``.ci/run`` measures the kernel's line
  coverage with it). Much slower: for measuring only.
"""
import os
import platform
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

KERNEL_SOURCE = os.path.join("src", "clogreg", "_kernel.pyx")
# The kernel's parts: the .pxi files that _kernel.pyx includes (Cython finds them next to
# the including file, also from the AVX2 variant's copy in build_temp, which includes
# _kernel.pyx by its absolute path) and simd.h, which the C compiler finds here.
KERNEL_PARTS = os.path.join("src", "clogreg", "_kernel")
AVX2_MODULE = "clogreg._kernel_avx2"
AVX2_FLAGS = ["-mavx2", "-mfma", "-ffp-contract=off"]


def _flag(name, default):
    return os.environ.get(name, default).strip().lower() not in ("0", "", "false", "no")


class CythonBuildExt(build_ext):
    """Cythonize at build time only, so that the sdist ships the .pyx, not the .c."""

    def build_extensions(self):
        from Cython.Build import cythonize

        checked = _flag("CLOGREG_BOUNDSCHECK", "0")
        directives = {
            "language_level": 3,
            "boundscheck": checked,
            "wraparound": checked,
            "initializedcheck": checked,
            "cdivision": not checked,
            "embedsignature": True,
        }
        traced = _flag("CLOGREG_COVERAGE", "0")
        if traced:
            directives["linetrace"] = True
        gcc_like = self.compiler.compiler_type != "msvc"
        openmp = _flag("CLOGREG_OPENMP", "1") and gcc_like
        openmp = openmp and sys.platform.startswith("linux")
        other_openmp = _other_openmp_flags(self.compiler.compiler_type)
        for ext in list(self.extensions):
            # the generated C, never beside the sources (except for the coverage
            # plugin, which looks for it there)
            build_dir = None if traced else self.build_temp
            if traced:
                ext.define_macros += [("CYTHON_TRACE", "1"), ("CYTHON_TRACE_NOGIL", "1")]
            if ext.name == AVX2_MODULE:
                if not gcc_like:  # in place: setuptools keeps its own references
                    self.extensions.remove(ext)
                    continue
                ext.sources[:] = [self._avx2_source()]
                ext.extra_compile_args += AVX2_FLAGS
                build_dir = None  # its .pyx is in build_temp already
            # force: Cython judges a .c up to date by timestamps alone, so a .c made
            # under other directives (CLOGREG_BOUNDSCHECK) would otherwise be reused.
            (cythonized,) = cythonize(ext, compiler_directives=directives, quiet=True,
                                      force=True, build_dir=build_dir)
            ext.sources[:] = cythonized.sources
            if gcc_like:
                # -fno-trapping-math lets gcc turn the kernel's selects (x if c else y)
                # into packed blends; nothing here uses floating-point traps. It does
                # not reorder arithmetic: results are those of -O3.
                ext.extra_compile_args += ["-O3", "-fno-trapping-math"]
            if openmp:
                ext.extra_compile_args.append("-fopenmp")
                ext.extra_link_args.append("-fopenmp")
            elif other_openmp:
                ext.extra_compile_args += other_openmp[0]
                ext.extra_link_args += other_openmp[1]
        super().build_extensions()

    def _avx2_source(self):
        """A generated ``_kernel_avx2.pyx`` in build_temp that includes the kernel.

        Cython names a module's init function after its file, so the variant needs a
        file of its own; it never enters the source tree or the sdist.
        """
        source = Path(KERNEL_SOURCE).resolve().as_posix()
        variant = Path(self.build_temp, "_kernel_avx2.pyx")
        variant.parent.mkdir(parents=True, exist_ok=True)
        flags = " ".join(AVX2_FLAGS)
        variant.write_text(f'"""clogreg._kernel built with {flags} (generated by setup.py)."""\n'
                           f'include "{source}"\n', encoding="utf-8")
        return str(variant)


def _other_openmp_flags(compiler_type):
    """(compile, link) flags for OpenMP outside Linux + gcc, or None (a serial build).

    MSVC: ``/openmp`` (the runtime, vcomp140.dll, comes with the Visual C++
    redistributable; delvewheel vendors it into the Windows wheels). macOS clang, on
    request only (``CLOGREG_OPENMP=1``): the driver takes OpenMP through the
    preprocessor and links libomp, found through ``CFLAGS`` / ``LDFLAGS``.
    """
    if not _flag("CLOGREG_OPENMP", "1") or sys.platform.startswith("linux"):
        return None
    if compiler_type == "msvc":
        return ["/openmp"], []
    if sys.platform == "darwin" and "CLOGREG_OPENMP" in os.environ:  # set, and not 0
        return ["-Xpreprocessor", "-fopenmp"], ["-lomp"]
    return None


extensions = [Extension("clogreg._kernel", [KERNEL_SOURCE], include_dirs=[KERNEL_PARTS])]
# The target is the build machine, except for macOS cross builds (ARCHFLAGS="-arch arm64").
x86_64 = platform.machine().lower() in ("x86_64", "amd64") and \
    "arm64" not in os.environ.get("ARCHFLAGS", "")
if _flag("CLOGREG_AVX2", "1") and x86_64:
    # Declared with the kernel's source, so that the sdist is the same either way;
    # build_extensions swaps in the generated file (or drops it for MSVC).
    extensions.append(Extension(AVX2_MODULE, [KERNEL_SOURCE], include_dirs=[KERNEL_PARTS]))

setup(
    ext_modules=extensions,
    cmdclass={"build_ext": CythonBuildExt},
)
