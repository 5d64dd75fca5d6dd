"""Results pinned bit for bit: every case of tests/fingerprint.py against the digests
stored in tests/data/fingerprints.json (made before the refactor that introduced the
objective/solver layers, on the BLAS configurations named there)."""
import json
from pathlib import Path

import pytest
from fingerprint import blas_key, fingerprints

STORED = json.loads((Path(__file__).parent / "data" / "fingerprints.json").read_text())


def test_results_are_bit_identical_to_the_stored_fingerprints():
    key = blas_key()
    expected = STORED["by_blas"].get(key)
    if expected is None:
        pytest.skip(f"no stored fingerprints for BLAS {key!r} (stored: "
                    f"{sorted(STORED['by_blas'])}); regenerate with tests/fingerprint.py "
                    f"on a commit known to be right")
    got = fingerprints()
    assert got.keys() == expected.keys()
    changed = sorted(k for k in got if got[k] != expected[k])
    assert not changed, f"{len(changed)} of {len(got)} fits changed bits: {changed}"
