"""The tutorial's data: two iris classes, two features, standardised, 80/20 split.

Thin wrappers over scikit-learn's ``load_iris``, ``scale`` and ``train_test_split``.
"""
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import scale

#: The seed of the split used by ``python -m clogreg.demo`` (the tutorial gave none).
DEFAULT_SEED = 0


def load_tutorial_data(random_state=DEFAULT_SEED, test_size=0.2):
    """Return the tutorial's setosa-vs-versicolor split.

    The first 100 iris rows (50 setosa, label 0; 50 versicolor, label 1), their first
    two features (sepal length and width), standardised over all 100 rows with
    :func:`sklearn.preprocessing.scale`, then split by
    :func:`sklearn.model_selection.train_test_split`.

    Parameters
    ----------
    random_state : int, RandomState instance or None, default=DEFAULT_SEED (0)
        Seed of the split. The tutorial passed none, so its own split cannot be
        reproduced; 0 is this library's documented default.
    test_size : float, default=0.2
        Share of the rows held out for validation.

    Returns
    -------
    X_train, X_test, y_train, y_test : ndarray
        float64 features of shape (80, 2) and (20, 2), integer labels in {0, 1}.

    Examples
    --------
    >>> X_train, X_test, y_train, y_test = load_tutorial_data()
    >>> X_train.shape, X_test.shape
    ((80, 2), (20, 2))
    """
    iris = load_iris()
    X = scale(iris.data[:100, :2])
    y = iris.target[:100]
    return train_test_split(X, y, test_size=test_size, random_state=random_state)
