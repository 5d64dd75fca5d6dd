"""clogreg.dask on a real LocalCluster (2 worker processes, 1 thread each): the same
optimum as the in-memory fit of the concatenated data, bit-identical results for any
number of workers, faults, out of core, bad input."""
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import reference

da = pytest.importorskip("dask.array", reason="clogreg.dask needs the [dask] extra")
distributed = pytest.importorskip("distributed", reason="clogreg.dask needs the [dask] "
                                  "extra (distributed)")

from sklearn.utils.class_weight import compute_class_weight

import clogreg
from clogreg.dask import LogisticRegression as DaskLR


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=50) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def client(cluster):
    with distributed.Client(cluster, set_as_default=False) as client:
        yield client


CHUNKS = (700, 1300, 400, 1600, 1000)  # irregular row blocks, 5,000 rows


def _data(n_classes=2, seed=0, n=5000, d=7, dtype=np.float64):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    if n_classes == 2:
        y = (0.5 * X @ rng.normal(size=d) + rng.logistic(size=n) > 0).astype(int)
    else:
        y = rng.integers(0, n_classes, size=n)
        X[np.arange(n), y % d] += 0.8
    return X.astype(dtype), y


def _dask(*arrays, chunks=CHUNKS):
    return [da.from_array(a, chunks=(chunks,) + a.shape[1:]) for a in arrays]


def _ref_objective(est, X, y, s):
    """The summed objective of a fitted model, by tests/reference.py (NumPy)."""
    return reference.sklearn_objective(est, X, y, s)


def _weights(est, y, sample_weight):
    """sample_weight times class_weight, by scikit-learn (what both fits minimise)."""
    s = np.ones(y.size) if sample_weight is None else sample_weight.astype(float)
    if est.class_weight is None:
        return s
    classes = np.unique(y)
    cw = compute_class_weight(est.class_weight, classes=classes, y=y,
                              sample_weight=None if sample_weight is None else s)
    return s * cw[np.searchsorted(classes, y)]


CASES = [  # solver, classes, weights, extra parameters
    ("lbfgs", 2, None, {}),
    ("lbfgs", 2, "sample", {"class_weight": "balanced"}),
    ("lbfgs", 4, "sample", {}),
    ("lbfgs", 3, None, {"class_weight": {0: 1.0, 1: 3.0, 2: 0.5}, "C": 0.1}),
    ("newton", 2, None, {}),
    ("newton", 2, "sample", {"class_weight": {0: 2.0, 1: 0.5}}),
    ("newton", 2, None, {"l1_ratio": 0.5, "C": 0.01}),
    ("gd", 2, "sample", {}),
    ("gd", 3, None, {"class_weight": "balanced"}),
    ("gd", 2, None, {"l1_ratio": 1.0, "C": 0.02}),
]


@pytest.mark.parametrize("solver, n_classes, weights, params", CASES)
def test_same_optimum_as_in_memory(client, solver, n_classes, weights, params):
    X, y = _data(n_classes, seed=len(params) + n_classes)
    sw = np.random.default_rng(1).uniform(0.1, 3.0, size=y.size) if weights else None
    kw = {"solver": solver, "tol": 1e-9, "max_iter": 3000, **params}
    local = clogreg.LogisticRegression(**kw).fit(X, y, sample_weight=sw)
    Xd, yd = _dask(X, y)
    swd = None if sw is None else _dask(sw)[0]
    dist = DaskLR(client=client, **kw).fit(Xd, yd, sample_weight=swd)
    assert dist.stop_reason_ in ("converged", "line_search")
    assert dist.solver_ == solver and dist.persisted_
    s = _weights(local, y, sw)
    f_local, f_dist = _ref_objective(local, X, y, s), _ref_objective(dist, X, y, s)
    assert abs(f_dist - f_local) <= 1e-10 * abs(f_local)
    np.testing.assert_allclose(dist.coef_, local.coef_, rtol=0, atol=1e-7)
    np.testing.assert_allclose(dist.intercept_, local.intercept_, rtol=0, atol=1e-7)
    np.testing.assert_array_equal(dist.classes_, local.classes_)
    # the recorded objective is the objective (the reference's) at the entering point
    assert abs(dist.history_["loss"][-1] - f_dist) <= 1e-9 * abs(f_dist)
    assert dist.history_["loss"].shape == (dist.n_iter_[0] + (solver != "gd"),)


