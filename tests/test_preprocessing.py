"""Feature scaling: dense standardised, sparse scaled by column maximum and rows brought to the training mean norm;
the same rows score alike whether they come dense or sparse, through the estimator, a reloaded model or the Scorer."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from gnn_mlc import LabelGCNClassifier, load_model
from gnn_mlc.data.preprocessing import FeatureScaler
from gnn_mlc.serving.scorer import Scorer

FAST = {"max_epochs": 2, "hidden_channels": 16, "embedding_dim": 8, "batch_size": 64}


def sparse_counts(seed: int, rows: int = 200, columns: int = 40) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    X = sp.random(rows, columns, density=0.15, format="csr", random_state=seed)
    X.data = rng.integers(1, 6, X.nnz).astype(np.float64)  # word counts
    return X


def test_sparse_rows_reach_the_training_mean_norm():
    X = sparse_counts(0)
    scaler = FeatureScaler.fit(X)
    column_scaled = X.toarray() / np.abs(X.toarray()).max(axis=0).clip(1e-12)
    norms = np.linalg.norm(column_scaled, axis=1)
    assert np.isclose(scaler.row_norm, norms[norms > 0].mean())
    transformed = scaler.transform(X)
    assert sp.issparse(transformed) and transformed.dtype == np.float32
    got = np.linalg.norm(transformed.toarray(), axis=1)
    np.testing.assert_allclose(got[norms > 0], scaler.row_norm, rtol=1e-5)
    np.testing.assert_allclose(transformed.toarray(), column_scaled / norms.clip(1e-12)[:, None] * scaler.row_norm,
                               rtol=1e-5, atol=1e-6)
    # A dense copy of the same rows is transformed the same way (the scaler remembers it was fitted on sparse rows).
    np.testing.assert_allclose(scaler.transform(X.toarray()), transformed.toarray(), rtol=1e-6, atol=1e-7)


def test_dense_features_are_standardised_without_row_normalisation():
    X = np.random.default_rng(1).normal(3.0, 2.0, size=(100, 5))
    scaler = FeatureScaler.fit(X)
    assert scaler.row_norm == 0.0
    np.testing.assert_allclose(scaler.transform(X), (X - X.mean(axis=0)) / X.std(axis=0), rtol=1e-5, atol=1e-5)


def test_sparse_trained_model_scores_alike_dense_reloaded_and_through_the_scorer(tmp_path):
    X = sparse_counts(2)
    Y = (np.random.default_rng(2).random((X.shape[0], 4)) < 0.3).astype(np.uint8)
    names = [f"w{j}" for j in range(X.shape[1])]
    model = LabelGCNClassifier(random_state=0, **FAST).fit(X, Y, feature_names=names)
    assert model.scaler_.row_norm > 0
    expected = model.predict_proba(X)
    np.testing.assert_allclose(model.predict_proba(X.toarray()), expected, rtol=1e-5, atol=1e-6)
    model.to_directory(tmp_path / "model")
    reloaded = load_model(tmp_path / "model")
    assert reloaded.scaler_.row_norm == model.scaler_.row_norm
    np.testing.assert_array_equal(reloaded.predict_proba(X), expected)
    dense = X.toarray()
    table = pa.table({"id": np.arange(X.shape[0]), **{name: dense[:, j] for j, name in enumerate(names)}})
    scored, _ = Scorer(tmp_path / "model", top_k=2).score_table(table)
    best = np.argsort(-expected, axis=1, kind="stable")[:, :2]
    np.testing.assert_allclose(np.array(scored.column("scores").to_pylist()), np.take_along_axis(expected, best, 1),
                               rtol=1e-5, atol=1e-6)
