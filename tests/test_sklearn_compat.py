"""scikit-learn's own estimator checks, and use inside scikit-learn's tools."""
import pickle

import joblib
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from clogreg import LogisticRegression

# "sgd" is left out: a stochastic solver cannot pass check_sample_weight_equivalence
# (repeating rows changes the mini-batches; scikit-learn's own SGDClassifier is marked
# as failing it). tests/test_solvers.py checks "sgd" against gradient descent exactly.
ESTIMATORS = [LogisticRegression(solver=solver)
              for solver in ("auto", "gd", "lbfgs", "newton")]


# Some checks fit unscaled data with the default max_iter, where any solver may stop
# early (scikit-learn's own LogisticRegression warns there too): that warning is
# expected; every other warning still fails the test.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(ESTIMATORS)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


@pytest.fixture
def iris():
    return load_iris(return_X_y=True)


def test_pipeline_grid_search_and_cross_validation(iris):
    X, y = iris
    pipe = make_pipeline(StandardScaler(), LogisticRegression(solver="lbfgs"))
    scores = cross_val_score(pipe, X, y, cv=5)
    assert scores.mean() > 0.9
    search = GridSearchCV(pipe, {"logisticregression__C": [0.1, 1.0, 10.0]}, cv=3).fit(X, y)
    assert search.best_params_["logisticregression__C"] in (0.1, 1.0, 10.0)
    assert search.predict(X).shape == y.shape


def test_clone_pickle_and_joblib_round_trip(iris, tmp_path):
    X, y = iris
    clf = LogisticRegression(C=2.0, solver="lbfgs", max_iter=1000).fit(X, y)
    assert clone(clf).get_params() == clf.get_params()
    assert not hasattr(clone(clf), "coef_")
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    joblib.dump(clf, tmp_path / "model.joblib")
    loaded = joblib.load(tmp_path / "model.joblib")
    np.testing.assert_array_equal(loaded.decision_function(X), clf.decision_function(X))


def test_dataframe_input_sets_feature_names(iris):
    pd = pytest.importorskip("pandas")
    X, y = iris
    frame = pd.DataFrame(X, columns=["sl", "sw", "pl", "pw"])
    clf = LogisticRegression(solver="lbfgs", max_iter=1000).fit(frame, y)
    assert list(clf.feature_names_in_) == ["sl", "sw", "pl", "pw"]
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        np.testing.assert_array_equal(clf.predict(frame), clf.predict(X))
    with pytest.raises(ValueError, match="Feature names unseen at fit time"):
        clf.predict(frame.rename(columns={"pw": "petal width"}))