def test_gd_follows_the_in_memory_iterates(client):
    """gd on Dask (the Python epoch loop, one distributed pass per epoch) takes the
    in-memory kernel's steps: same number of epochs, history and coefficients."""
    X, y = _data(3, seed=5)
    kw = {"solver": "gd", "tol": 0.0, "max_iter": 25, "C": 0.5, "l1_ratio": 0.3}
    local = clogreg.LogisticRegression(**kw).fit(X, y)
    dist = DaskLR(client=client, **kw).fit(*_dask(X, y))
    assert dist.n_iter_[0] == local.n_iter_[0] == 25
    np.testing.assert_allclose(dist.coef_, local.coef_, rtol=0, atol=1e-12)
    np.testing.assert_allclose(dist.history_["loss"], local.history_["loss"], rtol=1e-12)
    np.testing.assert_allclose(dist.history_["accuracy"], local.history_["accuracy"])
    assert dist.n_passes_ >= 25


def test_float32_and_string_labels_and_predictions(client):
    X, y = _data(3, seed=7, dtype=np.float32)
    labels = np.array(["cat", "dog", "eel"])[y]
    Xd, yd = _dask(X, labels)
    dist = DaskLR(client=client, tol=1e-6).fit(Xd, yd)
    local = clogreg.LogisticRegression(tol=1e-6).fit(X, labels)
    assert dist.coef_.dtype == np.float32
    np.testing.assert_allclose(dist.coef_, local.coef_, atol=1e-4)
    pred = dist.predict(Xd)
    assert isinstance(pred, da.Array) and pred.chunks[0] == CHUNKS
    assert (pred.compute(scheduler="sync") == local.predict(X)).mean() > 0.999
    proba = dist.predict_proba(Xd)
    assert isinstance(proba, da.Array) and proba.shape == (5000, 3)
    np.testing.assert_allclose(proba.compute(scheduler="sync"),
                               dist.to_local().predict_proba(X), rtol=1e-12)
    np.testing.assert_allclose(dist.predict_log_proba(Xd).compute(scheduler="sync"),
                               np.log(proba.compute(scheduler="sync")), rtol=1e-5)
    assert dist.decision_function(Xd).shape == (5000, 3)
    assert isinstance(dist.predict(X[:5]), np.ndarray)  # NumPy in, NumPy out
    local2 = dist.to_local()
    assert type(local2) is clogreg.LogisticRegression
    np.testing.assert_array_equal(local2.coef_, dist.coef_)
    assert local2.stop_reason_ == dist.stop_reason_ and local2.n_features_in_ == 7


def test_binary_decision_function_warm_start_and_history(client):
    X, y = _data(2, seed=8)
    Xd, yd = _dask(X, y)
    est = DaskLR(client=client, tol=1e-12, max_iter=2, warm_start=True)
    with pytest.warns(Warning, match="did not reach"):
        est.fit(Xd, yd)
    assert est.stop_reason_ == "max_iter" and est.n_iter_[0] == 2
    est.set_params(max_iter=100, tol=1e-8)
    est.fit(Xd, yd)  # continues from the first fit's coefficients
    assert est.history_["loss"][0] < X.shape[0] * np.log(2)
    z = est.decision_function(Xd)
    assert z.shape == (5000,)
    np.testing.assert_allclose(z.compute(scheduler="sync"),
                               X @ est.coef_[0] + est.intercept_[0], rtol=1e-10)


