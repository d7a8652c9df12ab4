"""Models: a GCN layer on our graph equals the dense formula; W is computed once at inference; shared interface."""

from __future__ import annotations

import copy

import numpy as np
import torch

from gnn_mlc import build_label_graph
from gnn_mlc._torch import predict_logits
from gnn_mlc.nn import IndependentLabelModel, LabelGCNModel, score_logits

Y = np.array([[1, 1, 0, 0, 1], [1, 0, 1, 0, 0], [1, 1, 1, 0, 0], [0, 1, 0, 1, 0], [1, 0, 0, 1, 1]])
NAMES = ["a", "b", "c", "d", "e"]


def dense_propagation(adjacency: np.ndarray) -> np.ndarray:
    """D^-1/2 (A + I) D^-1/2 with A[target, source] (messages flow source -> target)."""
    A = adjacency.T + np.eye(adjacency.shape[0])
    d = A.sum(axis=1) ** -0.5
    return d[:, None] * A * d[None, :]


def make_gcn(weighting: str, num_layers: int = 1) -> tuple[LabelGCNModel, np.ndarray]:
    graph = build_label_graph(Y, NAMES, weighting=weighting, tau=0.3, p=0.25)
    edge_index, edge_weight = graph.edge_index()
    torch.manual_seed(0)
    model = LabelGCNModel(7, 5, edge_index, edge_weight, hidden_channels=16, embedding_dim=8,
                          num_gcn_layers=num_layers, dropout=0.0)
    return model, graph.adjacency.toarray()


def test_gcn_layers_equal_dense_formula():
    for weighting in ("mlgcn", "probability"):
        for num_layers in (1, 2):
            model, adjacency = make_gcn(weighting, num_layers)
            propagation = dense_propagation(adjacency.astype(np.float64))
            expected = model.label_features.detach().double().numpy()
            for _ in range(num_layers):
                expected = propagation @ expected
            with torch.no_grad():
                got = model.label_embeddings().double().numpy()
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
            assert not np.allclose(propagation, np.eye(5))  # the graph has edges: the check is not trivial


def test_gcn_model_logits_follow_the_scoring_rule():
    model, _ = make_gcn("mlgcn", num_layers=2)
    model.eval()
    x = torch.randn(3, 7)
    with torch.no_grad():
        expected = model.encoder(x) @ model.label_embeddings().T + model.bias
        torch.testing.assert_close(model(x), expected)
        torch.testing.assert_close(score_logits(model.encoder(x), model.label_embeddings(), model.bias), expected)


def test_label_embeddings_are_computed_once_at_inference(monkeypatch):
    model, _ = make_gcn("mlgcn", num_layers=2)
    calls = []
    original = model.label_embeddings
    monkeypatch.setattr(model, "label_embeddings", lambda: calls.append(1) or original())
    X = np.random.default_rng(0).normal(size=(50, 7)).astype(np.float32)
    batched = predict_logits(model, X, batch_size=4, device=torch.device("cpu"))  # 13 batches
    assert len(calls) == 1
    with torch.no_grad():
        one_shot = model(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(batched, one_shot, rtol=1e-5, atol=1e-6)


def test_independent_model_shares_the_interface():
    torch.manual_seed(0)
    model = IndependentLabelModel(7, 5, hidden_channels=16, embedding_dim=8, dropout=0.0).eval()
    x = torch.randn(3, 7)
    assert model.label_embeddings().shape == (5, 8) and model.bias.shape == (5,)
    with torch.no_grad():
        torch.testing.assert_close(model(x), score_logits(model.encoder(x), model.label_embeddings(), model.bias))


def test_sparse_and_dense_inputs_give_the_same_logits():
    model, _ = make_gcn("mlgcn")
    model.eval()
    x = torch.randn(4, 7) * (torch.rand(4, 7) > 0.6)
    with torch.no_grad():
        torch.testing.assert_close(model(x.to_sparse()), model(x), rtol=1e-5, atol=1e-6)


def test_positive_weights_follow_the_formula_and_skip_unknown_values():
    from gnn_mlc.training import positive_weights

    labels = np.array([[1, 0, 0, 1], [0, 0, 1, 1], [0, 0, 0, 1], [1, 0, 0, 1]])
    # label 0: 2 of 4 positive -> 1; label 1: none -> 1; label 2: 1 of 4 -> 3 ** 0.5; label 3: always -> max(1, 0) = 1
    np.testing.assert_allclose(positive_weights(labels, 0.5).numpy(), [1.0, 1.0, 3**0.5, 1.0], rtol=1e-6)
    np.testing.assert_allclose(positive_weights(labels, 1.0).numpy(), [1.0, 1.0, 3.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(positive_weights(labels, 0.0).numpy(), np.ones(4))
    missing = np.zeros_like(labels)
    missing[2, 2] = 1  # one of label 2's negatives is unknown: 1 positive of 3 known values -> ratio 2
    np.testing.assert_allclose(positive_weights(labels, 1.0, missing).numpy(), [1.0, 1.0, 2.0, 1.0], rtol=1e-6)


def test_positive_weights_enter_the_loss_as_bce_pos_weight():
    """One training step with pos_weight equals one step on the hand-weighted BCE."""
    import torch.nn.functional as F

    from gnn_mlc.training import (
        TrainingSettings,
        TrainingSplit,
        positive_weights,
        train_model,
    )

    rng = np.random.default_rng(0)
    X, labels = rng.normal(size=(16, 7)).astype(np.float32), (rng.random((16, 5)) < 0.2).astype(np.uint8)
    weights = positive_weights(labels, 0.5)
    model, _ = make_gcn("mlgcn")
    reference = copy.deepcopy(model)
    train_model(model, TrainingSplit(X, labels, X, labels),
                TrainingSettings(learning_rate=0.1, weight_decay=0.0, batch_size=16, max_epochs=1, patience=1),
                device=torch.device("cpu"), generator=torch.Generator().manual_seed(0), progress=False,
                pos_weight=weights)
    optimizer = torch.optim.AdamW(reference.parameters(), lr=0.1, weight_decay=0.0)
    reference.train()
    logits = reference(torch.from_numpy(X))
    targets = torch.from_numpy(labels).float()
    by_hand = -(weights * targets * F.logsigmoid(logits) + (1 - targets) * F.logsigmoid(-logits)).mean()
    by_hand.backward()
    optimizer.step()
    for got, expected in zip(model.parameters(), reference.parameters()):
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
