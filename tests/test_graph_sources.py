"""Graph sources: label-only logs, external edges and label features are read, checked and merged by one rule."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.sparse as sp

from gnn_mlc import DataError, build_label_graph
from gnn_mlc.graph.sources import (
    GraphSources,
    as_label_log,
    read_graph_edges,
    read_label_features,
    read_label_log,
)


def test_a_log_reads_from_a_list_column_a_delimited_column_and_a_long_table(tmp_path):
    pq.write_table(pa.table({"labels": pa.array([["a", "b"], ["c"], ["b", "a", "a"]])}), tmp_path / "lists.parquet")
    (tmp_path / "strings.csv").write_text("labels\na|b\nc\nb|a\n")
    (tmp_path / "long.csv").write_text("basket,item\n1,a\n1,b\n2,c\n3,b\n3,a\n")
    expected = np.array([[1, 1, 0], [0, 0, 1], [1, 1, 0]])
    for log in (read_label_log(tmp_path / "lists.parquet"), read_label_log(tmp_path / "strings.csv"),
                read_label_log(tmp_path / "long.csv", row_column="basket", label_column="item")):
        assert log.label_names == ["a", "b", "c"]
        np.testing.assert_array_equal(log.Y.toarray(), expected)
    np.testing.assert_array_equal(read_label_log(tmp_path / "lists.parquet").aligned(["c", "x", "a", "b"]).toarray(),
                                  [[0, 0, 1, 1], [1, 0, 0, 0], [0, 0, 1, 1]])


def test_log_errors(tmp_path):
    pq.write_table(pa.table({"labels": pa.array([["a"], []])}), tmp_path / "empty.parquet")
    with pytest.raises(DataError, match=r"empty\.parquet: log row 1 has no label \(1 such rows\); expected every "):
        read_label_log(tmp_path / "empty.parquet")
    (tmp_path / "long.csv").write_text("basket,item\n1,a\n,b\n")
    with pytest.raises(DataError, match=r"column 'basket' is empty at line 1"):
        read_label_log(tmp_path / "long.csv", row_column="basket", label_column="item")
    with pytest.raises(DataError, match=r"no column 'labelz'.*--graph-label-column"):
        read_label_log(tmp_path / "long.csv", label_column="labelz")
    with pytest.raises(DataError, match=r"graph_label_names: 1 names for 2 columns"):
        as_label_log(np.eye(2), ["a"])
    with pytest.raises(DataError, match=r"label name 'a\|b' contains '\|'"):
        as_label_log(np.eye(2), ["a|b", "c"])


def test_edges_from_csv_graphml_gexf_and_networkx(tmp_path):
    (tmp_path / "edges.csv").write_text("source,target,weight\na,b,2\nb,c,0.5\n")
    edges = read_graph_edges(tmp_path / "edges.csv")  # a CSV is undirected: both directions
    np.testing.assert_array_equal(edges.adjacency(["a", "b", "c"]).toarray(), [[0, 2, 0], [2, 0, 0.5], [0, 0.5, 0]])
    directed = nx.DiGraph([("a", "b", {"weight": 3.0}), ("c", "a", {})])
    nx.write_graphml(directed, tmp_path / "e.graphml")
    nx.write_gexf(directed, tmp_path / "e.gexf")
    for source in (directed, tmp_path / "e.graphml", tmp_path / "e.gexf"):
        np.testing.assert_array_equal(read_graph_edges(source).adjacency(["a", "b", "c"]).toarray(),
                                      [[0, 3, 0], [0, 0, 0], [1, 0, 0]])


@pytest.mark.parametrize(("text", "message"), [
    ("from,to\na,b\n", r"no 'source' column; expected columns source, target and optionally weight"),
    ("source,target\na,a\n", r"edge 0 \('a' -> 'a'; edges count from 0\): a self-loop"),
    ("source,target,weight\na,b,-1\n", r"edge 0 \('a' -> 'b'; edges count from 0\): weight -1\.0; expected a finite positive number"),
    ("source,target,weight\na,b,nan\n", r"weight nan; expected a finite positive number"),
    ("source,target,weight\na,b,inf\n", r"weight inf; expected a finite positive number"),
    ("source,target\na,b\nb,a\n", r"edge 1 \('b' -> 'a'; edges count from 0\): appears twice"),
    ("source,target\na,\n", r"an end is empty; expected two label names"),
])
def test_edge_file_errors(tmp_path, text, message):
    (tmp_path / "edges.csv").write_text(text)
    with pytest.raises(DataError, match=message):
        read_graph_edges(tmp_path / "edges.csv")


def test_label_features_and_their_errors(tmp_path):
    (tmp_path / "f.csv").write_text("label,x,y\na,1,2\nb,3,4\n")
    features = read_label_features(tmp_path / "f.csv")
    assert features.label_names == ["a", "b"] and features.X.tolist() == [[1, 2], [3, 4]]
    (tmp_path / "dup.csv").write_text("label,x\na,1\na,2\n")
    with pytest.raises(DataError, match=r"dup\.csv: label 'a' appears twice; expected one vector per label"):
        read_label_features(tmp_path / "dup.csv")
    with pytest.raises(DataError, match=r"label_features: shape \(2, 2\) for 3 label names"):
        read_label_features((np.eye(2), ["a", "b", "c"]))
    sources = GraphSources.resolve(label_features=(np.eye(2), ["a", "zz"]))
    assert sources.label_space(["b", "a"]) == ["b", "a", "zz"]  # a label only the features name is a label too


def test_the_label_space_keeps_training_labels_first_then_the_rest_sorted():
    sources = GraphSources.resolve(graph_data=np.array([[1, 0, 1], [0, 1, 1]]), graph_label_names=["z", "b", "new"],
                                   graph_edges=nx.Graph([("b", "edge-only")]))
    assert sources.label_space(["b", "a"]) == ["b", "a", "edge-only", "new", "z"]


def test_external_edges_merge_into_the_label_graph_by_the_documented_rule():
    Y = np.array([[1, 1, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]])  # P(b|a) = 0.5, c co-occurs with nothing
    external = sp.csr_matrix(np.array([[0, 0, 2.0], [0, 0, 0], [2.0, 0, 0]]))  # a <-> c, weight 2
    mlgcn = build_label_graph(Y, ["a", "b", "c"], tau=0.4, p=0.25, external=external).adjacency.toarray()
    plain = build_label_graph(Y, ["a", "b", "c"], tau=0.4, p=0.25).adjacency.toarray()
    # mlgcn: the external edge is an edge like one passing tau; each label's incoming weights then sum to p
    assert plain[0, 2] == 0 and plain[2, 0] == 0
    np.testing.assert_allclose(mlgcn, [[0, 0.25, 0.25], [0.125, 0, 0], [0.125, 0, 0]])  # a hears from b and c
    probability = build_label_graph(Y, ["a", "b", "c"], weighting="probability", external=external).adjacency
    np.testing.assert_allclose(probability.toarray(), [[0, 0.5, 2.0], [0.5, 0, 0], [2.0, 0, 0]])
    log = sp.csr_matrix(np.array([[1, 0, 1], [1, 0, 1]]))  # the log's rows join the counts
    merged = build_label_graph(Y, ["a", "b", "c"], weighting="count", log_rows=log)
    assert merged.counts[0, 2] == 2 and merged.num_rows == 6


def test_label_names_in_every_graph_source_are_stripped_of_surrounding_whitespace(tmp_path):
    (tmp_path / "edges.csv").write_text("source,target,weight\nhiking, camping, 2\n")
    edges = read_graph_edges(tmp_path / "edges.csv")
    assert (edges.source, edges.target, edges.weight.tolist()) == (["hiking", "camping"], ["camping", "hiking"],
                                                                   [2.0, 2.0])
    assert read_graph_edges(nx.Graph([(" hiking", "camping ")])).label_names == ["camping", "hiking"]
    (tmp_path / "long.csv").write_text("basket,item\n1, hiking\n1,camping \n 2 ,camping\n")
    log = read_label_log(tmp_path / "long.csv", row_column="basket", label_column="item")
    assert log.label_names == ["camping", "hiking"]
    np.testing.assert_array_equal(log.Y.toarray(), [[1, 1], [1, 0]])
    pq.write_table(pa.table({"labels": pa.array([[" hiking", "camping"], ["camping "]])}), tmp_path / "lists.parquet")
    (tmp_path / "strings.csv").write_text("labels\n hiking | camping\ncamping\n")
    for path in (tmp_path / "lists.parquet", tmp_path / "strings.csv"):
        assert read_label_log(path).label_names == ["camping", "hiking"]
    (tmp_path / "features.csv").write_text("label,x\n hiking,1\ncamping ,2\n")
    assert read_label_features(tmp_path / "features.csv").label_names == ["hiking", "camping"]
    (tmp_path / "loop.csv").write_text("source,target\ncamping, camping\n")
    with pytest.raises(DataError, match=r"edge 0 \('camping' -> 'camping'; edges count from 0\): a self-loop"):
        read_graph_edges(tmp_path / "loop.csv")
