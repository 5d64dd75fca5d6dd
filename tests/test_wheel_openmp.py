"""OpenMP in the wheels: every wheel that cibuildwheel builds vendors an OpenMP runtime
(libgomp on Linux by auditwheel, libomp on macOS by delocate, vcomp140.dll on Windows
by delvewheel) and the kernel loads it. cibuildwheel's test-environment sets
CLOGREG_EXPECT_OPENMP=1 ([tool.cibuildwheel] in pyproject.toml); elsewhere (source
builds, CLOGREG_OPENMP=0 builds) there is nothing to check."""
import os
import sys
from pathlib import Path

import pytest


@pytest.mark.skipif(os.environ.get("CLOGREG_EXPECT_OPENMP") != "1",
                    reason="checks a wheel built by cibuildwheel (CLOGREG_EXPECT_OPENMP=1)")
def test_wheel_vendors_and_loads_an_openmp_runtime():
    import clogreg
    from clogreg import _kernel  # noqa: F401 (loads the runtime it links)

    package = Path(clogreg.__file__).resolve().parent
    vendored = [*package.glob(".dylibs/libomp*.dylib"),               # delocate
                *package.parent.glob("clogreg.libs/libgomp*"),         # auditwheel
                *package.parent.glob("clogreg.libs/vcomp140*.dll")]    # delvewheel
    assert vendored, sorted(p.name for p in package.parent.glob("clogreg*"))
    if sys.platform == "win32":
        return  # Windows reuses a vcomp140.dll already loaded (scikit-learn's) by name
    from threadpoolctl import threadpool_info

    loaded = [Path(info["filepath"]).resolve() for info in threadpool_info()
              if info["user_api"] == "openmp"]
    assert {p.resolve() for p in vendored} & set(loaded), (vendored, loaded)
