"""Feature scaling: dense standardised, sparse scaled by column maximum and rows brought to the training mean norm;
the same rows score alike whether they come dense or sparse, through the estimator, a reloaded model or the Scorer."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
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


@pytest.mark.parametrize("norm_rows", [4096, 7])
def test_sparse_rows_reach_the_training_mean_norm(norm_rows, monkeypatch):
    import gnn_mlc.data.preprocessing as preprocessing

    monkeypatch.setattr(preprocessing, "NORM_ROWS", norm_rows)  # 7: a dense copy's norms summed in several blocks
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


def test_numeric_columns_before_items_are_standardised_apart_from_the_row_normalisation():
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(3)
    numeric = rng.normal(40, 9, (200, 2))
    items = sparse_counts(1, rows=200, columns=30)
    X = sp.hstack([sp.csr_matrix(numeric), items], format="csr")
    scaler = FeatureScaler.fit(X, dense_columns=2)
    transformed = scaler.transform(X)
    assert sp.isspmatrix_csr(transformed) and scaler.dense_columns == 2
    np.testing.assert_allclose(transformed[:, :2].toarray(), StandardScaler().fit_transform(numeric), atol=1e-5)
    alone = FeatureScaler.fit(items)  # the item block scales as it would without numeric columns
    np.testing.assert_allclose(transformed[:, 2:].toarray(), alone.transform(items).toarray(), rtol=1e-5)
    assert np.isclose(scaler.row_norm, alone.row_norm)
    # A dense copy of the same rows (as a reloaded model may get them) transforms alike.
    np.testing.assert_allclose(scaler.transform(X.toarray()), transformed.toarray(), rtol=1e-5, atol=1e-6)
    # A user's age does not shrink as their history grows.
    longer = X.copy().tolil()
    longer[0, 2:] = 5.0
    np.testing.assert_allclose(scaler.transform(longer.tocsr())[0, :2].toarray(), transformed[0, :2].toarray())


def test_item_columns_set_the_dense_block_and_travel_with_the_model(tmp_path):
    import pytest

    from gnn_mlc.data.items import ItemColumn
    from gnn_mlc.errors import DataError

    history = ItemColumn.fit(pa.array([["a", "b"], ["c"], ["a"], ["b", "c"]] * 25), name="h")
    rng = np.random.default_rng(0)
    X = sp.hstack([sp.csr_matrix(rng.normal(size=(100, 1))), history.transform(
        pa.array([["a", "b"], ["c"], ["a"], ["b", "c"]] * 25))[0]], format="csr")
    Y = (rng.random((100, 3)) < 0.4).astype(np.uint8)
    names = ["age", *history.feature_names]
    model = LabelGCNClassifier(**FAST, random_state=0).fit(X, Y, feature_names=names, item_columns=[history])
    assert model.scaler_.dense_columns == 1
    model.to_directory(tmp_path / "m")
    again = load_model(tmp_path / "m")
    assert again.scaler_.dense_columns == 1 and [c.name for c in again.item_columns_] == ["h"]
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))
    with pytest.raises(DataError, match="the feature names do not end with the item columns' features"):
        LabelGCNClassifier(**FAST).fit(X, Y, feature_names=["age", "x", "y", "z"], item_columns=[history])


def test_duplicate_sparse_entries_scale_as_their_sum():
    X = sparse_counts(2)
    indices, data, indptr = [], [], [0]
    for row in range(X.shape[0]):  # every entry stored twice, as two halves
        cells = slice(X.indptr[row], X.indptr[row + 1])
        indices += [*X.indices[cells], *X.indices[cells]]
        data += [*(X.data[cells] / 2), *(X.data[cells] / 2)]
        indptr.append(len(indices))
    stored_twice = sp.csr_matrix((np.asarray(data), np.asarray(indices), np.asarray(indptr)), shape=X.shape)
    assert stored_twice.nnz == 2 * X.nnz
    scaler = FeatureScaler.fit(X)
    np.testing.assert_allclose(FeatureScaler.fit(stored_twice).row_norm, scaler.row_norm, rtol=1e-6)
    np.testing.assert_allclose(scaler.transform(stored_twice).toarray(), scaler.transform(X).toarray(), rtol=1e-5)
