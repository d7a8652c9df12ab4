"""The fitted model: one scoring rule, checked against a second code path, read the same by every caller."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import scipy.sparse as sp
import torch

from gnn_mlc import DataError, LabelGCNClassifier, Scorer
from gnn_mlc.evaluation.report import evaluate_classifier
from gnn_mlc.fitted import FittedModel
from gnn_mlc.model_directory import ModelParts, load_model_parts

FAST = {"max_epochs": 3, "hidden_channels": 16, "embedding_dim": 8, "batch_size": 64, "random_state": 0}


@pytest.fixture(scope="module")
def known_model():
    """A model fitted with known labels on rows whose labels come in three groups."""
    rng = np.random.default_rng(0)
    group = rng.integers(0, 3, 300)
    Y = np.zeros((300, 9), dtype=np.uint8)
    for row, taste in enumerate(group):
        Y[row, taste * 3 + rng.choice(3, 2, replace=False)] = 1
    X = rng.normal(size=(300, 4)).astype(np.float32)
    known = np.zeros_like(Y)
    known[np.arange(300), Y.argmax(axis=1)] = 1
    targets = Y - known
    names = [f"f{j}" for j in range(4)]
    model = LabelGCNClassifier(**FAST).fit(X, targets, known_labels=known, feature_names=names)
    return model, X, known


def test_the_rule_equals_the_dense_formula_through_the_training_module(known_model):
    """``alpha (h(scale(x)) W^T + b) + scale_k * known @ B + bias_k``, with the torch module's unfolded encoder and
    a dense NumPy product; a row without history gets the network's logits alone."""
    model, X, known = known_model
    fitted, term = model.fitted_, model.fitted_.known_term
    with torch.no_grad():
        h = model.model_.encoder(torch.from_numpy(fitted.scaler.transform(X)).float()).numpy()
    network = h @ fitted.label_embeddings.T + fitted.label_bias
    assert isinstance(term.matrix, np.ndarray)
    weights = (term.matrix * np.float32(term.scale)).astype(np.float16)  # a dense scale * B is held in float16
    evidence = known @ weights.astype(np.float64)
    expected = term.network_weight * network + term.bias + evidence
    known = known.copy()
    known[:5] = 0  # no history
    expected[:5] = network[:5]
    rounding = np.abs(evidence) * 2.0**-11  # each sum is rounded once to float16
    rounding[:5] = 0.0
    assert np.all(np.abs(model.decision_function(X, known_labels=known) - expected) <= 1e-4 + rounding)


def test_a_dense_term_is_scored_in_float16_unless_its_sums_could_overflow():
    from gnn_mlc.fitted import HALF_TERM_BOUND, _term_tensor

    small = np.full((4, 4), 0.25, dtype=np.float32)
    assert _term_tensor(small, 3.0).dtype == torch.float16
    np.testing.assert_array_equal(_term_tensor(small, 3.0).numpy(), 0.75)  # the scale is in the weights
    large = np.zeros((4, 4), dtype=np.float32)
    large[:, 2] = HALF_TERM_BOUND / 8  # times the scale 2, a history of all four labels would sum to the bound
    assert _term_tensor(large, 1.0).dtype == torch.float16
    assert _term_tensor(large, -2.0).dtype == torch.float32
    assert _term_tensor(sp.csr_matrix(small), 3.0).dtype == torch.float32  # a sparse B keeps float32


def test_the_term_is_converted_in_blocks_and_its_float32_fallback_scores_as_the_rule_says(known_model, monkeypatch):
    from dataclasses import replace

    import gnn_mlc.fitted as fitted_module

    model, X, known = known_model
    term = model.fitted_.known_term
    whole = fitted_module._term_tensor(term.matrix, term.scale)
    monkeypatch.setattr(fitted_module, "TERM_BLOCK_ROWS", 2)  # 5 blocks of a (9, 9) term, the last one short
    assert torch.equal(fitted_module._term_tensor(term.matrix, term.scale), whole)
    scale = 2 * fitted_module.HALF_TERM_BOUND / np.abs(term.matrix).sum(axis=0).max()  # sums could reach 2x the bound
    loud = replace(model.fitted_, known_term=replace(term, scale=scale))
    assert loud.on_device("cpu").known.dtype == torch.float32
    rows = np.flatnonzero(known.sum(axis=1) > 0)
    logits = loud.logits(X[rows], known=sp.csr_matrix(known[rows])).numpy()
    with torch.no_grad():
        h = model.model_.encoder(torch.from_numpy(model.fitted_.scaler.transform(X[rows])).float()).numpy()
    network = h @ model.fitted_.label_embeddings.T + model.fitted_.label_bias
    expected = term.network_weight * network + term.bias + scale * known[rows] @ term.matrix.astype(np.float64)
    np.testing.assert_allclose(logits, expected, rtol=1e-5, atol=1e-2)  # float32 sums of weights of ~1e4


