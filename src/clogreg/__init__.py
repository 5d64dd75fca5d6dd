"""clogreg: logistic regression with a Cython core, under scikit-learn's API.

>>> from clogreg import LogisticRegression, load_tutorial_data
>>> X_train, X_test, y_train, y_test = load_tutorial_data()
>>> clf = LogisticRegression(C=float("inf"), solver="gd", learning_rate=0.1,
...                          max_iter=20, tol=0)
>>> round(float(clf.fit(X_train, y_train).history_["loss"][0]), 4)
55.4518
"""
from ._data import DEFAULT_SEED, load_tutorial_data
from ._estimator import LogisticRegression

__version__ = "0.1.0"
__all__ = ["LogisticRegression", "load_tutorial_data", "DEFAULT_SEED", "__version__"]
