"""Embedding inspection: neighbours equal a brute-force check, exports parse back, the report renders."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from gnn_mlc import LabelGCNClassifier, UnknownLabelError, read_dataset
from gnn_mlc.inspection.neighbours import (
    agreement_score,
    cooccurrence_neighbours,
    cosine_similarities,
    export_embeddings,
    export_graph,
    nearest_labels,
)

FAST = {"max_epochs": 3, "hidden_channels": 32, "embedding_dim": 16, "batch_size": 64}


@pytest.fixture(scope="module")
def model():
    from tests.conftest import DEMO

    data = read_dataset(DEMO / "shop_train.parquet")
    return LabelGCNClassifier(random_state=0, **FAST).fit(data.X[:800], data.Y[:800], label_names=data.label_names)


def test_nearest_labels_equal_brute_force(model):
    names = list(model.classes_)
    W = model.label_embeddings_.astype(np.float64)
    query = names.index("hiking")
    brute = []
    for index in range(len(names)):
        if index != query:
            cosine = W[query] @ W[index] / (np.linalg.norm(W[query]) * np.linalg.norm(W[index]))
            brute.append((-cosine, index))
    expected = [names[index] for _, index in sorted(brute)[:7]]
    neighbours = nearest_labels(model, "hiking", k=7)
    assert [n.label for n in neighbours] == expected
    Y = read_dataset(__import__("tests.conftest").conftest.DEMO / "shop_train.parquet").Y[:800]
    for neighbour in neighbours:
        j = names.index(neighbour.label)
        together = int((Y[:, query] & Y[:, j]).sum())
        assert neighbour.count == together
        assert neighbour.p_neighbour_given_query == pytest.approx(together / Y[:, query].sum())
        assert neighbour.p_query_given_neighbour == pytest.approx(together / Y[:, j].sum())
    assert neighbours[0].similarity >= neighbours[-1].similarity


def test_unknown_label_suggests_a_name(model):
    with pytest.raises(UnknownLabelError, match=r"label 'hikng' is not known to the model \(did you mean 'hiking'\?\)"):
        nearest_labels(model, "hikng")


def test_agreement_score_by_hand():
    # Labels 0 and 1 always together, 2 and 3 always together, never across.
    Y = np.array([[1, 1, 0, 0]] * 5 + [[0, 0, 1, 1]] * 5)
    counts = __import__("gnn_mlc.graph", fromlist=["x"]).cooccurrence_counts(Y)
    assert [n.tolist() for n in cooccurrence_neighbours(counts, num_rows=10)] == [[1], [0], [3], [2]]
    aligned = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    assert agreement_score(aligned, counts, num_rows=10)["neighbour_map"] == pytest.approx(1.0)
    # Labels 0 and 1 find their partner last (AP 1/3); 2 and 3 find it second (AP 1/2).
    crossed = np.array([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1], [0.1, 0.9]])
    assert agreement_score(crossed, counts, num_rows=10)["neighbour_map"] == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert agreement_score(crossed, counts, num_rows=10)["chance_map"] == pytest.approx(1 / 3)
    np.testing.assert_allclose(np.diag(cosine_similarities(aligned)), 1.0)


def test_projector_files_follow_tensorboard_rules(model, tmp_path):
    paths = export_embeddings(model, tmp_path)
    assert [p.name for p in paths] == ["label_embeddings.npy", "tensors.tsv", "metadata.tsv",
                                       "projector_config.pbtxt"]
    np.testing.assert_array_equal(np.load(tmp_path / "label_embeddings.npy", allow_pickle=False),
                                  model.label_embeddings_)
    tensors = np.loadtxt(tmp_path / "tensors.tsv", delimiter="\t")
    np.testing.assert_allclose(tensors, model.label_embeddings_, rtol=1e-5, atol=1e-6)
    metadata = (tmp_path / "metadata.tsv").read_text().splitlines()
    assert metadata[0] == "name\tfrequency"  # two columns: a header line
    assert len(metadata) == len(model.classes_) + 1
    assert metadata[1].split("\t") == [model.classes_[0], str(model.label_counts_[0])]
    config = (tmp_path / "projector_config.pbtxt").read_text()
    assert 'tensor_path: "tensors.tsv"' in config and 'metadata_path: "metadata.tsv"' in config


def test_graph_exports_parse_back(model, tmp_path):
    graphml, gexf = export_graph(model, tmp_path)
    for graph in (nx.read_graphml(graphml), nx.read_gexf(gexf)):
        assert graph.number_of_nodes() == len(model.classes_)
        source, target, data = next(iter(graph.edges(data=True)))
        i, j = list(model.classes_).index(source), list(model.classes_).index(target)
        assert int(data["count"]) == model.cooccurrence_[i, j]
        assert float(data["probability"]) == pytest.approx(model.cooccurrence_[i, j] / model.label_counts_[i])


def test_inspection_report_renders(model, tmp_path):
    from gnn_mlc.inspection.report import write_inspection_report

    baseline = LabelGCNClassifier(use_graph=False, random_state=0, **FAST)
    from tests.conftest import DEMO

    data = read_dataset(DEMO / "shop_train.parquet")
    baseline.fit(data.X[:800], data.Y[:800], label_names=data.label_names)
    paths = write_inspection_report(model, tmp_path, name="gcn", baseline=baseline, baseline_name="mlp")
    report = (tmp_path / "report.md").read_text()
    assert "| gcn |" in report and "| mlp |" in report
    assert "![Label embedding map](embedding_map.png)" in report
    histogram = next(line for line in report.splitlines() if line.startswith("- degree distribution:"))
    counts = [int(part.split(": ")[1].split()[0]) for part in histogram.split(":", 1)[1].split(", ")]
    assert sum(counts) == len(model.classes_)
    assert report.count("\n| ") >= len(model.classes_)  # one table row per label, at least
    for picture in ("embedding_map.png", "label_graph.png"):
        data = (tmp_path / picture).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 20_000
    assert all(path.exists() for path in paths)
