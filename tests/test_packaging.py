"""Packaging: the sdist ships the Cython source, an installed wheel ships only the binary."""
import importlib.machinery
import os
import platform
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE_TREE = (ROOT / "setup.py").is_file() and (ROOT / "src" / "clogreg" / "_kernel.pyx").is_file()


@pytest.mark.skipif(not SOURCE_TREE, reason="needs the source tree (these tests run from a copy)")
def test_sdist_ships_the_pyx_and_no_generated_c(tmp_path):
    # The real front end, as a release would run it: build isolation installs Cython,
    # which setuptools needs to keep the .pyx (without Cython it swaps in the .c).
    subprocess.run([sys.executable, "-m", "build", "--sdist", "--outdir", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    (sdist,) = tmp_path.glob("clogreg-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    assert "src/clogreg/_kernel.pyx" in names
    assert not sorted(name for name in names if name.endswith(".c")), names
    assert sorted(name for name in names if name.endswith(".pyx")) == ["src/clogreg/_kernel.pyx"]
    # the parts that _kernel.pyx includes: every one in the source tree, and simd.h
    parts = sorted(path.relative_to(ROOT).as_posix()
                   for path in (ROOT / "src" / "clogreg" / "_kernel").glob("*.pxi"))
    assert parts and set(parts) <= names, parts
    assert "src/clogreg/_kernel/simd.h" in names
    assert {"setup.py", "pyproject.toml", "tests/reference.py", "tests/test_kernel.py"} <= names


def test_installed_package_ships_no_sources():
    import clogreg

    package = Path(clogreg.__file__).resolve().parent
    if package == ROOT / "src" / "clogreg":
        pytest.skip("clogreg is imported from the source tree (an editable install)")
    names = sorted(path.name for path in package.iterdir())
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    assert [name for name in names if name.startswith("_kernel.") and name.endswith(suffixes)]
    # setup.py adds the AVX2+FMA build on x86-64 with gcc/clang unless CLOGREG_AVX2=0
    avx2 = [name for name in names if name.startswith("_kernel_avx2.") and name.endswith(suffixes)]
    if platform.machine().lower() in ("x86_64", "amd64") and sys.platform != "win32" and \
            os.environ.get("CLOGREG_AVX2", "1").strip().lower() not in ("0", "", "false", "no"):
        assert avx2, names
    assert not [name for name in names if name.endswith((".pyx", ".pxd", ".c"))], names
    assert not (package / "_kernel").exists()  # the kernel's .pxi parts and simd.h
