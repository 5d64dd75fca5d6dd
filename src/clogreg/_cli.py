"""The ``clogreg`` command line: LIBLINEAR's ``train`` / ``predict`` workflow.

::

    clogreg train DATA -o MODEL [--target COL] [--C C] [--solver S] ...
    clogreg predict MODEL DATA [--proba] [-o FILE]
    clogreg info MODEL
    clogreg onnx MODEL -o FILE [--dtype float32|float64]

DATA is a CSV file with a header row (the label in the column named by ``--target``,
by default the last one) or an svmlight / libsvm file (``label index:value ...``, read
by scikit-learn's ``load_svmlight_file``), recognised by its extension (``.csv``;
``.svm``, ``.libsvm``, ``.svmlight``) or else by its first line, or named with
``--format``. MODEL is a JSON model file (:func:`clogreg.save_model`).

Progress goes to stderr (``-q`` silences it, ``-v`` adds a line per iteration),
results to stdout or ``-o``. Exit status: 0 success, 1 a failure at run time (a
missing or malformed file, an unknown column, a model/data feature mismatch, a fit
that fails), 2 a usage error (unknown options, invalid parameter values). Every
error is one line on stderr: ``clogreg: error: ...``.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import io
import math
import os
import sys
import time
import warnings
from collections.abc import Sequence

import numpy as np

_SVMLIGHT_EXTENSIONS = (".svm", ".libsvm", ".svmlight")


class CLIError(Exception):
    """A failure to report as one line, with an exit status (1 by default)."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and status 2, in place of usage + message
        raise CLIError(f"{message} (see '{self.prog} --help')", status=2)


# ------------------------------------------------------------------ reading data
def _detect_format(path: str, given: str) -> str:
    if given != "auto":
        return given
    lower = path.lower()
    if lower.endswith(".csv"):
        return "csv"
    if lower.endswith(_SVMLIGHT_EXTENSIONS):
        return "svmlight"
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                first = line.split("#")[0].split()
                if len(first) >= 1 and all(":" in tok for tok in first[1:]) \
                        and "," not in line:
                    return "svmlight"
                return "csv"
    raise CLIError(f"{path}: the file is empty")


def _parse_labels(values: list[str]) -> np.ndarray:
    """Labels as int64 when every one is a whole number, else as strings."""
    try:
        return np.array([int(v) for v in values], dtype=np.int64)
    except ValueError:
        return np.array(values)


def _read_csv(path: str, target: str | None, need_target: bool, dtype,
              feature_names: Sequence[str] | None = None, n_features: int | None = None):
    """Return X, y (None when the file has no target column), feature names."""
    with open(path, newline="", encoding="utf-8") as f:
        try:
            rows = list(csv.reader(f))
        except (csv.Error, UnicodeDecodeError) as exc:  # not text in UTF-8: one line too
            raise CLIError(f"{path}: not a valid CSV file: {exc}") from None
    rows = [r for r in rows if r]  # blank lines
    if not rows:
        raise CLIError(f"{path}: the file is empty")
    header, body = [h.strip() for h in rows[0]], rows[1:]
    if not body:
        raise CLIError(f"{path}: the CSV file has a header but no data rows")
    if len(set(header)) != len(header):
        raise CLIError(f"{path}: the CSV header repeats a column name")
    for i, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise CLIError(f"{path}, line {i}: {len(row)} fields, the header has "
                           f"{len(header)}")
    if feature_names is not None:  # predict with a model that knows its columns
        missing = [n for n in feature_names if n not in header]
        if missing:
            raise CLIError(f"{path}: the model's feature column(s) {missing[:5]} are not "
                           f"in the file (columns: {header[:10]})")
        feature_cols = [header.index(n) for n in feature_names]
        rest = [i for i in range(len(header)) if i not in feature_cols]
        if target is not None:
            if target not in header:
                raise CLIError(f"{path}: no column {target!r} (columns: {header[:10]})")
            target_col = header.index(target)
        else:
            target_col = rest[0] if len(rest) == 1 else None
    else:
        if target is None:
            # train: the last column; predict: the last one if it is one too many
            last = need_target or len(header) == (n_features or 0) + 1
            target_col = len(header) - 1 if last else None
        elif target in header:
            target_col = header.index(target)
        else:
            raise CLIError(f"{path}: no column {target!r} (columns: {header[:10]})")
        feature_cols = [i for i in range(len(header)) if i != target_col]
    if not feature_cols:
        raise CLIError(f"{path}: no feature columns besides the label")
    X = np.empty((len(body), len(feature_cols)), dtype=dtype)
    for i, row in enumerate(body):
        for j, col in enumerate(feature_cols):
            try:
                X[i, j] = float(row[col])
            except ValueError:
                raise CLIError(f"{path}, line {i + 2}, column {header[col]!r}: "
                               f"{row[col]!r} is not a number") from None
    y = None if target_col is None else _parse_labels([r[target_col].strip() for r in body])
    return X, y, [header[c] for c in feature_cols]


