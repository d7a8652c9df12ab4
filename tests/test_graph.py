"""Label graph: counts on a hand-built example, the edge-weight formulas, degenerate cases, networkx/PyG views."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
import torch

from gnn_mlc import DataError, build_label_graph

# 5 rows, 4 labels; label d never occurs.
Y = np.array([[1, 1, 0, 0], [1, 0, 1, 0], [1, 1, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0]])
NAMES = ["a", "b", "c", "d"]


def test_counts_equal_hand_count():
    graph = build_label_graph(sp.csr_matrix(Y), NAMES)
    expected = np.array([[4, 2, 2, 0], [2, 3, 1, 0], [2, 1, 2, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(graph.counts.toarray(), expected)
    np.testing.assert_array_equal(graph.frequencies, [4, 3, 2, 0])


def test_probability_weights_are_conditional_probabilities():
    graph = build_label_graph(Y, NAMES, weighting="probability")
    # P(j | i) = count(i, j) / count(i)
    expected = np.array([[0, 2 / 4, 2 / 4, 0], [2 / 3, 0, 1 / 3, 0], [2 / 2, 1 / 2, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_allclose(graph.adjacency.toarray(), expected, rtol=1e-6)


def test_count_weights_are_off_diagonal_counts():
    graph = build_label_graph(Y, NAMES, weighting="count")
    np.testing.assert_array_equal(graph.adjacency.toarray(), [[0, 2, 2, 0], [2, 0, 1, 0], [2, 1, 0, 0], [0] * 4])


def test_mlgcn_weights_binarise_at_tau_and_share_p_among_incoming_edges():
    graph = build_label_graph(Y, NAMES, weighting="mlgcn", tau=0.5, p=0.3)
    # P >= 0.5 edges: a->b (1/2), a->c (1/2), b->a (2/3), c->a (1), c->b (1/2).
    # Incoming: a from {b, c} -> 0.15 each; b from {a, c} -> 0.15 each; c from {a} -> 0.3.
    expected = np.array([[0, 0.15, 0.3, 0], [0.15, 0, 0, 0], [0.15, 0.15, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_allclose(graph.adjacency.toarray(), expected, rtol=1e-6)
    np.testing.assert_allclose(graph.adjacency.sum(axis=0).A1, [0.3, 0.3, 0.3, 0.0], rtol=1e-6)


def test_edge_index_matches_adjacency():
    graph = build_label_graph(Y, NAMES, weighting="probability")
    edge_index, edge_weight = graph.edge_index()
    dense = torch.zeros(4, 4)
    dense[edge_index[0], edge_index[1]] = edge_weight
    np.testing.assert_allclose(dense.numpy(), graph.adjacency.toarray())
    assert edge_index.dtype == torch.int64 and edge_weight.dtype == torch.float32


def test_networkx_view_and_graphml_roundtrip(tmp_path):
    graph = build_label_graph(Y, NAMES, weighting="probability")
    view = graph.to_networkx()
    assert set(view.nodes) == set(NAMES)
    assert view.nodes["d"]["frequency"] == 0 and view.degree("d") == 0
    assert view.edges["c", "a"] == {"weight": pytest.approx(1.0), "count": 2, "probability": pytest.approx(1.0)}
    path = tmp_path / "g.graphml"
    graph.write_graphml(path)
    back = nx.read_graphml(path)
    assert back.number_of_edges() == view.number_of_edges()
    assert back.edges["b", "c"]["count"] == 1
    assert back.edges["b", "c"]["probability"] == pytest.approx(1 / 3)


def test_degenerate_graphs_do_not_crash():
    single = build_label_graph(np.array([[1], [0], [1]]), ["only"])
    assert single.adjacency.nnz == 0 and single.statistics()["isolated_labels"] == 1
    empty = build_label_graph(np.zeros((3, 2), dtype=np.uint8), ["x", "y"])
    assert empty.statistics() == {
        "num_labels": 2, "num_edges": 0, "num_rows": 3, "labels_without_positives": 2, "isolated_labels": 2,
        "connected_components": 2, "mean_degree": 0.0, "max_degree": 0,
    }
    edge_index, edge_weight = empty.edge_index()
    assert edge_index.shape == (2, 0) and edge_weight.shape == (0,)


def test_build_label_graph_validates_options():
    with pytest.raises(DataError, match=r"weighting: got 'pmi'"):
        build_label_graph(Y, NAMES, weighting="pmi")
    with pytest.raises(DataError, match=r"tau: got 0"):
        build_label_graph(Y, NAMES, tau=0)
    with pytest.raises(DataError, match=r"label_names: 3 names for 4 label columns"):
        build_label_graph(Y, NAMES[:3])
