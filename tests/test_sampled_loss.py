"""Sampled negatives: the weighted loss is an unbiased estimate of the full loss, equals it when every label is in
the batch, and trains through the estimator (not with known labels)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from gnn_mlc import LabelGCNClassifier
from gnn_mlc.training.loss import sample_label_columns


def test_the_weighted_sample_estimates_the_full_loss_without_bias():
    rng = np.random.default_rng(0)
    targets = sp.csr_matrix((rng.random((32, 200)) < 0.02).astype(np.uint8))
    logits = torch.from_numpy(rng.normal(size=(32, 200))).float()
    full = F.binary_cross_entropy_with_logits(logits, torch.from_numpy(targets.toarray()).float(),
                                              reduction="sum")
    generator = torch.Generator().manual_seed(0)
    estimates = []
    for _ in range(2000):
        columns, weights = sample_label_columns(targets, 16, generator)
        positive = np.flatnonzero(targets.toarray().any(axis=0))
        assert set(columns[: len(positive)].tolist()) == set(positive.tolist())
        losses = F.binary_cross_entropy_with_logits(logits[:, columns],
                                                    torch.from_numpy(targets[:, columns.numpy()].toarray()).float(),
                                                    reduction="none")
        estimates.append(float((losses * weights).sum()))
    assert weights[: len(positive)].eq(1).all() and torch.allclose(weights[len(positive):],
                                                                    torch.tensor((200 - len(positive)) / 16))
    standard_error = np.std(estimates) / np.sqrt(len(estimates))
    assert abs(np.mean(estimates) - float(full)) < 4 * standard_error


def _data(rows: int = 120, labels: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 5)).astype(np.float32)
    Y = (rng.random((rows, labels)) < 0.5).astype(np.uint8)
    return X, Y


def test_with_every_label_in_the_batch_it_is_the_full_loss():
    X, Y = _data()  # one batch of 120 rows holds every label: the sample adds nothing, every weight is 1
    settings = {"max_epochs": 3, "batch_size": 256, "hidden_channels": 8, "embedding_dim": 4, "dropout": 0.0,
                "random_state": 0, "device": "cpu"}
    full = LabelGCNClassifier(**settings).fit(X, Y)
    sampled = LabelGCNClassifier(**settings, negative_samples=3).fit(X, Y)
    np.testing.assert_allclose(sampled.predict_proba(X), full.predict_proba(X), rtol=1e-5, atol=1e-6)


def test_training_with_sampled_negatives_learns_and_combines_with_known_labels():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 8)).astype(np.float32)
    Y = (X[:, :4] @ rng.normal(size=(4, 60)) > 1.2).astype(np.uint8)  # 60 labels that follow the features
    model = LabelGCNClassifier(max_epochs=15, batch_size=64, negative_samples=8, random_state=0,
                               device="cpu").fit(X, Y)
    assert model.training_.best_validation > 0.5  # chance: about the labels' mean frequency, 0.24
    known = LabelGCNClassifier(negative_samples=8, max_epochs=1).fit(X, Y, known_labels="split")
    assert known.fitted_.known_term is not None  # the network trains apart from the term: the two combine
