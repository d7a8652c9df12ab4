"""The baselines: popularity (the training label frequencies, shown by default), ItemKNN and EASE^R from the
model's co-occurrence counts (equal to their formulas), the history anchor; evaluate's --ks, --baseline and the
breakdown by label source."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp

from gnn_mlc import GnnMlcError, LabelGCNClassifier, read_dataset
from gnn_mlc.cli import main
from gnn_mlc.evaluation import evaluate
from gnn_mlc.evaluation.baselines import (
    PopularityBaseline,
    ease_baseline,
    history_baseline,
    itemknn_baseline,
)


def test_popularity_scores_are_training_frequencies_and_decisions_the_most_popular():
    baseline = PopularityBaseline(["a", "b", "c", "d"], np.array([6, 1, 3, 0]), num_rows=6)
    scores = baseline.predict_proba(np.zeros((2, 5)))
    np.testing.assert_allclose(scores, [[1.0, 1 / 6, 0.5, 0.0]] * 2, rtol=1e-6)
    assert baseline.decision_rule.k == 2  # 10 positives over 6 rows: cardinality 1.67 -> 2 labels a row
    np.testing.assert_array_equal(baseline.decision_rule.decide(scores), [[1, 0, 1, 0]] * 2)


def test_evaluate_shows_popularity_beside_the_models(tmp_path, demo_train, demo_test, capsys):
    data = read_dataset(demo_train)
    LabelGCNClassifier(max_epochs=1, hidden_channels=16, embedding_dim=8).fit(
        data.X, data.Y, label_names=data.label_names, feature_names=data.feature_names).to_directory(tmp_path / "m")
    assert main(["evaluate", "--model", str(tmp_path / "m"), "--data", str(demo_test), "--output",
                 str(tmp_path / "report")]) == 0
    printed = capsys.readouterr().out
    assert "| metric | m | popularity |" in printed
    results = json.loads((tmp_path / "report" / "metrics.json").read_text())
    test = read_dataset(demo_test)
    test = test.without_labels([name for name in test.label_names if name not in data.label_names])
    test = test.align(data.label_names, data.feature_names)  # the new interests are left out: the model lacks them
    frequency = data.Y.sum(axis=0) / data.num_rows
    scores = np.tile(frequency, (test.num_rows, 1))
    reference = evaluate(test.Y, scores, y_pred=PopularityBaseline(data.label_names, data.Y.sum(axis=0),
                                                                   data.num_rows).decision_rule.decide(scores),
                         train_counts=data.Y.sum(axis=0))
    for metric in ("map", "p@5", "ndcg@5", "micro_f1"):
        assert results["popularity"][metric] == pytest.approx(reference[metric], abs=1e-6), metric
    assert main(["evaluate", "--model", str(tmp_path / "m"), "--data", str(demo_test), "--baseline", "none"]) == 0
    assert "popularity" not in capsys.readouterr().out


class _Counts:
    """The fitted counts the item-item baselines read: 3 labels, G = [[3, 2, 0], [2, 2, 0], [0, 0, 1]]."""

    label_names = ["a", "b", "c"]
    label_counts = np.array([3, 2, 1])
    num_rows = 4
    feature_names = None
    cooccurrence = sp.csr_matrix(np.array([[3, 2, 0], [2, 2, 0], [0, 0, 1]]))


def test_itemknn_is_the_cosine_of_the_cooccurrence_counts():
    baseline = itemknn_baseline(_Counts())
    expected = np.array([[0, 2 / np.sqrt(6), 0], [2 / np.sqrt(6), 0, 0], [0, 0, 0]])
    np.testing.assert_allclose(baseline.weights.toarray(), expected, rtol=1e-6)
    scores = baseline.predict_proba(np.zeros((2, 1)), known=sp.csr_matrix([[1, 0, 0], [0, 0, 0]]))
    assert scores[0].argmax() == 1 and scores[1].argmax() == 0  # no history: popularity


def test_ease_is_the_closed_form():
    G = _Counts.cooccurrence.toarray().astype(float)
    P = np.linalg.inv(G + 100 * np.eye(3))
    B = -P / np.diag(P)  # B_jt = -P_jt / P_tt off the diagonal
    np.fill_diagonal(B, 0)
    np.testing.assert_allclose(ease_baseline(_Counts()).weights, B, rtol=1e-5, atol=1e-8)
    with pytest.raises(GnnMlcError, match=r"baseline: itemknn, ease and history score a row from its known labels"):
        ease_baseline(_Counts()).predict_proba(np.zeros((1, 1)))


def test_history_ranks_the_known_labels_first_and_counts_them():
    baseline = history_baseline(_Counts())
    scores = baseline.predict_proba(np.zeros((1, 1)), known=sp.csr_matrix([[0, 0, 1]]))
    assert scores[0].argsort()[::-1].tolist() == [2, 0, 1] and baseline.counts_known


def _history_table(rows: int = 240) -> pa.Table:
    rng = np.random.default_rng(0)
    taste = rng.integers(0, 3, rows)  # three tastes: labels t0a/t0b, t1a/t1b, t2a/t2b
    labels = [[f"t{t}a", f"t{t}b"] if rng.random() < 0.5 else [f"t{t}b"] for t in taste]
    history = [[f"t{t}a"] if rng.random() < 0.7 else [] for t in taste]
    return pa.table({"x": rng.normal(size=rows) + taste, "history": history, "labels": labels})


def test_evaluate_ks_baselines_and_label_sources(tmp_path, capsys):
    pq.write_table(_history_table(), tmp_path / "d.parquet")
    assert main(["train", "--data", str(tmp_path / "d.parquet"), "--output", str(tmp_path / "m"), "--quiet",
                 "--epochs", "2", "--hidden-channels", "8", "--embedding-dim", "4", "--exclude-columns",
                 "history"]) == 0
    assert main(["evaluate", "--model", str(tmp_path / "m"), "--data", str(tmp_path / "d.parquet"), "--ks", "2,5",
                 "--baseline", "popularity,itemknn,ease,history", "--known-column", "history", "--output",
                 str(tmp_path / "report")]) == 0
    out = capsys.readouterr().out
    assert "| r@2 |" in out and "| ndcg@5 |" in out and "history: each row's known labels ranked first" in out
    metrics = json.loads((tmp_path / "report" / "metrics.json").read_text())
    assert set(metrics) == {"m", "popularity", "itemknn", "ease", "history"}
    assert all("r@2" in figures and "ndcg@5" in figures for figures in metrics.values())
    sources = metrics["m"]["by_source"]
    assert sources[0]["source"] == "trained" and sources[0]["labels"] == 6 and sources[0]["top_k_share"] == 1.0
    assert "by the source of their vectors (top-5 slots)" in (tmp_path / "report" / "metrics.md").read_text()
    assert metrics["itemknn"]["p@2"] > metrics["popularity"]["p@2"]  # the history tells the taste
    assert main(["evaluate", "--model", str(tmp_path / "m"), "--data", str(tmp_path / "d.parquet"), "--baseline",
                 "itemknn"]) == 2
    assert "error: --baseline itemknn: scores a row from its known labels and the data has none; expected " \
           "--known-column" in capsys.readouterr().err


def test_only_labels_leaves_the_other_labels_out_of_every_figure():
    from gnn_mlc.data import Dataset
    from gnn_mlc.evaluation.report import evaluate_classifier

    data = Dataset.from_arrays(np.zeros((2, 1)), np.array([[0, 1, 0], [0, 1, 1]]), label_names=["a", "b", "c"])
    popularity = PopularityBaseline(["a", "b", "c"], np.array([6, 1, 3]), num_rows=6)  # ranks a, c, b
    alone = evaluate_classifier(popularity, data, name="p", ks=(1,))
    shared = evaluate_classifier(popularity, data, name="p", ks=(1,), only_labels=["b", "c"])
    assert alone.metrics["p@1"] == 0.0 and shared.metrics["p@1"] == 0.5  # 'a' takes no slot: c first, then b
