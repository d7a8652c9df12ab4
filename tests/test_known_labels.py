"""Known labels: the EASE^R weights, the message-passing term, training with them, and every path that scores."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp
import torch

from gnn_mlc import DataError, LabelGCNClassifier, Scorer, load_model
from gnn_mlc.cli import main
from gnn_mlc.evaluation import evaluate
from gnn_mlc.nn.label_propagation import KnownLabelTerm
from gnn_mlc.training.known_labels import ease_weights, random_known_split

FAST = {"max_epochs": 8, "hidden_channels": 32, "embedding_dim": 16, "batch_size": 64, "random_state": 0}


def test_ease_weights_solve_one_ridge_regression_per_label():
    rng = np.random.default_rng(0)
    X = (rng.random((60, 6)) < 0.4).astype(np.float64)
    B = ease_weights(sp.csr_matrix(X), 3.0)
    assert np.all(np.diag(B) == 0)
    for j in range(6):  # column j: label j regressed on the others with penalty 3 (Steck 2019's definition)
        others = np.delete(np.arange(6), j)
        ridge = np.linalg.solve(X[:, others].T @ X[:, others] + 3.0 * np.eye(5), X[:, others].T @ X[:, j])
        np.testing.assert_allclose(B[others, j], ridge, rtol=1e-8, atol=1e-10)


def test_the_known_label_term_is_messages_from_known_labels_to_candidates():
    edge_index = torch.tensor([[0, 0, 1, 2], [1, 2, 2, 0]])  # known j -> candidate t
    weight = torch.tensor([0.5, -1.0, 2.0, 3.0])
    term = KnownLabelTerm(edge_index, weight, 3)
    with torch.no_grad():
        term.scale.fill_(2.0)
    known = torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    dense = torch.zeros(3, 3)
    dense[edge_index[0], edge_index[1]] = weight  # [j, t]
    torch.testing.assert_close(term(known), 2.0 * known @ dense)
    plain = term.propagate(edge_index, x=known.t(), edge_weight=weight, size=(3, 3)).t()  # message() path
    torch.testing.assert_close(2.0 * plain, term(known))


def _baskets(seed: int = 0):
    """Rows whose labels come from 3 latent tastes; the features are pure noise, so only known labels can help."""
    rng = np.random.default_rng(seed)
    taste = rng.integers(0, 3, 900)
    Y = np.zeros((900, 12), dtype=np.uint8)
    for row, group in enumerate(taste):
        Y[row, group * 4 + rng.choice(4, 3, replace=False)] = 1
        Y[row, rng.integers(0, 12)] = 1
    return rng.normal(size=(900, 5)).astype(np.float32), Y


def _ndcg(model, X, known, targets, *, with_known: bool) -> float:
    scores = model.predict_proba(X, known_labels=known if with_known else None)
    return evaluate(targets, scores, ks=(10,), missing=known)["ndcg@10"]


@pytest.fixture(scope="module")
def known_model():
    X, Y = _baskets()
    model = LabelGCNClassifier(**FAST).fit(X[:700], Y[:700], known_labels="split",
                                           feature_names=[f"f{j}" for j in range(5)])
    known = random_known_split(sp.csr_matrix(Y[700:]), np.random.default_rng(1)).toarray()
    return model, X[700:], known, Y[700:] - known


def test_known_labels_are_used_as_evidence(known_model):
    model, X, known, targets = known_model
    assert _ndcg(model, X, known, targets, with_known=True) > _ndcg(model, X, known, targets, with_known=False) + 0.2
    assert model.training_.validation_metric == "ndcg@10"
    with pytest.raises(DataError, match=r"known_labels: shape \(200, 3\); expected \(200, 12\)"):
        model.predict_proba(X, known_labels=known[:, :3])
    plain = LabelGCNClassifier(**FAST).fit(X, targets)
    with pytest.raises(DataError, match=r"this model was not fitted with known labels"):
        plain.predict_proba(X, known_labels=known)


def test_the_term_survives_the_directory_and_the_scorer_ranks_like_the_model(known_model, tmp_path):
    model, X, known, _ = known_model
    model.to_directory(tmp_path / "m")
    reloaded = load_model(tmp_path / "m")
    np.testing.assert_array_equal(reloaded.predict_proba(X, known_labels=known), model.predict_proba(X, known_labels=known))
    names = np.asarray(model.classes_, dtype=object)
    table = pa.table({"id": pa.array(np.arange(len(X))), **{f"f{j}": pa.array(X[:, j]) for j in range(5)},
                      "owned": pa.array([list(names[row > 0]) for row in known], pa.list_(pa.string()))})
    scores = model.predict_proba(X, known_labels=known)
    expected = [[names[j] for j in np.argsort(-row, kind="stable") if not owned[j]][:4]
                for row, owned in zip(scores, known)]
    scored, _ = Scorer(tmp_path / "m", top_k=4, known_column="owned", device="cpu").score_table(table)
    assert scored.column("labels").to_pylist() == expected  # known labels are evidence and never recommended
    kept, _ = Scorer(tmp_path / "m", top_k=12, known_column="owned", keep_known=True, device="cpu").score_table(table)
    assert all(len(row) == 12 for row in kept.column("labels").to_pylist())
    np.testing.assert_allclose(np.sort(np.array(kept.column("scores").to_pylist()), axis=1)[:, ::-1],
                               np.sort(scores, axis=1)[:, ::-1], rtol=1e-5, atol=1e-6)


def test_the_command_line_trains_scores_and_evaluates_with_a_known_column(tmp_path, capsys):
    X, Y = _baskets(2)
    known = random_known_split(sp.csr_matrix(Y), np.random.default_rng(3)).toarray()
    names = np.array([f"item{j}" for j in range(12)], dtype=object)

    def table(rows: slice) -> pa.Table:
        return pa.table({"id": pa.array([f"u{i}" for i in range(900)][rows]),
                         **{f"f{j}": pa.array(X[rows, j]) for j in range(5)},
                         "history": pa.array([list(names[row > 0]) for row in known[rows]], pa.list_(pa.string())),
                         "labels": pa.array([list(names[row > 0]) for row in (Y - known)[rows]],
                                            pa.list_(pa.string()))})

    pq.write_table(table(slice(0, 700)), tmp_path / "train.parquet")
    pq.write_table(table(slice(700, 900)), tmp_path / "test.parquet")
    assert main(["train", "--data", str(tmp_path / "train.parquet"), "--output", str(tmp_path / "m"),
                 "--known-column", "history", "--max-epochs", "5", "--quiet"]) == 0
    assert "validation ndcg@10" in capsys.readouterr().out
    assert main(["evaluate", "--model", str(tmp_path / "m"), "--data", str(tmp_path / "test.parquet"),
                 "--known-column", "history", "--output", str(tmp_path / "report")]) == 0
    assert main(["score", "--model", str(tmp_path / "m"), "--input", str(tmp_path / "test.parquet"),
                 "--output", str(tmp_path / "recs"), "--known-column", "history", "--top-k", "3", "--quiet"]) == 0
    recommended = pq.read_table(tmp_path / "recs").column("labels").to_pylist()
    history = pq.read_table(tmp_path / "test.parquet").column("history").to_pylist()
    assert all(not set(rec) & set(owned) for rec, owned in zip(recommended, history))
