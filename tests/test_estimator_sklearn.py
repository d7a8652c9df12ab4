"""LabelGCNClassifier follows scikit-learn's conventions: params, clone, fitted attributes, Pipeline, GridSearchCV."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from gnn_mlc import LabelGCNClassifier, read_dataset

FAST = {"max_epochs": 3, "hidden_channels": 32, "embedding_dim": 16}


def test_params_clone_and_fitted_attributes():
    model = LabelGCNClassifier(dropout=0.1, **FAST)
    params = model.get_params()
    assert params["dropout"] == 0.1 and params["use_graph"] is True
    copy = clone(model.set_params(tau=0.3))
    assert copy.get_params()["tau"] == 0.3 and copy is not model
    with pytest.raises(NotFittedError):
        model.predict(np.zeros((2, 3)))
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(120, 5)), (rng.random((120, 4)) < 0.3).astype(int)
    model.fit(X, Y)
    assert model.classes_.tolist() == ["l0", "l1", "l2", "l3"] and model.n_features_in_ == 5
    assert not hasattr(clone(model), "model_")  # clone copies parameters, not fitted state


def test_pipeline_and_grid_search_on_real_data(shared_datasets):
    data = read_dataset(shared_datasets / "emotions" / "emotions-train.arff")
    pipeline = make_pipeline(StandardScaler(), LabelGCNClassifier(random_state=0, **FAST))
    search = GridSearchCV(pipeline, {"labelgcnclassifier__use_graph": [True, False]}, scoring="f1_micro", cv=2)
    search.fit(data.X, data.Y)
    assert set(search.cv_results_["param_labelgcnclassifier__use_graph"]) == {True, False}
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert 0.3 < search.best_score_ <= 1.0
    assert search.predict(data.X[:5]).shape == (5, data.num_labels)
