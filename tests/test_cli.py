"""The ``clogreg`` command line: train / predict / info / onnx on CSV and svmlight
files, end to end in subprocesses (``python -m clogreg``), against the same fits made
through the Python API on data read by NumPy (``np.loadtxt``) and scikit-learn
(``load_svmlight_file``); exit status 0 / 1 / 2 and one-line errors. The matrix of
error cases calls ``clogreg._cli.main`` in-process (the code a subprocess runs, minus
~2 s of interpreter start each); subprocesses cover one case of each status."""
import csv
import errno
import importlib.util
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import dump_svmlight_file, load_svmlight_file

from clogreg import LogisticRegression, load_model


def run(*args, cwd=None):
    env = dict(os.environ)
    if env.get("PYTHONPATH"):  # a source-tree run (PYTHONPATH=src): valid in any cwd
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in
                                            env["PYTHONPATH"].split(os.pathsep))
    return subprocess.run([sys.executable, "-m", "clogreg", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=120, env=env,
                          check=False)


class _Result:
    def __init__(self, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def call(capsys, *args):
    """main() in this process, with the result of a subprocess run."""
    from clogreg._cli import main

    capsys.readouterr()
    try:
        status = main([str(a) for a in args])
    except SystemExit as exc:  # --help, --version
        status = exc.code
    out, err = capsys.readouterr()
    return _Result(status, out, err)


def _assert_error(result, status, message):
    assert result.returncode == status, result.stderr
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("clogreg: error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr  # one clear line
    assert message in errors[0], errors[0]
    assert result.stdout == ""


def _predict(model, X):
    """model.predict on X, named as in training when the model knows names."""
    if hasattr(model, "feature_names_in_"):
        import pandas as pd

        X = pd.DataFrame(X, columns=model.feature_names_in_)
    return model.predict(X), model.predict_proba(X)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A 3-class CSV (string labels in the column 'kind', not the last), its test
    half, a 2-class CSV with integer labels in the last column, svmlight files."""
    d = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    n = 300
    y = rng.integers(0, 3, size=n)
    X = rng.normal(size=(n, 4)) + y[:, None] * np.array([1.0, -0.5, 0.0, 0.25])
    kinds = np.array(["alpha", "beta", "gamma"])[y]
    header = ["f1", "f2", "kind", "f3", "f4"]
    for name, rows in (("train.csv", slice(0, 200)), ("test.csv", slice(200, n))):
        with open(d / name, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(header)
            for xi, ki in zip(X[rows], kinds[rows]):
                w.writerow([repr(float(xi[0])), repr(float(xi[1])), ki,
                            repr(float(xi[2])), repr(float(xi[3]))])
    # the same test rows, features only, columns in another order
    with open(d / "test_nolabel.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["f4", "f3", "f2", "f1"])
        for xi in X[200:]:
            w.writerow([repr(float(v)) for v in xi[::-1]])
    yb = (X[:, 0] + rng.normal(size=n) > 0.5).astype(int) * 5 - 1  # labels -1 and 4
    np.savetxt(d / "binary.csv", np.column_stack([X, yb]), delimiter=",",
               header="a,b,c,d,label", comments="", fmt="%.17g")
    Xs = X * (rng.random(size=X.shape) < 0.5)  # half zeros: a sparse file
    dump_svmlight_file(Xs, y, str(d / "train.svm"))
    return {"dir": d, "X": X, "kinds": kinds, "yb": yb, "Xs": Xs, "y": y}


def test_train_csv_matches_the_python_api(files):
    d = files["dir"]
    r = run("train", d / "train.csv", "--target", "kind", "-o", d / "m.json")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""  # progress on stderr only
    assert "read 200 rows x 4 features" in r.stderr and "wrote" in r.stderr
    model = load_model(d / "m.json")
    # the reference: NumPy's reader on the same file, the Python API's fit
    data = np.loadtxt(d / "train.csv", delimiter=",", skiprows=1, usecols=[0, 1, 3, 4])
    labels = np.loadtxt(d / "train.csv", delimiter=",", skiprows=1, usecols=[2], dtype=str)
    ref = LogisticRegression().fit(data, labels)
    assert model.coef_.tobytes() == ref.coef_.tobytes()
    assert model.classes_.tolist() == ["alpha", "beta", "gamma"]
    if importlib.util.find_spec("pandas") is not None:
        assert model.feature_names_in_.tolist() == ["f1", "f2", "f3", "f4"]


def test_train_flags_reach_the_estimator(files, capsys):
    d = files["dir"]
    r = call(capsys, "train", d / "binary.csv", "-o", d / "b.json", "--C", "0.5", "--l1-ratio",
            "0.25", "--solver", "gd", "--max-iter", "40", "--tol", "0", "--class-weight",
            "balanced", "--no-intercept", "--n-jobs", "2", "--dtype", "float32", "-q")
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # -q
    model = load_model(d / "b.json")
    params = model.get_params()
    assert (params["C"], params["l1_ratio"], params["solver"], params["max_iter"],
            params["tol"], params["class_weight"], params["fit_intercept"],
            params["n_jobs"]) == (0.5, 0.25, "gd", 40, 0.0, "balanced", False, 2)
    assert model.coef_.dtype == np.float32 and model.classes_.tolist() == [-1, 4]
    data = np.loadtxt(d / "binary.csv", delimiter=",", skiprows=1)
    ref = LogisticRegression(C=0.5, l1_ratio=0.25, solver="gd", max_iter=40, tol=0,
                             class_weight="balanced", fit_intercept=False, n_jobs=2)
    ref.fit(data[:, :4].astype(np.float32), data[:, 4].astype(np.int64))
    assert model.coef_.tobytes() == ref.coef_.tobytes()
    assert model.n_iter_[0] == 40


def test_verbose_prints_iterations_on_stderr(files, capsys):
    d = files["dir"]
    r = call(capsys, "train", d / "binary.csv", "-o", d / "v.json", "-v", "--max-iter", "3",
            "--solver", "gd", "--tol", "0")
    assert r.returncode == 0 and r.stdout == ""
    assert r.stderr.count("Epoch: ") == 3  # one per history_ entry, as fit prints them
    assert len(load_model(d / "v.json").history_["loss"]) == 3


def test_predict_labels_and_probabilities(files, capsys):
    d = files["dir"]
    assert call(capsys, "train", d / "train.csv", "--target", "kind", "-o", d / "m.json",
               "-q").returncode == 0
    model = load_model(d / "m.json")
    labels, probabilities = _predict(model, files["X"][200:])
    r = run("predict", d / "m.json", d / "test.csv", "--target", "kind")
    assert r.returncode == 0, r.stderr
    predicted = r.stdout.splitlines()
    assert predicted == labels.tolist()
    correct = int(np.sum(np.array(predicted) == files["kinds"][200:]))
    assert f"Accuracy = {100 * correct / 100:.4f}% ({correct}/100)" in r.stderr
    r = run("predict", d / "m.json", d / "test.csv", "--proba", "-o", d / "p.csv")
    assert r.returncode == 0 and r.stdout == ""
    with open(d / "p.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["label", "alpha", "beta", "gamma"]
    assert [row[0] for row in rows[1:]] == predicted
    proba = np.array([[float(v) for v in row[1:]] for row in rows[1:]])
    assert proba.tobytes() == probabilities.tobytes()  # repr: exact


def test_predict_matches_columns_by_name(files, capsys):
    pytest.importorskip("pandas", reason="feature names come from pandas DataFrames")
    d = files["dir"]
    assert call(capsys, "train", d / "train.csv", "--target", "kind", "-o", d / "m.json",
                "-q").returncode == 0
    r = call(capsys, "predict", d / "m.json", d / "test_nolabel.csv")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == _predict(load_model(d / "m.json"),
                                             files["X"][200:])[0].tolist()
    assert "Accuracy" not in r.stderr


@pytest.mark.parametrize("sparse_file", [True, False])
def test_svmlight_train_and_predict(files, sparse_file, capsys):
    d = files["dir"]
    path = d / "train.svm"
    if not sparse_file:  # every value written: a dense svmlight file
        path = d / "dense.svm"
        dump_svmlight_file(files["X"], files["y"], str(path))
    r = (run if sparse_file else lambda *a: call(capsys, *a))("train", path, "-o",
                                                              d / "s.json")
    assert r.returncode == 0, r.stderr
    X, y = load_svmlight_file(path)  # CSR: fit takes it as it is, as the CLI does
    ref = LogisticRegression().fit(X, y.astype(np.int64))
    model = load_model(d / "s.json")
    assert model.coef_.tobytes() == ref.coef_.tobytes()
    assert model.classes_.tolist() == [0, 1, 2]
    r = call(capsys, "predict", d / "s.json", path)
    assert r.returncode == 0
    assert r.stdout.split() == [str(v) for v in ref.predict(X.toarray())]
    assert "Accuracy = " in r.stderr


def test_info(files, capsys):
    d = files["dir"]
    assert call(capsys, "train", d / "train.csv", "--target", "kind", "-o", d / "m.json",
                "-q").returncode == 0
    r = run("info", d / "m.json")
    assert r.returncode == 0, r.stderr
    assert "classes:        3: ['alpha', 'beta', 'gamma']" in r.stdout
    assert "features:       4" in r.stdout and "format clogreg-model v1" in r.stdout
    assert "solver:         lbfgs" in r.stdout


def test_help_and_version(capsys):
    r = run("--help")
    assert r.returncode == 0 and "train" in r.stdout and "predict" in r.stdout
    r = call(capsys, "train", "--help")
    assert r.returncode == 0 and "--l1-ratio" in r.stdout
    r = call(capsys, "--version")
    assert r.returncode == 0 and r.stdout.startswith("clogreg ")


@pytest.mark.parametrize("args, message", [
    ((), "the following arguments are required: COMMAND"),
    (("fit", "x.csv"), "invalid choice: 'fit'"),
    (("train", "train.csv"), "the following arguments are required: -o/--output"),
    (("train", "train.csv", "-o", "m.json", "--C", "-1"), "'-1' must be > 0"),
    (("train", "train.csv", "-o", "m.json", "--max-iter", "ten"), "invalid int value"),
    (("train", "train.csv", "-o", "m.json", "--solver", "liblinear"), "invalid choice"),
    (("train", "train.csv", "-o", "m.json", "--target", "kind", "--l1-ratio", "2"),
     "l1_ratio"),
    (("train", "train.csv", "-o", "m.json", "--target", "kind", "--tol", "-1"), "tol"),
])
def test_usage_errors_exit_2(files, args, message, capsys, monkeypatch):
    monkeypatch.chdir(files["dir"])
    _assert_error(call(capsys, *args), 2, message)


def test_usage_error_in_a_subprocess(files):
    _assert_error(run("train", "train.csv", "-o", "m.json", "--C", "0", cwd=files["dir"]),
                  2, "'0' must be > 0")


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_runtime_errors_exit_1(files, tmp_path, capsys):
    d = files["dir"]
    assert call(capsys, "train", d / "train.csv", "--target", "kind", "-o", d / "m.json",
                "-q").returncode == 0
    cases = [
        (("train", tmp_path / "missing.csv", "-o", tmp_path / "m.json"), "no such file"),
        (("train", d / "train.csv", "--target", "colour", "-o", tmp_path / "m.json"),
         "no column 'colour'"),
        (("train", _write(tmp_path / "bad.csv", "a,b,y\n1,2,0\n3,x,1\n"), "-o",
          tmp_path / "m.json"), "line 3, column 'b': 'x' is not a number"),
        (("train", _write(tmp_path / "ragged.csv", "a,b,y\n1,2,0\n3,1\n"), "-o",
          tmp_path / "m.json"), "line 3: 2 fields, the header has 3"),
        (("train", _write(tmp_path / "empty.csv", ""), "-o", tmp_path / "m.json"),
         "the file is empty"),
        (("train", _write(tmp_path / "head.csv", "a,b,y\n"), "-o", tmp_path / "m.json"),
         "no data rows"),
        (("train", _write(tmp_path / "bad.svm", "1 1:2 x:3\n0 2:1\n"), "-o",
          tmp_path / "m.json"), "not a valid svmlight/libsvm file"),
        (("train", _write(tmp_path / "one.csv", "a,y\n1,0\n2,0\n"), "-o",
          tmp_path / "m.json"), "fit failed: y must hold at least 2 classes"),
        (("train", d / "train.csv", "--target", "kind", "--solver", "lbfgs",
          "--l1-ratio", "1", "-o", tmp_path / "m.json"),
         "fit failed: solver='lbfgs' supports only L2"),
        (("train", d / "train.csv", "--target", "kind", "-o",
          tmp_path / "no" / "dir" / "m.json"), "cannot write the model"),
        (("predict", tmp_path / "none.json", d / "test.csv"), "no such file"),
        (("predict", _write(tmp_path / "trunc.json", '{"format": "clogreg-model", "f'),
          d / "test.csv"), "not valid JSON"),
        (("predict", d / "m.json", _write(tmp_path / "three.csv", "a,b,c\n1,2,3\n")),
         "the model's feature column(s) ['f1', 'f2', 'f3', 'f4'] are not in the file"
         if importlib.util.find_spec("pandas") else "3 features, but the model was "
         "trained on 4"),
        (("predict", d / "m.json", d / "train.svm", "--format", "csv"),
         "are not in the file" if importlib.util.find_spec("pandas") else
         "is not a number"),
        (("info", d / "train.csv"), "not valid JSON"),
    ]
    for args, message in cases:
        _assert_error(call(capsys, *args), 1, message)
    _assert_error(run("predict", d / "m.json", tmp_path / "missing.csv"), 1,
                  "missing.csv: no such file")


def test_feature_count_mismatch_svmlight(files, tmp_path, capsys):
    d = files["dir"]
    dump_svmlight_file(files["X"][:, :3], files["y"], str(tmp_path / "three.svm"))
    assert call(capsys, "train", tmp_path / "three.svm", "-o", tmp_path / "t.json",
                "-q").returncode == 0
    _assert_error(call(capsys, "predict", tmp_path / "t.json", d / "train.svm"), 1,
                  "n_features was set to 3")
    dump_svmlight_file(files["X"][:, :2], files["y"], str(tmp_path / "two.svm"))
    r = call(capsys, "predict", tmp_path / "t.json", tmp_path / "two.svm", "-q")
    assert r.returncode == 0  # svmlight: absent trailing features are zeros (LIBLINEAR)
    assert len(r.stdout.split()) == files["X"].shape[0]


def test_onnx_command(files, tmp_path, capsys):
    pytest.importorskip("skl2onnx", reason="needs clogreg[onnx]")
    ort = pytest.importorskip("onnxruntime", reason="needs onnxruntime")
    d = files["dir"]
    assert call(capsys, "train", d / "train.csv", "--target", "kind", "-o", d / "m.json",
                "-q").returncode == 0
    r = run("onnx", d / "m.json", "-o", tmp_path / "m.onnx")
    assert r.returncode == 0, r.stderr
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    label, proba = sess.run(None, {"X": files["X"][200:]})
    labels, probabilities = _predict(load_model(d / "m.json"), files["X"][200:])
    assert label.tolist() == labels.tolist()
    np.testing.assert_allclose(proba, probabilities, rtol=0, atol=1e-12)


def test_console_script():
    """The installed ``clogreg`` script (pyproject [project.scripts]) runs main."""
    exe = shutil.which("clogreg", path=os.path.dirname(sys.executable))
    if exe is None:
        pytest.skip("clogreg is not installed as a package here (PYTHONPATH=src run); "
                    ".ci/run installs it")
    r = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60,
                       check=False)
    assert r.returncode == 0 and r.stdout.startswith("clogreg ")


def test_main_in_process(files, capsys):
    """main() returns the status instead of exiting: usable from Python too."""
    from clogreg._cli import main

    assert main(["info", str(files["dir"] / "nothing.json")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_predict_svmlight_with_a_csv_model(files, capsys):
    """Features by position; labels that are none of the model's classes: no accuracy
    (LIBLINEAR would print 0%), no warning about feature names."""
    d = files["dir"]
    assert call(capsys, "train", d / "train.csv", "--target", "kind", "-o", d / "m.json",
                "-q").returncode == 0
    r = call(capsys, "predict", d / "m.json", d / "train.svm")
    assert r.returncode == 0, r.stderr
    X, _ = load_svmlight_file(str(d / "train.svm"), n_features=4)
    assert r.stdout.splitlines() == _predict(load_model(d / "m.json"),
                                             X.toarray())[0].tolist()
    note = (f"no accuracy: the labels in {d / 'train.svm'} (['0', '1', '2']) are none of "
            f"the model's classes")
    assert r.stderr.splitlines() == [note]


# ------------------------------------------------ in-process: every remaining path
def test_format_is_detected_from_the_first_line(files, tmp_path, capsys):
    """Without a telling extension: svmlight when the first data line is ``label
    index:value ...`` without commas, else CSV; comments and blank lines skipped."""
    d = files["dir"]
    svm = tmp_path / "train.txt"
    svm.write_text("# written by hand\n\n" + (d / "train.svm").read_text(), encoding="utf-8")
    r = call(capsys, "train", svm, "-o", tmp_path / "s.json")
    assert r.returncode == 0, r.stderr
    assert "(svmlight)" in r.stderr
    X, y = load_svmlight_file(str(d / "train.svm"))
    ref = LogisticRegression().fit(X, y.astype(np.int64))
    assert load_model(tmp_path / "s.json").coef_.tobytes() == ref.coef_.tobytes()
    table = tmp_path / "binary.data"
    shutil.copy(d / "binary.csv", table)
    r = call(capsys, "train", table, "-o", tmp_path / "c.json")
    assert r.returncode == 0, r.stderr
    assert "(csv)" in r.stderr
    data = np.loadtxt(d / "binary.csv", delimiter=",", skiprows=1)
    ref = LogisticRegression().fit(data[:, :4], data[:, 4].astype(np.int64))
    assert load_model(tmp_path / "c.json").coef_.tobytes() == ref.coef_.tobytes()


def test_more_malformed_inputs_exit_1_with_one_line(files, tmp_path, capsys):
    d = files["dir"]
    assert call(capsys, "train", d / "train.csv", "--target", "kind", "-o", d / "m.json",
                "-q").returncode == 0
    assert call(capsys, "train", d / "train.svm", "-o", tmp_path / "svm.json",
                "-q").returncode == 0  # a model without column names (4 features)
    out = tmp_path / "x.json"
    cases = [
        # only comments and blank lines: nothing to tell the format by
        (("train", _write(tmp_path / "blank.data", "# nothing\n\n"), "-o", out),
         "blank.data: the file is empty"),
        # a field beyond the csv module's limit (131,072 characters)
        (("train", _write(tmp_path / "long.csv", "a,y\n" + "1" * 200_000 + ",0\n"), "-o",
          out), "long.csv: not a valid CSV file: field larger than field limit"),
        (("train", _write(tmp_path / "twice.csv", "a,a,y\n1,2,0\n"), "-o", out),
         "twice.csv: the CSV header repeats a column name"),
        (("train", _write(tmp_path / "label.csv", "y\n0\n1\n"), "-o", out),
         "label.csv: no feature columns besides the label"),
        (("predict", d / "m.json", d / "test.csv", "--target", "colour"),
         "test.csv: no column 'colour'"),
        # a model without names reads CSV columns by position: 4 features, not 5
        (("predict", tmp_path / "svm.json", _write(tmp_path / "abc.csv", "a,b,c\n1,2,3\n")),
         "abc.csv: 3 features, but the model was trained on 4"),
        # NaN parses as a float; the estimator refuses it as in the Python API
        # scikit-learn's message has a second line (a hint): joined into the one line
        (("predict", d / "m.json", _write(tmp_path / "nan.csv",
                                          "f1,f2,f3,f4\n1,2,3,4\nnan,1,2,3\n")),
         "predict failed: Input X contains NaN. LogisticRegression does not accept missing "
         "values encoded as NaN natively"),
        (("train", _write(tmp_path / "nan_train.csv", "a,y\n1,0\nnan,1\n"), "-o", out),
         "fit failed: Input X contains NaN. LogisticRegression does not accept missing "
         "values encoded as NaN natively"),
        (("predict", d / "m.json", d / "test.csv", "-o", tmp_path / "no" / "p.txt"),
         "cannot write: No such file or directory"),
    ]
    if importlib.util.find_spec("skl2onnx") is not None:  # the onnx extra (not in the
        # wheel step's environment, which has the test extra only)
        cases.append((("onnx", d / "m.json", "-o", tmp_path / "no" / "m.onnx"),
                      "cannot write: No such file or directory"))
    for args, message in cases:
        _assert_error(call(capsys, *args), 1, message)


def test_csv_that_is_not_utf8_is_one_error_line(tmp_path, capsys):
    # bytes that are no UTF-8 text once came out as a UnicodeDecodeError traceback
    path = tmp_path / "latin1.csv"
    path.write_bytes("a,b,y\n1,2,0\n3,\xe9,1\n".encode("latin-1"))
    _assert_error(call(capsys, "train", path, "-o", tmp_path / "m.json"), 1,
                  "latin1.csv: not a valid CSV file: 'utf-8' codec can't decode byte 0xe9")


def test_non_numeric_c_is_a_usage_error(files, capsys):
    _assert_error(call(capsys, "train", files["dir"] / "binary.csv", "-o", "m.json", "--C",
                       "lots"), 2, "argument --C: 'lots' is not a number")


def test_predict_with_target_reports_accuracy_and_writes_probabilities(files, tmp_path,
                                                                         capsys):
    """--target with a model that knows its columns; --proba to stdout and to -o."""
    d = files["dir"]
    assert call(capsys, "train", d / "train.csv", "--target", "kind", "-o", d / "m.json",
                "-q").returncode == 0
    model = load_model(d / "m.json")
    labels, probabilities = _predict(model, files["X"][200:])
    r = call(capsys, "predict", d / "m.json", d / "test.csv", "--target", "kind", "--proba")
    assert r.returncode == 0, r.stderr
    rows = list(csv.reader(r.stdout.splitlines()))
    assert rows[0] == ["label", "alpha", "beta", "gamma"]
    assert [row[0] for row in rows[1:]] == labels.tolist()
    proba = np.array([[float(v) for v in row[1:]] for row in rows[1:]])
    assert proba.tobytes() == probabilities.tobytes()
    correct = int(np.sum(labels == files["kinds"][200:]))
    assert r.stderr.strip() == f"Accuracy = {correct:.4f}% ({correct}/100)"
    r = call(capsys, "predict", d / "m.json", d / "test.csv", "-o", tmp_path / "labels.txt",
             "-q")
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""
    assert (tmp_path / "labels.txt").read_text().splitlines() == labels.tolist()


def test_train_reports_convergence_warnings_as_lines(files, tmp_path, capsys):
    d = files["dir"]
    r = call(capsys, "train", d / "binary.csv", "-o", tmp_path / "w.json", "--solver", "gd",
             "--max-iter", "2")
    assert r.returncode == 0, r.stderr
    warning = [line for line in r.stderr.splitlines() if line.startswith("clogreg: warning:")]
    assert len(warning) == 1 and "max_iter" in warning[0], r.stderr
    assert load_model(tmp_path / "w.json").stop_reason_ == "max_iter"


def test_info_in_process_describes_the_model(files, tmp_path, capsys):
    d = files["dir"]
    assert call(capsys, "train", d / "binary.csv", "-o", tmp_path / "b.json", "--C", "0.5",
                "--l1-ratio", "1", "--solver", "newton", "-q").returncode == 0
    model = load_model(tmp_path / "b.json")
    with open(tmp_path / "b.json") as f:
        document = json.load(f)
    r = call(capsys, "info", tmp_path / "b.json")
    assert r.returncode == 0 and r.stderr == "", r.stderr
    fields = dict(line.split(":", 1) for line in r.stdout.splitlines())
    assert fields["file"].strip() == (
        f"{tmp_path / 'b.json'} (format clogreg-model v1, written by clogreg "
        f"{document['model']['clogreg_version']})")
    assert fields["classes"].strip() == "2: [-1, 4]"
    expected_features = "4: ['a', 'b', 'c', 'd']" if hasattr(model, "feature_names_in_") \
        else "4"
    assert fields["features"].strip() == expected_features
    assert fields["dtype"].strip() == "float64"
    loss = model.history_["loss"][-1]
    assert fields["solver"].strip() == (f"newton, {int(model.n_iter_[0])} iterations, "
                                        f"{model.stop_reason_}, final loss {loss:.10g}")
    assert fields["intercept"].strip() == f"[{float(model.intercept_[0]):.6g}]"
    data = np.loadtxt(d / "binary.csv", delimiter=",", skiprows=1)
    ref = LogisticRegression(C=0.5, l1_ratio=1.0, solver="newton").fit(
        data[:, :4], data[:, 4].astype(np.int64))
    nonzero = np.count_nonzero(ref.coef_)
    assert fields["coef |max|"].strip() == (f"{float(np.max(np.abs(ref.coef_))):.6g}, "
                                            f"nonzero {nonzero} of 4")


def test_onnx_in_process_with_another_dtype(files, tmp_path, capsys):
    pytest.importorskip("skl2onnx", reason="needs clogreg[onnx]")
    ort = pytest.importorskip("onnxruntime", reason="needs onnxruntime")
    d = files["dir"]
    assert call(capsys, "train", d / "binary.csv", "-o", tmp_path / "b.json",
                "-q").returncode == 0
    r = call(capsys, "onnx", tmp_path / "b.json", "-o", tmp_path / "b.onnx", "--dtype",
             "float32")
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == (f"wrote {tmp_path / 'b.onnx'} (input 'X': float32 of shape "
                                f"[N, 4]; outputs 'label', 'probabilities')")
    sess = ort.InferenceSession(str(tmp_path / "b.onnx"), providers=["CPUExecutionProvider"])
    X = files["X"].astype(np.float32)
    label, proba = sess.run(None, {"X": X})
    labels, probabilities = _predict(load_model(tmp_path / "b.json"), X.astype(np.float64))
    assert proba.dtype == np.float32
    # float32 graph, float64 model: labels may differ only where the margin is tiny
    assert np.mean(label == labels) > 0.99
    np.testing.assert_allclose(proba, probabilities, rtol=0, atol=1e-6)


def test_ctrl_c_exits_130_with_one_line(files, tmp_path, capsys, monkeypatch):
    """128 + SIGINT, the shell's status for a command that Ctrl-C stopped."""
    import signal

    def interrupted(self, X, y, sample_weight=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(LogisticRegression, "fit", interrupted)
    r = call(capsys, "train", files["dir"] / "binary.csv", "-o", tmp_path / "m.json", "-q")
    assert r.returncode == 128 + signal.SIGINT
    assert r.stderr == "clogreg: interrupted\n" and r.stdout == ""
    assert not (tmp_path / "m.json").exists()


def test_os_error_reading_data_is_one_line(tmp_path, capsys):
    """An error of the operating system while reading (not a CLIError): still one
    line and status 1. Linux's /proc/self/mem is a file that open() accepts and whose
    first read fails (EIO: address 0 is not mapped)."""
    mem = "/proc/self/mem"
    if not os.path.isfile(mem):
        pytest.skip("needs Linux's /proc/self/mem (a file that open() may read but "
                    "read() refuses)")
    r = call(capsys, "train", mem, "-o", tmp_path / "m.json", "--format", "csv")
    assert r.returncode == 1
    assert r.stderr == f"clogreg: error: {os.strerror(errno.EIO)}\n"


def test_entry_point_and_module_exit_with_the_status(files, tmp_path, monkeypatch, capsys):
    """The console script's function and ``python -m clogreg``, in this process."""
    import runpy

    from clogreg._cli import _entry

    missing = str(tmp_path / "nothing.json")
    monkeypatch.setattr(sys, "argv", ["clogreg", "info", missing])
    with pytest.raises(SystemExit) as exc:
        _entry()
    assert exc.value.code == 1
    assert capsys.readouterr().err == f"clogreg: error: {missing}: no such file\n"
    monkeypatch.setattr(sys, "argv", ["clogreg", "info", str(files["dir"] / "train.csv")])
    with pytest.raises(SystemExit) as exc:
        runpy.run_module("clogreg", run_name="__main__")
    assert exc.value.code == 1
    assert "not valid JSON" in capsys.readouterr().err


def test_without_pandas_columns_go_by_position(files, tmp_path, capsys, monkeypatch):
    """pandas is optional: without it the model records no column names, and predict
    with such a model takes the CSV's columns by position."""
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails
    d = files["dir"]
    r = call(capsys, "train", d / "binary.csv", "-o", tmp_path / "p.json", "-q")
    assert r.returncode == 0, r.stderr
    model = load_model(tmp_path / "p.json")
    assert not hasattr(model, "feature_names_in_")
    data = np.loadtxt(d / "binary.csv", delimiter=",", skiprows=1)
    ref = LogisticRegression().fit(data[:, :4], data[:, 4].astype(np.int64))
    assert model.coef_.tobytes() == ref.coef_.tobytes()
    monkeypatch.undo()  # (scikit-learn's predict looks pandas up in sys.modules)
    r = call(capsys, "predict", tmp_path / "p.json", d / "binary.csv", "-q")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(v) for v in ref.predict(data[:, :4])]


def test_onnx_without_skl2onnx_says_what_to_install(files, tmp_path, capsys, monkeypatch):
    d = files["dir"]
    assert call(capsys, "train", d / "binary.csv", "-o", tmp_path / "b.json",
                "-q").returncode == 0
    monkeypatch.setitem(sys.modules, "skl2onnx", None)  # import skl2onnx now fails
    _assert_error(call(capsys, "onnx", tmp_path / "b.json", "-o", tmp_path / "b.onnx"), 1,
                  "ONNX export needs skl2onnx and onnx: pip install 'clogreg[onnx]'")
    assert not (tmp_path / "b.onnx").exists()
