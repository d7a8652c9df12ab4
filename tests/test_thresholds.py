"""Decision strategies: exact thresholds on hand-built scores, and per-label tuning on real data."""

from __future__ import annotations

import numpy as np
import pytest

from gnn_mlc import DataError, LabelGCNClassifier, evaluate, read_dataset
from gnn_mlc.thresholds import (
    DecisionRule,
    best_f1_threshold,
    cardinality_threshold,
    fit_decision_rule,
)


def test_best_f1_threshold_by_hand():
    y_true = np.array([1, 1, 0, 1, 0, 0])
    y_score = np.array([0.9, 0.8, 0.7, 0.6, 0.3, 0.1])
    # Cuts: top1 F1=2/4, top2 4/5, top3 4/6, top4 6/7 (best), top5 6/8, top6 6/9 -> between 0.6 and 0.3.
    assert best_f1_threshold(y_true, y_score) == pytest.approx(0.45)
    # Tied scores are one cut: {0.9} gives F1 2/3, {0.9, 0.8, 0.8} gives 4/5, so both 0.8 rows are accepted.
    tied = best_f1_threshold(np.array([1, 1, 0]), np.array([0.9, 0.8, 0.8]))
    assert 0.79 < tied <= 0.8
    no_positive = best_f1_threshold(np.array([0, 0]), np.array([0.2, 0.4]))
    assert no_positive > 0.4


def test_cardinality_threshold_gives_the_cardinality():
    y_score = np.random.default_rng(0).random((100, 10))
    threshold = cardinality_threshold(y_score, 2.5)
    assert (y_score >= threshold).sum() / 100 == pytest.approx(2.5)


def test_strategies_decide_as_documented():
    rng = np.random.default_rng(1)
    y_true = (rng.random((200, 4)) < 0.3).astype(np.uint8)
    y_score = np.clip(y_true * 0.3 + rng.random((200, 4)) * 0.6, 0, 1)
    fixed = fit_decision_rule(y_true, y_score, strategy="fixed", threshold=0.4)
    np.testing.assert_array_equal(fixed.decide(y_score), y_score >= 0.4)
    one = fit_decision_rule(y_true, y_score, strategy="global")
    assert len(set(one.thresholds.tolist())) == 1
    assert one.thresholds[0] == pytest.approx(best_f1_threshold(y_true.ravel(), y_score.ravel()))
    per_label = fit_decision_rule(y_true, y_score, strategy="per_label")
    for label in range(4):
        assert per_label.thresholds[label] == pytest.approx(best_f1_threshold(y_true[:, label], y_score[:, label]))
    top = fit_decision_rule(y_true, y_score, strategy="top_k", k=2)
    assert (top.decide(y_score).sum(axis=1) == 2).all()
    pcut = fit_decision_rule(y_true, y_score, strategy="pcut", train_cardinality=1.0)
    assert pcut.decide(y_score).sum() / 200 == pytest.approx(1.0)


def test_per_label_falls_back_to_global_for_rare_labels():
    y_true = np.zeros((50, 2), dtype=np.uint8)
    y_true[:20, 0] = 1
    y_true[0, 1] = 1  # one positive: too few to tune
    y_score = np.random.default_rng(2).random((50, 2))
    rule = fit_decision_rule(y_true, y_score, strategy="per_label", min_positives=3)
    assert rule.thresholds[1] == pytest.approx(best_f1_threshold(y_true.ravel(), y_score.ravel()))


def test_at_least_one_label():
    rule = DecisionRule(strategy="fixed", thresholds=np.full(3, 0.9, dtype=np.float32), at_least_one=True)
    decisions = rule.decide(np.array([[0.1, 0.5, 0.2], [0.95, 0.1, 0.99]]))
    np.testing.assert_array_equal(decisions, [[0, 1, 0], [1, 0, 1]])


def test_rule_json_roundtrip_and_validation():
    rule = DecisionRule(strategy="per_label", thresholds=np.array([0.2, 0.7], dtype=np.float32), k=3)
    back = DecisionRule.from_json(rule.to_json(), num_labels=2)
    np.testing.assert_array_equal(back.thresholds, rule.thresholds)
    assert back.strategy == "per_label" and back.k == 3
    with pytest.raises(DataError, match=r"expected one of fixed, global, per_label, pcut, top_k, 3 finite"):
        DecisionRule.from_json({**rule.to_json(), "thresholds": [0.1, 0.2]}, num_labels=3)
    with pytest.raises(DataError, match=r"strategy: got 'magic'"):
        fit_decision_rule(np.zeros((2, 2)), np.zeros((2, 2)), strategy="magic")


def test_per_label_tuning_raises_macro_f1_over_half_on_yeast(shared_datasets):
    train = read_dataset(shared_datasets / "yeast" / "yeast-train.arff")
    test = read_dataset(shared_datasets / "yeast" / "yeast-test.arff")
    common = {"random_state": 0, "max_epochs": 30, "hidden_channels": 64, "embedding_dim": 32}
    fixed = LabelGCNClassifier(threshold_strategy="fixed", **common).fit(train.X, train.Y)
    tuned = LabelGCNClassifier(threshold_strategy="per_label", **common).fit(train.X, train.Y)
    scores = fixed.predict_proba(test.X)
    np.testing.assert_array_equal(scores, tuned.predict_proba(test.X))  # same model, only the decisions differ
    at_half = evaluate(test.Y, scores, y_pred=fixed.predict(test.X))["macro_f1"]
    per_label = evaluate(test.Y, scores, y_pred=tuned.predict(test.X))["macro_f1"]
    assert per_label > at_half + 0.03, (at_half, per_label)
