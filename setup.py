"""Build the Cython kernel. All metadata lives in pyproject.toml.

Environment switches (read at build time):

* ``CLOGREG_BOUNDSCHECK=1``: compile with Cython's bounds and wraparound checks and
  without ``-DNDEBUG``-style shortcuts, for the test build in ``.ci/run``.
* ``CLOGREG_OPENMP=0``: build without OpenMP; ``n_jobs`` then runs serially.
"""
import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


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
        openmp = _flag("CLOGREG_OPENMP", "1") and self.compiler.compiler_type != "msvc"
        openmp = openmp and sys.platform.startswith("linux")
        for ext in self.extensions:
            (cythonized,) = cythonize(ext, compiler_directives=directives, quiet=True)
            ext.sources[:] = cythonized.sources
            if self.compiler.compiler_type != "msvc":
                # -fno-trapping-math lets gcc turn the kernel's selects (x if c else y)
                # into packed blends; nothing here uses floating-point traps. It does
                # not reorder arithmetic: results are those of -O3.
                ext.extra_compile_args += ["-O3", "-fno-trapping-math"]
            if openmp:
                ext.extra_compile_args.append("-fopenmp")
                ext.extra_link_args.append("-fopenmp")
        super().build_extensions()


setup(
    ext_modules=[Extension("clogreg._kernel", ["src/clogreg/_kernel.pyx"])],
    cmdclass={"build_ext": CythonBuildExt},
)
