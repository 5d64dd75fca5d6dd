"""clogreg: logistic regression with a Cython core, under scikit-learn's API.

>>> from clogreg import LogisticRegression, load_tutorial_data
>>> X_train, X_test, y_train, y_test = load_tutorial_data()
>>> clf = LogisticRegression(C=float("inf"), solver="gd", learning_rate=0.1,
...                          max_iter=20, tol=0)
>>> round(float(clf.fit(X_train, y_train).history_["loss"][0]), 4)
55.4518
"""
from ._cv import LogisticRegressionCV
from ._data import DEFAULT_SEED, load_tutorial_data
from ._estimator import LogisticRegression
from ._firth import FirthLogisticRegression
from ._inference import PerfectSeparationWarning
from ._model_io import load_model, save_model
from ._onnx import register_onnx_converter
from ._separation import detect_separation

__version__ = "0.1.0"
__all__ = ["DEFAULT_SEED", "FirthLogisticRegression", "LogisticRegression",
           "LogisticRegressionCV", "PerfectSeparationWarning", "__version__",
           "detect_separation", "load_model", "load_tutorial_data",
           "register_onnx_converter", "save_model", "show_config"]


def show_config():
    """Print the version and which build of the Cython kernel runs.

    The kernel is ``baseline`` (any CPU) or ``avx2`` (the AVX2+FMA build, chosen when
    it was built and the CPU has AVX2 and FMA; bit-identical results). The environment
    variable ``CLOGREG_KERNEL`` (``auto``, ``avx2`` or ``baseline``), read at import,
    forces one.

    Examples
    --------
    >>> import clogreg
    >>> clogreg.show_config()  # doctest: +ELLIPSIS
    clogreg 0.1.0
    kernel: ... (CLOGREG_KERNEL=...; AVX2 build available: ...)
    """
    import os

    from . import _dispatch

    print(f"clogreg {__version__}")
    print(f"kernel: {_dispatch.KERNEL_NAME} "
          f"(CLOGREG_KERNEL={os.environ.get('CLOGREG_KERNEL', 'auto')}; "
          f"AVX2 build available: {'yes' if _dispatch.avx2_module() else 'no'})")