def _read_svmlight(path: str, dtype, n_features: int | None = None):
    from sklearn.datasets import load_svmlight_file

    try:
        X, y = load_svmlight_file(path, n_features=n_features, dtype=dtype)
    except ValueError as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise CLIError(f"{path}: not a valid svmlight/libsvm file: {message}") from None
    if y.size and np.all(y == np.round(y)) and np.all(np.abs(y) < 2**53):
        y = y.astype(np.int64)
    return X, y


def _read_data(args, dtype, model=None, need_target=True):
    """X, y, feature names (None for svmlight); X maybe sparse (svmlight)."""
    path = args.data
    if not os.path.isfile(path):
        raise CLIError(f"{path}: no such file")
    fmt = _detect_format(path, args.format)
    if fmt == "csv":
        names = None
        if model is not None and hasattr(model, "feature_names_in_"):
            names = [str(n) for n in model.feature_names_in_]
        X, y, names = _read_csv(path, args.target, need_target, dtype, names,
                                None if model is None else model.n_features_in_)
    else:
        n = None if model is None else model.n_features_in_
        X, y = _read_svmlight(path, dtype, n)
        names = None
    if model is not None and X.shape[1] != model.n_features_in_:
        # a CSV without the label column, or with another number of features
        if fmt == "csv" and y is not None and args.target is None \
                and X.shape[1] == model.n_features_in_ - 1:
            raise CLIError(f"{path}: {X.shape[1] + 1} columns; the model has "
                           f"{model.n_features_in_} features: the file has no label "
                           f"column (or name one with --target)")
        raise CLIError(f"{path}: {X.shape[1]} features, but the model was trained on "
                       f"{model.n_features_in_}")
    return X, y, names, fmt


def _say(args, message):
    if not args.quiet:
        print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _warnings_as_lines(args):
    """Warnings (ConvergenceWarning) as one 'clogreg: warning: ...' line each."""
    def show(message, category, filename, lineno, file=None, line=None):
        print(f"clogreg: warning: {message}", file=sys.stderr, flush=True)

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = show
        yield


# ------------------------------------------------------------------ commands
def _train(args) -> int:
    from sklearn.utils._param_validation import InvalidParameterError

    from ._estimator import LogisticRegression
    from ._model_io import save_model

    clf = LogisticRegression(
        C=args.C, l1_ratio=args.l1_ratio, solver=args.solver, max_iter=args.max_iter,
        tol=args.tol, fit_intercept=not args.no_intercept,
        class_weight=args.class_weight, n_jobs=args.n_jobs, verbose=int(args.verbose),
        random_state=args.random_state)
    try:  # parameter values first: a usage error before any data is read
        clf._validate_params()
    except InvalidParameterError as exc:
        raise CLIError(str(exc), status=2) from None
    dtype = np.dtype(args.dtype)
    start = time.perf_counter()
    X, y, names, fmt = _read_data(args, dtype)
    if y is None:
        raise CLIError(f"{args.data}: no label column")
    _say(args, f"read {X.shape[0]} rows x {X.shape[1]} features ({fmt}) from {args.data} "
               f"in {time.perf_counter() - start:.2f} s")
    if names is not None:
        X = _with_names(X, names)
    start = time.perf_counter()
    try:
        with contextlib.redirect_stdout(sys.stderr), _warnings_as_lines(args):
            clf.fit(X, y)  # svmlight data stay sparse (CSR), as the estimator takes them
    except InvalidParameterError as exc:
        raise CLIError(str(exc), status=2) from None
    except (ValueError, FloatingPointError, TypeError, MemoryError) as exc:
        raise CLIError(f"fit failed: {exc}") from None
    _say(args, f"fitted: solver {clf.solver_}, {int(clf.n_iter_[0])} iterations, "
               f"{clf.stop_reason_}, final loss {clf.history_['loss'][-1]:.6g}, "
               f"{time.perf_counter() - start:.2f} s")
    try:
        save_model(clf, args.output)
    except OSError as exc:
        raise CLIError(f"{args.output}: cannot write the model: {exc.strerror}") from None
    _say(args, f"wrote {args.output}")
    return 0