def test_known_labels_with_int64_indices_give_the_same_evidence(known_model):
    model, X, known = known_model
    narrow = sp.csr_matrix(known)
    wide = narrow.copy()
    wide.indices, wide.indptr = wide.indices.astype(np.int64), wide.indptr.astype(np.int64)
    np.testing.assert_array_equal(model.fitted_.logits(X, known=wide).numpy(),
                                  model.fitted_.logits(X, known=narrow).numpy())


def test_rows_scored_in_blocks_are_the_rows_scored_at_once(known_model, monkeypatch):
    import gnn_mlc.fitted as fitted_module

    model, X, known = known_model
    whole = model.fitted_.decision_function(X, known=known, device="cpu")
    monkeypatch.setattr(fitted_module, "SCORING_ROWS", 7)  # 43 blocks, the last one short
    blocks = model.fitted_.decision_function(X, known=known, device="cpu")
    np.testing.assert_allclose(blocks, whole, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(model.fitted_.predict_proba(X, known=known, device="cpu"),
                               1 / (1 + np.exp(-whole.astype(np.float64))), rtol=1e-5, atol=1e-6)
    assert model.fitted_.decision_function(X[:0], device="cpu").shape == (0, len(model.classes_))


def test_estimator_scorer_and_evaluation_share_the_rule(known_model, tmp_path):
    model, X, known = known_model
    model.to_directory(tmp_path / "m")
    logits = model.decision_function(X, known_labels=known)
    scorer = Scorer(tmp_path / "m", known_column="owned", device="cpu", top_k=5)
    rows, labels = np.nonzero(known)
    np.testing.assert_array_equal(scorer.logits(X, known=(rows, labels)).numpy(), logits)
    loaded = load_model_parts(tmp_path / "m")
    np.testing.assert_array_equal(loaded.decision_function(X, known=known, device="cpu"), logits)
    table = pa.table({"id": np.arange(len(X)), **{f"f{j}": X[:, j] for j in range(4)},
                      "owned": [[f"l{label}" for label in np.flatnonzero(row)] for row in known]})
    top = scorer.score_table(table)[0]
    ranked = -np.sort(-np.where(known > 0, -np.inf, logits), axis=1)[:, :5]  # ties may take either label
    np.testing.assert_allclose(np.array(top.column("scores").to_pylist()), 1 / (1 + np.exp(-ranked)), rtol=1e-6)


def test_evaluation_reads_a_fitted_model_and_an_estimator_alike(known_model):
    from gnn_mlc.data import Dataset

    model, X, known = known_model
    Y = (model.predict_proba(X, known_labels=known) > 0.5).astype(np.uint8)
    data = Dataset(X=X, Y=Y, feature_names=[f"f{j}" for j in range(4)], label_names=list(model.classes_),
                   known=sp.csr_matrix(known), source="rows")
    first = evaluate_classifier(model, data, name="estimator").metrics
    second = evaluate_classifier(model.fitted_, data, name="fitted").metrics
    assert first == second and first["map"] > 0.5


def test_known_labels_for_a_model_without_the_term_are_refused():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(40, 3)).astype(np.float32), (rng.random((40, 4)) < 0.4).astype(np.uint8)
    model = LabelGCNClassifier(**FAST).fit(X, Y)
    with pytest.raises(DataError, match="this model was not fitted with known labels"):
        model.predict_proba(X, known_labels=Y)


def test_with_labels_grows_every_part_and_keeps_the_old_scores(known_model):
    model, X, known = known_model
    fitted = model.fitted_
    grown = fitted.with_labels(list(fitted.label_names) + ["new"])
    assert grown.num_labels == fitted.num_labels + 1 and grown.label_sources[-1] == "none"
    assert grown.cooccurrence.shape == (grown.num_labels,) * 2 and grown.graph_rows[1].shape[1] == grown.num_labels
    assert grown.decision_rule.thresholds[-1] == fitted.decision_rule.default
    np.testing.assert_array_equal(grown.decision_function(X, known=np.c_[known, np.zeros(len(X))], device="cpu")[:, :-1],
                                  fitted.decision_function(X, known=known, device="cpu"))
    with pytest.raises(DataError, match="must start with the model's own labels"):
        fitted.with_labels(["other"])


def test_model_parts_is_the_fitted_model():
    assert ModelParts is FittedModel
