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
    assert metadata[0] == "name\tdisplay_name\tfrequency"  # several columns: a header line
    assert len(metadata) == len(model.classes_) + 1
    assert metadata[1].split("\t") == [model.classes_[0], model.classes_[0], str(model.label_counts_[0])]
    export_embeddings(model, tmp_path, display_names={model.classes_[0]: "First\tlabel"})
    first = (tmp_path / "metadata.tsv").read_text().splitlines()[1]
    assert first.split("\t") == [model.classes_[0], "First label", str(model.label_counts_[0])]
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


def _random_model(num_labels: int = 60, num_rows: int = 400, seed: int = 0):
    """A stand-in with what inspection reads: random embeddings and the counts of random power-law labels."""
    import types

    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    popularity = 1 / np.arange(1, num_labels + 1)
    Y = (rng.random((num_rows, num_labels)) < 8 * popularity / popularity.sum()).astype(np.int64)
    counts = sp.csr_matrix(Y.T @ Y)
    return types.SimpleNamespace(
        label_names=[f"l{index}" for index in range(num_labels)], cooccurrence=counts,
        label_embeddings=rng.normal(size=(num_labels, 8)).astype(np.float32), cooccurrence_rows=num_rows,
        label_counts=counts.diagonal(), num_rows=num_rows), Y


def _average_precision_reference(embeddings, neighbour_sets, labels):
    """Per-label AP of the neighbours in the label's similarity ranking: dense cosine matrix, one label at a time."""
    W = embeddings / np.linalg.norm(embeddings, axis=1, keepdims=True)
    similarity = W @ W.T
    result = []
    for label in labels:
        others = [index for index in np.argsort(-similarity[label], kind="stable") if index != label]
        hits = np.isin(others, neighbour_sets[label])
        result.append((np.cumsum(hits)[hits] / (np.flatnonzero(hits) + 1)).mean())
    return np.array(result)


def test_agreement_score_in_blocks_and_sampled_equals_the_dense_reference(monkeypatch):
    import gnn_mlc.inspection.neighbours as neighbours_module

    monkeypatch.setattr(neighbours_module, "SIMILARITY_BLOCK", 7)  # several blocks
    model, _ = _random_model()
    sets = cooccurrence_neighbours(model.cooccurrence, num_rows=400, min_count=2)
    with_neighbours = [label for label, members in enumerate(sets) if len(members)]
    assert len(with_neighbours) > 20
    full = agreement_score(model.label_embeddings, model.cooccurrence, num_rows=400, min_count=2)
    reference = _average_precision_reference(model.label_embeddings, sets, with_neighbours)
    assert full["neighbour_map"] == pytest.approx(reference.mean())
    assert full["labels_scored"] == full["labels_with_neighbours"] == len(with_neighbours)
    sampled = agreement_score(model.label_embeddings, model.cooccurrence, num_rows=400, min_count=2,
                              max_labels=10, seed=3)
    chosen = np.sort(np.random.default_rng(3).choice(with_neighbours, 10, replace=False))  # the documented sample
    assert sampled["labels_scored"] == 10 and sampled["labels_with_neighbours"] == len(with_neighbours)
    assert sampled["neighbour_map"] == pytest.approx(
        _average_precision_reference(model.label_embeddings, sets, chosen).mean())


def test_neighbours_of_many_labels_equal_one_at_a_time(monkeypatch):
    import gnn_mlc.inspection.neighbours as neighbours_module

    monkeypatch.setattr(neighbours_module, "SIMILARITY_BLOCK", 4)
    model, _ = _random_model()
    labels = [f"l{index}" for index in (0, 5, 3, 59, 17, 8)]
    many = neighbours_module.nearest_labels_of_many(model, labels, k=5)
    assert list(many) == labels
    for label in labels:
        one = nearest_labels(model, label, k=5)
        assert [(n.label, n.count, n.p_neighbour_given_query) for n in many[label]] == [
            (n.label, n.count, n.p_neighbour_given_query) for n in one]
        np.testing.assert_allclose([n.similarity for n in many[label]], [n.similarity for n in one], rtol=1e-12)


def test_strongest_edges_graph_equals_a_loop_over_labels():
    from gnn_mlc.inspection.plots import strongest_edges_graph

    model, _ = _random_model()
    graph = strongest_edges_graph(model, neighbours_per_label=2, min_count=2)
    counts = model.cooccurrence.toarray().astype(np.float64)
    frequency = np.diag(counts)
    expected = set()
    for label, partners in enumerate(cooccurrence_neighbours(model.cooccurrence, num_rows=400, min_count=2)):
        lift = counts[label, partners] * 400 / (frequency[label] * frequency[partners])
        for partner in partners[np.lexsort((partners, -lift))][:2]:
            expected.add(frozenset((f"l{label}", f"l{partner}")))
    assert {frozenset(edge) for edge in graph.edges} == expected
    source, target, data = next(iter(graph.edges(data=True)))
    i, j = int(source[1:]), int(target[1:])
    assert data["count"] == counts[i, j]
    assert data["weight"] == pytest.approx(counts[i, j] * 400 / (frequency[i] * frequency[j]))