def test_same_chunks_bit_identical_for_any_number_of_workers(client):
    X, y = _data(4, seed=9)
    sw = np.random.default_rng(2).uniform(0.5, 2.0, y.size)
    args = _dask(X, y, sw)
    kw = {"tol": 1e-8, "class_weight": "balanced"}
    two = DaskLR(client=client, **kw).fit(args[0], args[1], sample_weight=args[2])
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=50) as one_cluster, \
            distributed.Client(one_cluster, set_as_default=False) as one_client:
        one = DaskLR(client=one_client, **kw).fit(args[0], args[1], sample_weight=args[2])
    local_threads = DaskLR(client=None, n_jobs=2, **kw).fit(args[0], args[1],
                                                            sample_weight=args[2])
    for other in (one, local_threads):
        np.testing.assert_array_equal(other.coef_, two.coef_)
        np.testing.assert_array_equal(other.intercept_, two.intercept_)
        np.testing.assert_array_equal(other.history_["loss"], two.history_["loss"])


def test_column_chunks_and_dataframes(client):
    X, y = _data(2, seed=10)
    Xd, yd = _dask(X, y)
    ref = DaskLR(client=client, tol=1e-8).fit(Xd, yd)
    by_columns = da.from_array(X, chunks=(CHUNKS, (3, 4)))
    est = DaskLR(client=client, tol=1e-8).fit(by_columns, yd.rechunk(2500))
    np.testing.assert_array_equal(est.coef_, ref.coef_)  # same row blocks: bit-identical
    dd = pytest.importorskip("dask.dataframe", reason="dask DataFrames need dask[dataframe]")
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(7)])
    ddf = dd.from_pandas(frame, npartitions=4)
    dy = dd.from_pandas(pd.Series(y), npartitions=4)
    est = DaskLR(client=client, tol=1e-8).fit(ddf, dy)
    np.testing.assert_allclose(est.coef_, ref.coef_, atol=1e-7)
    assert est.feature_names_in_.tolist() == list(frame.columns)
    assert isinstance(est.predict(ddf), da.Array)


def test_bad_input_is_refused_with_clear_errors(client):
    X, y = _data(2, seed=11)
    Xd, yd = _dask(X, y)
    unknown = Xd[Xd[:, 0] > -100]  # boolean indexing: chunk sizes become NaN
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        DaskLR(client=client).fit(unknown, yd)
    with pytest.raises(ValueError, match="different numbers of rows"):
        DaskLR(client=client).fit(Xd, yd[:-3])
    bad = X.copy()
    bad[2100, 3] = np.nan  # row 2100: block 2 (rows 2000..2399)
    with pytest.raises(ValueError, match=r"NaN in block 2 \(rows 2000\.\.2399\)"):
        DaskLR(client=client).fit(_dask(bad)[0], yd)
    bad[2100, 3] = np.inf
    with pytest.raises(ValueError, match="infinity in block 2"):
        DaskLR(client=client).fit(_dask(bad)[0], yd)
    sw = np.ones(y.size)
    sw[10] = -1.0
    with pytest.raises(ValueError, match="negative values in block 0"):
        DaskLR(client=client).fit(Xd, yd, sample_weight=_dask(sw)[0])
    with pytest.raises(ValueError, match="at least 2 classes"):
        DaskLR(client=client).fit(Xd, da.zeros(5000, chunks=(CHUNKS,)))
    with pytest.raises(ValueError, match="Unknown label type"):
        DaskLR(client=client).fit(Xd, yd + 0.5 * (yd == 0) + 0.1)
    with pytest.raises(ValueError, match="holds strings"):
        DaskLR(client=client).fit(Xd.astype(str), yd)
    with pytest.raises(ValueError, match="not available in clogreg.dask"):
        DaskLR(client=client, solver="sgd").fit(Xd, yd)
    with pytest.raises(NotImplementedError, match="no partial_fit"):
        DaskLR(client=client).partial_fit(Xd, yd, classes=[0, 1])
    est = DaskLR(client=client)
    with pytest.raises(ValueError):
        est.fit(Xd, yd[:-3])
    assert not hasattr(est, "coef_")  # a failed fit leaves nothing behind


