"""The popularity baseline: scores are the training label frequencies; `gnn-mlc evaluate` shows it by default."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gnn_mlc import LabelGCNClassifier, read_dataset
from gnn_mlc.cli import main
from gnn_mlc.evaluation import evaluate
from gnn_mlc.evaluation.baselines import PopularityBaseline


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
