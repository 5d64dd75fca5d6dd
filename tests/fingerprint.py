"""Bit-level fingerprints of fits, to pin results across refactors.

``python tests/fingerprint.py`` (from the repository root, clogreg importable) prints
the fingerprint of every case in CASES as JSON; tests/test_fingerprint.py compares a
fresh run with the stored ``tests/data/fingerprints.json``. A fingerprint is a SHA-256
of the bytes of ``coef_``, ``intercept_``, ``n_iter_`` and ``history_``: a change in
the last bit of any of them changes it.

Which bits a fit gives depends on the BLAS kernels as well as on clogreg (gemv, syrk
and the dot products inside SciPy's L-BFGS-B sum in their own orders), so fingerprints
are stored per BLAS configuration: ``blas_key()``, OpenBLAS's core type and version
as threadpoolctl reports them. A configuration without a stored fingerprint is
skipped, with its key in the reason.
"""
import hashlib
import json
import sys
import warnings

import numpy as np
from sklearn.datasets import load_breast_cancer, load_iris, load_wine, make_classification
from sklearn.preprocessing import StandardScaler


def _datasets():
    iris_X, iris_y = load_iris(return_X_y=True)
    cancer_X, cancer_y = load_breast_cancer(return_X_y=True)
    wine_X, wine_y = load_wine(return_X_y=True)
    big_X, big_y = make_classification(n_samples=9000, n_features=14, n_informative=8,
                                       random_state=3)
    narrow_X, narrow_y = make_classification(n_samples=5000, n_features=6,
                                             n_informative=4, n_redundant=0,
                                             n_classes=3, random_state=4)
    std = StandardScaler().fit_transform
    rng = np.random.default_rng(0)
    return {
        "iris2": (std(iris_X[:100, :2]), iris_y[:100]),
        "iris3": (std(iris_X), iris_y),
        "cancer": (std(cancer_X), cancer_y),
        "cancer_raw": (cancer_X, cancer_y),
        "wine": (std(wine_X), wine_y),
        "big": (big_X, big_y),
        "narrow3": (narrow_X, narrow_y),
        "big_w": (big_X, big_y, rng.uniform(0.0, 2.0, big_X.shape[0])),
    }


#: (dataset, dtype, parameters)
CASES = [
    ("iris2", "float64", dict(C=np.inf, solver="gd", learning_rate=0.1, max_iter=20, tol=0)),
    ("iris2", "float32", dict(C=np.inf, solver="gd", learning_rate=0.1, max_iter=20, tol=0)),
    ("cancer", "float64", dict(solver="lbfgs")),
    ("cancer", "float32", dict(solver="lbfgs")),
    ("cancer", "float64", dict(solver="newton", tol=1e-8)),
    ("cancer", "float64", dict(solver="newton", C=0.5, l1_ratio=1.0, tol=1e-6)),
    ("cancer", "float64", dict(solver="gd", C=0.5, l1_ratio=0.5, max_iter=300)),
    ("cancer", "float64", dict(solver="sgd", random_state=0, max_iter=20)),
    ("cancer", "float64", dict(solver="auto")),
    ("cancer_raw", "float64", dict(solver="lbfgs", max_iter=500)),
    ("cancer", "float64", dict(solver="lbfgs", class_weight="balanced")),
    ("iris3", "float64", dict(solver="lbfgs")),
    ("iris3", "float64", dict(solver="gd", max_iter=200)),
    ("iris3", "float32", dict(solver="sgd", random_state=1, max_iter=30)),
    ("iris3", "float64", dict(solver="gd", C=1.0, l1_ratio=1.0, max_iter=100)),
    ("wine", "float64", dict(solver="lbfgs", C=10.0)),
    ("wine", "float64", dict(solver="auto", C=0.3, l1_ratio=0.7, max_iter=100)),
    ("big", "float64", dict(solver="lbfgs", n_jobs=2)),
    ("big", "float32", dict(solver="newton", n_jobs=2)),
    ("big", "float64", dict(solver="gd", max_iter=50, n_jobs=2)),
    ("big", "float64", dict(solver="sgd", random_state=3, max_iter=5, batch_size=5000)),
    ("big_w", "float64", dict(solver="lbfgs")),
    ("big_w", "float64", dict(solver="newton")),
    ("big_w", "float64", dict(solver="gd", max_iter=30, fit_intercept=False)),
    ("narrow3", "float64", dict(solver="lbfgs")),
    ("narrow3", "float32", dict(solver="gd", max_iter=40)),
    ("narrow3", "float64", dict(solver="sgd", random_state=5, max_iter=4,
                                lr_schedule="constant", learning_rate=0.05)),
]


def _digest(clf):
    h = hashlib.sha256()
    for array in (clf.coef_, clf.intercept_, clf.n_iter_, clf.history_["loss"],
                  clf.history_["accuracy"], clf.history_["grad_norm"]):
        a = np.ascontiguousarray(array)
        h.update(str(a.dtype).encode() + str(a.shape).encode() + a.tobytes())
    h.update(clf.stop_reason_.encode() + clf.solver_.encode())
    return h.hexdigest()[:32]


def case_id(data, dtype, params):
    return f"{data}-{dtype}-" + ",".join(f"{k}={v}" for k, v in sorted(params.items()))


def fingerprints():
    """{case id: digest} for every case in CASES, plus two partial_fit sequences."""
    from clogreg import LogisticRegression

    data = _datasets()
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, dtype, params in CASES:
            X, y, *sw = data[name]
            clf = LogisticRegression(**params).fit(X.astype(dtype), y,
                                                   sample_weight=sw[0] if sw else None)
            out[case_id(name, dtype, params)] = _digest(clf)
        for name, dtype in (("cancer", "float64"), ("narrow3", "float32")):
            X, y = data[name]
            clf = LogisticRegression(random_state=7, batch_size=64)
            for part in np.array_split(np.arange(len(y)), 3):
                clf.partial_fit(X[part].astype(dtype), y[part], classes=np.unique(y))
            out[f"partial_fit-{name}-{dtype}"] = _digest(clf)
        X, y = data["cancer"]
        clf = LogisticRegression(solver="lbfgs", warm_start=True, C=0.1).fit(X, y)
        clf.set_params(C=1.0).fit(X, y)
        out["warm_start-cancer-lbfgs"] = _digest(clf)
    return out


def blas_key():
    """OpenBLAS's core type and version (threadpoolctl), the BLAS part of the bits."""
    from threadpoolctl import threadpool_info

    import clogreg  # noqa: F401  (loads SciPy's BLAS)

    libs = sorted(f"{i.get('internal_api')}-{i.get('architecture')}-{i.get('version')}"
                  for i in threadpool_info() if i.get("user_api") == "blas")
    return "|".join(libs) or "unknown"


if __name__ == "__main__":
    json.dump({"blas": blas_key(), "fingerprints": fingerprints()}, sys.stdout, indent=1)