def test_closed_client_is_refused():
    X, y = _data(2, seed=12)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=1,
                            dashboard_address=":0", set_as_default=False) as c:
        pass
    with pytest.raises(RuntimeError, match="client is closed"):
        DaskLR(client=c).fit(*_dask(X, y))


def test_a_worker_killed_mid_fit_costs_time_not_the_fit(client, cluster):
    X, y = _data(2, seed=13, n=40000, d=20)
    chunks = (5000,) * 8
    Xd, yd = _dask(X, y, chunks=chunks)
    kw = {"solver": "gd", "tol": 0.0, "max_iter": 80}
    start = time.perf_counter()
    clean = DaskLR(client=client, **kw).fit(Xd, yd)
    clean_seconds = time.perf_counter() - start
    pids = client.run(os.getpid)
    victim = pids[min(pids)]
    killed = threading.Event()

    def kill():
        time.sleep(clean_seconds / 4)  # about 20 epochs into the fit
        os.kill(victim, signal.SIGKILL)  # the worker process dies, as on a lost machine
        killed.set()

    thread = threading.Thread(target=kill)
    thread.start()
    faulted = DaskLR(client=client, **kw).fit(Xd, yd)
    assert killed.is_set()  # the worker died while the fit ran
    thread.join()
    client.wait_for_workers(2, timeout=60)
    assert victim not in client.run(os.getpid).values()  # the nanny started a new one
    np.testing.assert_array_equal(faulted.coef_, clean.coef_)
    np.testing.assert_array_equal(faulted.history_["loss"], clean.history_["loss"])


def _peak_rss_reset():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # resets VmHWM (Linux)
        return True
    except OSError:
        return False


def _peak_rss():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM"):
                return int(line.split()[1]) * 1024
    return 0


def test_out_of_core_streams_blocks_from_disk(client, tmp_path):
    """.npy blocks opened with mmap_mode='r' on the workers, never persisted: every
    pass reads them again; same optimum as in memory. (The 4x-the-memory-limit run
    is benchmarks/bench_dask.py --out-of-core: too slow for the suite.)"""
    from dask import delayed

    n_blocks, rows, d = 8, 25000, 40
    rng = np.random.default_rng(14)
    beta = rng.normal(size=d) / 4
    paths, ys = [], []
    for i in range(n_blocks):
        Xi = rng.normal(size=(rows, d))
        ys.append((Xi @ beta + rng.logistic(size=rows) > 0).astype(np.int8))
        paths.append(tmp_path / f"X{i}.npy")
        np.save(paths[i], Xi)
    load = delayed(np.load, pure=True)
    Xd = da.concatenate([da.from_delayed(load(str(p), mmap_mode="r"), (rows, d), np.float64)
                         for p in paths])
    yd = da.from_array(np.concatenate(ys), chunks=rows)
    data_bytes = n_blocks * rows * d * 8
    reset = all(client.run(_peak_rss_reset).values())
    base = client.run(_peak_rss)
    est = DaskLR(client=client, tol=1e-9, persist=False).fit(Xd, yd)
    peak = client.run(_peak_rss)
    assert not est.persisted_
    X = np.concatenate([np.load(p) for p in paths])
    local = clogreg.LogisticRegression(tol=1e-9).fit(X, np.concatenate(ys))
    f_local = _ref_objective(local, X, np.concatenate(ys), None)
    f_dist = _ref_objective(est, X, np.concatenate(ys), None)
    assert abs(f_dist - f_local) <= 1e-10 * abs(f_local)
    np.testing.assert_allclose(est.coef_, local.coef_, atol=1e-7)
    growth = {w: (peak[w] - base[w]) / 2**20 for w in peak}
    print(f"\nout of core: {data_bytes / 2**20:.0f} MiB on disk in {n_blocks} blocks, "
          f"{est.n_passes_} passes; worker peak RSS "
          f"{ {w: round(p / 2**20) for w, p in peak.items()} } MiB, growth during the "
          f"fit {growth} MiB (VmHWM reset: {reset})")
    if reset:  # each worker held a block or two at a time, never the data set
        assert max(growth.values()) < 0.5 * data_bytes / 2**20