def _with_names(X, names):
    """X as a pandas DataFrame with the CSV's column names, so that the model records
    ``feature_names_in_`` and ``predict`` can match columns by name; X itself when
    pandas is not installed (the core does not depend on it)."""
    try:
        import pandas as pd
    except ImportError:
        return X
    return pd.DataFrame(X, columns=list(names), copy=False)


def _load(path):
    from ._model_io import load_model

    if not os.path.isfile(path):
        raise CLIError(f"{path}: no such file")
    try:
        return load_model(path)
    except ValueError as exc:
        raise CLIError(f"{path}: {exc}") from None


def _predict(args) -> int:
    model = _load(args.model)
    X, y, names, _ = _read_data(args, model.coef_.dtype, model=model, need_target=False)
    if hasattr(model, "feature_names_in_"):
        # CSV: the columns picked by name; svmlight: features by position, as numbered
        # (named columns need a DataFrame: a dense one)
        if hasattr(X, "toarray"):
            X = X.toarray()
        X = _with_names(X, names if names is not None else model.feature_names_in_)
    try:
        with _warnings_as_lines(args):
            labels = model.predict(X)
            proba = model.predict_proba(X) if args.proba else None
    except ValueError as exc:
        raise CLIError(f"predict failed: {exc}") from None
    out = io.StringIO()
    if proba is None:
        out.writelines(f"{label}\n" for label in labels)
    else:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["label", *[str(c) for c in model.classes_]])
        for label, row in zip(labels, proba):
            writer.writerow([label, *[repr(float(p)) for p in row]])
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8", newline="") as f:
                f.write(out.getvalue())
        except OSError as exc:
            raise CLIError(f"{args.output}: cannot write: {exc.strerror}") from None
    else:
        sys.stdout.write(out.getvalue())
    if y is not None:  # LIBLINEAR's report when the data carry labels
        if model.classes_.dtype.kind in "OU":
            y = y.astype(str)
        if not np.any(np.isin(y, model.classes_)):
            _say(args, f"no accuracy: the labels in {args.data} ({_short(np.unique(y).tolist())}) "
                       f"are none of the model's classes")
            return 0
        correct = int(np.sum(labels == y))
        _say(args, f"Accuracy = {100 * correct / len(y):.4f}% ({correct}/{len(y)})")
    return 0


def _info(args) -> int:
    import json

    model = _load(args.model)
    with open(args.model, encoding="utf-8") as f:
        document = json.load(f)
    loss = model.history_.get("loss", np.empty(0))
    names = ""
    if hasattr(model, "feature_names_in_"):
        names = f": {_short(model.feature_names_in_.tolist())}"
    final = f", final loss {loss[-1]:.10g}" if loss.size else ""
    meta = document["model"]
    lines = [
        (f"file:           {args.model} (format {document['format']} "
         f"v{document['format_version']}, written by clogreg {meta['clogreg_version']})"),
        f"model:          {model!r}",
        f"classes:        {len(model.classes_)}: {_short(model.classes_.tolist())}",
        f"features:       {model.n_features_in_}{names}",
        f"dtype:          {model.coef_.dtype}",
        (f"solver:         {model.solver_}, {int(model.n_iter_[0])} iterations, "
         f"{model.stop_reason_}{final}"),
        f"intercept:      {_short([float(v) for v in model.intercept_])}",
        (f"coef |max|:     {float(np.max(np.abs(model.coef_))):.6g}, "
         f"nonzero {np.count_nonzero(model.coef_)} of {model.coef_.size}"),
    ]
    print("\n".join(lines))
    return 0


def _short(values, n=8):
    text = ", ".join(repr(v) if isinstance(v, str) else f"{v:.6g}" if isinstance(v, float)
                     else str(v) for v in values[:n])
    return f"[{text}{', ...' if len(values) > n else ''}]"


def _onnx(args) -> int:
    model = _load(args.model)
    try:
        from skl2onnx import to_onnx

        from ._onnx import register_onnx_converter
    except ImportError:
        raise CLIError("ONNX export needs skl2onnx and onnx: "
                       "pip install 'clogreg[onnx]'") from None
    register_onnx_converter()
    dtype = np.dtype(args.dtype) if args.dtype else model.coef_.dtype
    onx = to_onnx(model, np.zeros((1, model.n_features_in_), dtype=dtype))
    try:
        with open(args.output, "wb") as f:
            f.write(onx.SerializeToString())
    except OSError as exc:
        raise CLIError(f"{args.output}: cannot write: {exc.strerror}") from None
    _say(args, f"wrote {args.output} (input 'X': {dtype} of shape [N, "
               f"{model.n_features_in_}]; outputs 'label', 'probabilities')")
    return 0


