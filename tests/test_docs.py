"""The documentation site (docs/, Sphinx): builds with warnings as errors, and every
example in its pages and in the public docstrings passes as a doctest."""
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"

pytestmark = [
    pytest.mark.skipif(not (DOCS / "conf.py").is_file(),
                       reason="needs the source tree's docs/ (these tests run from a copy)"),
    pytest.mark.skipif(any(importlib.util.find_spec(m) is None
                           for m in ("sphinx", "numpydoc", "myst_parser")),
                       reason="the docs build needs the docs extra: pip install "
                       "'clogreg[docs]' (.ci/run installs it)"),
]


@pytest.mark.parametrize("builder", ["html", "doctest"])
def test_docs_build_without_warnings(tmp_path, builder):
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", builder,
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / builder)],
        capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    if builder == "html":
        api = (tmp_path / "html" / "api.html").read_text(encoding="utf-8")
        for name in ("LogisticRegression", "save_model", "load_model",
                     "register_onnx_converter"):
            assert f'id="clogreg.{name}"' in api, name
        assert (tmp_path / "html" / "_images" / "epoch_vs_rows.png").is_file()
    else:
        summary = (tmp_path / "doctest" / "output.txt").read_text(encoding="utf-8")
        assert " 0 failures in tests" in summary
        totals = summary.rsplit("=" * 15, 1)[-1].split()  # "71 tests 0 failures ..."
        assert int(totals[0]) >= 40, summary  # the pages' and the docstrings' examples ran