def test_local_scheduler_without_client():
    X, y = _data(2, seed=15)
    est = DaskLR(tol=1e-8).fit(*_dask(X, y))  # no current client: Dask's threads
    local = clogreg.LogisticRegression(tol=1e-8).fit(X, y)
    np.testing.assert_allclose(est.coef_, local.coef_, atol=1e-7)


def test_core_package_does_not_import_dask():
    code = "import sys, clogreg; clogreg.LogisticRegression; print('dask' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ})
    assert out.stdout.strip() == "False"


def test_docstring_examples_run():
    import doctest

    import clogreg.dask._estimator as module

    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def _local_blocks(*arrays, chunks=(200, 250, 150)):
    return _dask(*arrays, chunks=chunks)


def test_bad_input_on_dasks_local_scheduler_names_the_block():
    """The checks of every block, run in this process by Dask's local scheduler (on a
    cluster they run on the workers): the messages of the in-memory input contract,
    with the block and its rows."""
    X, y = _data(2, seed=16, n=600, d=4)
    yd = _local_blocks(y)[0]
    cases = []
    bad = X.copy()
    bad[250, 1] = np.nan  # block 1: rows 200..449
    cases.append(((bad, y), {}, r"Input X contains NaN in block 1 \(rows 200\.\.449\)"))
    bad = X.copy()
    bad[460, 0] = -np.inf
    cases.append(((bad, y), {}, r"Input X contains infinity in block 2 \(rows 450\.\.599\)"))
    cases.append(((X, np.where(np.arange(600) == 5, np.nan, y.astype(float))), {},
                  r"Input y contains NaN in block 0 \(rows 0\.\.199\)"))
    sw = np.ones(600)
    sw[300] = np.nan
    cases.append(((X, y), {"sample_weight": sw}, r"sample_weight has NaN or infinity in "
                  r"block 1 \(rows 200\.\.449\); weights must be finite and non-negative"))
    sw = np.ones(600)
    sw[599] = -1.0
    cases.append(((X, y), {"sample_weight": sw}, r"sample_weight has negative values in "
                  r"block 2 \(rows 450\.\.599\)"))
    cases.append(((X, y), {"sample_weight": np.zeros(600)},
                  "sample_weight must not be all zero"))
    cases.append(((X, y), {"sample_weight": np.full(600, 1e307)},
                  "sample_weight sums to more than the largest float64"))
    for (Xb, yb), kw, message in cases:
        kw = {k: _local_blocks(v)[0] for k, v in kw.items()}
        est = DaskLR()
        with pytest.raises(ValueError, match=message):
            est.fit(*_local_blocks(Xb, yb), **kw)
        assert not hasattr(est, "coef_")
    Xd = _local_blocks(X)[0]
    with pytest.raises(ValueError, match=r"sample_weight must have shape \(600,\), got "
                                         r"\(599,\)"):
        DaskLR().fit(Xd, yd, sample_weight=da.ones(599, chunks=300))
    with pytest.raises(ValueError, match="sample_weight times class_weight is zero for "
                                         "every row"):
        DaskLR(class_weight={0: 0.0, 1: 0.0}).fit(Xd, yd)
    with pytest.raises(TypeError, match="X has dtype object; convert it to numbers first"):
        DaskLR().fit(Xd.astype(object), yd)
    with pytest.raises(ValueError, match=r"X must be 2-dimensional, got a dask array of "
                                         r"shape \(600,\)"):
        DaskLR().fit(Xd[:, 0], yd)
    with pytest.raises(ValueError, match=r"X must have at least one row and one column, "
                                         r"got shape \(600, 0\)"):
        DaskLR().fit(Xd[:, :0], yd)