# ------------------------------------------------------------------ parser
def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or math.isnan(value):
        raise argparse.ArgumentTypeError(f"{text!r} must be > 0 (inf: no penalty)")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of the ``clogreg`` command (for ``--help`` and the docs)."""
    from . import __version__

    parser = _Parser(prog="clogreg", description="Logistic regression from the command "
                     "line: train a model file, predict with it, inspect it.")
    parser.add_argument("--version", action="version", version=f"clogreg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def data_options(p):
        p.add_argument("--format", choices=["auto", "csv", "svmlight"], default="auto",
                       help="DATA's format (default: from the extension or first line)")
        p.add_argument("--target", metavar="COL",
                       help="CSV: the label column (train: default the last column; "
                            "predict: optional, reports the accuracy)")
        p.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")

    train = sub.add_parser("train", help="fit a model to DATA and write MODEL",
                           description="Fit clogreg.LogisticRegression to DATA and "
                           "write a JSON model file.")
    train.add_argument("data", metavar="DATA", help="CSV (with header) or svmlight file")
    train.add_argument("-o", "--output", metavar="MODEL", required=True,
                       help="the model file to write (JSON)")
    data_options(train)
    train.add_argument("--C", type=_positive_float, default=1.0,
                       help="inverse penalty strength (default 1; inf: no penalty)")
    train.add_argument("--l1-ratio", type=float, default=0.0,
                       help="share of L1 in the penalty, 0..1 (default 0)")
    train.add_argument("--solver", choices=["auto", "gd", "sgd", "lbfgs", "newton"],
                       default="auto")
    train.add_argument("--max-iter", type=int, default=100)
    train.add_argument("--tol", type=float, default=1e-4)
    train.add_argument("--class-weight", choices=["balanced"], default=None)
    train.add_argument("--no-intercept", action="store_true")
    train.add_argument("--n-jobs", type=int, default=None, help="threads (-1: all CPUs)")
    train.add_argument("--random-state", type=int, default=None, help="seed for sgd")
    train.add_argument("--dtype", choices=["float64", "float32"], default="float64",
                       help="the dtype of the data and the model (default float64)")
    train.add_argument("-v", "--verbose", action="store_true",
                       help="a line per iteration on stderr")
    train.set_defaults(run=_train)

    predict = sub.add_parser("predict", help="predict the labels of DATA with MODEL",
                             description="Write one predicted label per row of DATA "
                             "(or, with --proba, a CSV of label and probabilities).")
    predict.add_argument("model", metavar="MODEL")
    predict.add_argument("data", metavar="DATA")
    predict.add_argument("--proba", action="store_true",
                         help="write 'label,<class>...' CSV rows with probabilities")
    predict.add_argument("-o", "--output", metavar="FILE", help="default: stdout")
    data_options(predict)
    predict.set_defaults(run=_predict)

    info = sub.add_parser("info", help="describe MODEL")
    info.add_argument("model", metavar="MODEL")
    info.set_defaults(run=_info, quiet=False)

    onnx = sub.add_parser("onnx", help="convert MODEL to ONNX (needs clogreg[onnx])")
    onnx.add_argument("model", metavar="MODEL")
    onnx.add_argument("-o", "--output", metavar="FILE", required=True)
    onnx.add_argument("--dtype", choices=["float32", "float64"], default=None,
                      help="the input dtype of the graph (default: the model's)")
    onnx.add_argument("-q", "--quiet", action="store_true")
    onnx.set_defaults(run=_onnx)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``clogreg`` command line; return the exit status (0, 1 or 2).

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success, 1 on a failure at run time, 2 on a usage error.
    """
    try:
        args = build_parser().parse_args(argv)
        return args.run(args)
    except CLIError as exc:  # one line, also for a multi-line message (scikit-learn's)
        message = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        print(f"clogreg: error: {message}", file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        print("clogreg: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        name = f"{exc.filename}: " if exc.filename else ""
        print(f"clogreg: error: {name}{exc.strerror or exc}", file=sys.stderr)
        return 1


def _entry() -> None:
    """The console script ``clogreg``."""
    sys.exit(main())