def test_graph_export_keeps_the_most_frequent_pairs_above_its_cap(tmp_path):
    model, _ = _random_model()
    counts = model.cooccurrence.toarray()
    np.fill_diagonal(counts, 0)
    graphml, _ = export_graph(model, tmp_path, max_edges=100)
    graph = nx.read_graphml(graphml)
    assert graph.number_of_nodes() == 60 and 0 < graph.number_of_edges() <= 100
    cut = int(graph.graph["contents"].split("at least ")[1].split()[0])
    assert min(int(data["count"]) for _, _, data in graph.edges(data=True)) >= cut
    assert graph.number_of_edges() == int((counts >= cut).sum())  # every pair at or above the cut, no other
    assert int((counts >= cut - 1).sum()) > 100  # and the cut is the lowest that fits
    graph = nx.read_graphml(export_graph(model, tmp_path)[0])  # under the default cap: every pair
    assert graph.number_of_edges() == int((counts > 0).sum()) and graph.graph["contents"].startswith("all ")


def test_label_graph_picture_says_it_sampled(monkeypatch, tmp_path):
    pytest.importorskip("matplotlib")
    import gnn_mlc.inspection.plots as plots

    monkeypatch.setattr(plots, "DRAWN_LABELS", 10)
    titles = []
    original = plots._save
    monkeypatch.setattr(plots, "_save", lambda figure, plt, path: (titles.append(figure.axes[0].get_title()),
                                                                    original(figure, plt, path))[1])
    model, _ = _random_model()
    plots.plot_label_graph(model, tmp_path / "graph.png")
    assert "sampled: the " in titles[0] and "most frequent of the" in titles[0]


def test_embedding_map_has_legends_leaves_cold_labels_out_and_uses_display_names(monkeypatch, tmp_path):
    pytest.importorskip("matplotlib")
    import scipy.sparse as sp

    import gnn_mlc.inspection.plots as plots

    model, Y = _random_model()
    Y[:, -3:] = 0  # three cold labels: no positive training row
    model.cooccurrence = sp.csr_matrix(Y.T @ Y)
    model.label_counts = model.cooccurrence.diagonal()
    figures = []
    original = plots._save
    monkeypatch.setattr(plots, "_save", lambda figure, plt, path: (figures.append(figure), original(figure, plt,
                                                                                                    path))[1])
    plots.plot_embedding_map(model, tmp_path / "map.png", display_names={"l0": "Most popular"})
    axes = figures[0].axes[0]
    assert "57 of 57 names shown; 3 labels with no positive training row left out" in axes.get_title()
    assert len(axes.collections[0].get_offsets()) == 57
    texts = {text.get_text() for text in axes.texts}
    assert "Most popular" in texts and "l0" not in texts and "l59" not in texts
    legends = [child for child in axes.get_children() if type(child).__name__ == "Legend"]
    assert {legend.get_title().get_text() for legend in legends} == {"community (colour)",
                                                                      "training frequency (size)"}
    assert any("Most popular" in text.get_text() for legend in legends for text in legend.get_texts())


def test_report_flags_an_uninformative_agreement_score_and_shows_display_names(monkeypatch, tmp_path):
    pytest.importorskip("matplotlib")
    import gnn_mlc.inspection.report as report_module

    model, _ = _random_model(num_labels=12)
    chance = iter([0.97, 0.5])  # the model's score, then the baseline's
    monkeypatch.setattr(report_module, "agreement_score", lambda *args, **kwargs: {
        "neighbour_map": 0.98, "chance_map": next(chance), "labels_scored": 12, "labels_with_neighbours": 12})
    report_module.write_inspection_report(model, tmp_path, name="dense", baseline=model, baseline_name="other",
                                          display_names={"l1": "Label One"})
    report = (tmp_path / "report.md").read_text()
    assert "| dense | 0.9800 | 0.9700 (uninformative) |" in report and "| other | 0.9800 | 0.5000 |" in report
    assert "**Uninformative:** chance_map is above 0.95 for `dense` (0.9700)" in report
    assert "| Label One |" in report and "| l1 |" not in report


def test_display_names_are_read_and_checked(tmp_path):
    from gnn_mlc import GnnMlcError
    from gnn_mlc.inspection.report import read_display_names

    (tmp_path / "names.csv").write_text("label,name\nc1,Camping gear\nc2,\nc9,Not in the model\n")
    assert read_display_names(tmp_path / "names.csv", ["c1", "c2", "c3"]) == {"c1": "Camping gear"}
    (tmp_path / "twice.csv").write_text("label,name\nc1,A\nc1,B\n")
    with pytest.raises(GnnMlcError, match=r"twice\.csv: row 1: label 'c1' appears again; expected one name per "
                                          r"label"):
        read_display_names(tmp_path / "twice.csv", ["c1"])
    (tmp_path / "title.csv").write_text("label,title\nc1,A\n")
    with pytest.raises(GnnMlcError, match=r"title\.csv: no 'name' column; expected columns label and name"):
        read_display_names(tmp_path / "title.csv", ["c1"])