def test_in_memory_integer_data_scalar_weights_newton_and_score_locally():
    """NumPy arrays are wrapped as one block, integers become float64, a scalar weight
    is every row's; the fit is the in-memory one; predictions and the score as the
    local model's, also on dask X chunked by columns."""
    rng = np.random.default_rng(17)
    X = rng.integers(-5, 6, size=(800, 4))
    y = (X @ np.array([0.3, -0.2, 0.1, 0.0]) + rng.logistic(size=800) > 0).astype(int)
    est = DaskLR(solver="newton", tol=1e-10).fit(X, y, sample_weight=2.5)
    local = clogreg.LogisticRegression(solver="newton", tol=1e-10).fit(
        X.astype(np.float64), y, sample_weight=np.full(800, 2.5))
    assert est.coef_.dtype == np.float64
    np.testing.assert_allclose(est.coef_, local.coef_, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(est.intercept_, local.intercept_, rtol=1e-8, atol=1e-10)
    # dask weights chunked unlike X are rechunked to X's blocks
    Xd, yd = _local_blocks(X.astype(np.float64), y, chunks=(400, 400))
    swd = da.from_array(np.full(800, 2.5), chunks=300)
    again = DaskLR(solver="newton", tol=1e-10).fit(Xd, yd, sample_weight=swd)
    np.testing.assert_allclose(again.coef_, local.coef_, rtol=1e-8, atol=1e-10)
    by_columns = da.from_array(X.astype(np.float64), chunks=(400, 2))
    pred = est.predict(by_columns)
    assert isinstance(pred, da.Array)
    np.testing.assert_array_equal(pred.compute(), local.predict(X.astype(np.float64)))
    accuracy = np.mean(local.predict(X.astype(np.float64)) == y)
    assert est.score(by_columns, yd) == pytest.approx(accuracy, abs=0)
    weights = np.linspace(0.5, 1.5, 800)
    weighted = np.sum(weights * (local.predict(X.astype(np.float64)) == y)) / weights.sum()
    assert est.score(Xd, yd, sample_weight=da.from_array(weights, chunks=400)) == \
        pytest.approx(weighted, rel=1e-12)
    with pytest.raises(ValueError, match="X has 3 features, but this model was fitted "
                                         "with 4"):
        est.predict(Xd[:, :3])


@pytest.mark.parametrize("d", [5, 1_001])
def test_gd_on_the_local_scheduler_takes_the_in_memory_steps(d):
    """The step size from the blocks' Gram matrices (up to 1,000 features) or their
    squared row norms (beyond), as in memory: the same iterates."""
    rng = np.random.default_rng(18)
    X = rng.normal(size=(300, d))
    y = (X[:, 0] + rng.logistic(size=300) > 0).astype(int)
    kw = {"solver": "gd", "tol": 0.0, "max_iter": 5}
    est = DaskLR(**kw).fit(*_local_blocks(X, y, chunks=(100, 120, 80)))
    local = clogreg.LogisticRegression(**kw).fit(X, y)
    np.testing.assert_allclose(est.history_["loss"], local.history_["loss"], rtol=1e-12)
    np.testing.assert_allclose(est.coef_, local.coef_, rtol=1e-10, atol=1e-14)


def test_clogreg_dask_without_dask_says_what_to_install(monkeypatch):
    import importlib

    for name in [m for m in sys.modules if m == "clogreg.dask" or
                 m.startswith("clogreg.dask.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.delattr(clogreg, "dask", raising=False)
    monkeypatch.setitem(sys.modules, "dask", None)  # import dask now fails
    with pytest.raises(ImportError, match=r"clogreg.dask needs Dask: install the extra with "
                                          r"pip install \"clogreg\[dask\]\""):
        importlib.import_module("clogreg.dask")


def test_newton_on_dask_stays_binary():
    # the multinomial "newton" reads X's columns (a CSC copy), which Dask blocks do
    # not give: refused before any pass, with the solvers that do run
    rng = np.random.default_rng(3)
    X = rng.standard_normal((90, 3))
    with pytest.raises(ValueError, match="Only binary classification is supported by "
                                         "solver='newton' here, got 3 classes"):
        DaskLR(solver="newton").fit(X, np.arange(90) % 3)
