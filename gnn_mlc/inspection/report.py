"""The inspection report: exports, pictures, agreement score, graph statistics and every label's top neighbours,
bundled as one Markdown page."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np

from gnn_mlc.inspection.neighbours import (
    agreement_score,
    export_embeddings,
    export_graph,
    model_label_graph,
    nearest_labels,
)
from gnn_mlc.inspection.plots import (
    label_communities,
    plot_embedding_map,
    plot_label_graph,
    strongest_edges_graph,
)
from gnn_mlc.outputs import write_text

if TYPE_CHECKING:
    from gnn_mlc.estimator import LabelGCNClassifier


def write_inspection_report(
    classifier: LabelGCNClassifier,
    directory: str | Path,
    *,
    name: str,
    baseline: LabelGCNClassifier | None = None,
    baseline_name: str = "baseline",
    k: int = 5,
) -> list[Path]:
    """Write everything about ``classifier``'s label embeddings into ``directory``; returns the paths written.

    Args:
        classifier: the model to inspect.
        directory: output directory (created).
        name: the model's name in the report.
        baseline: optionally a second model (e.g. the no-graph baseline) whose agreement score is reported beside.
        baseline_name: its name in the report.
        k: neighbours listed per label.
    """
    directory = Path(directory)
    paths = export_embeddings(classifier, directory) + export_graph(classifier, directory)
    paths.append(plot_embedding_map(classifier, directory / "embedding_map.png"))
    paths.append(plot_label_graph(classifier, directory / "label_graph.png"))
    names = [str(label) for label in classifier.classes_]
    rows = int(classifier.n_samples_fit_)
    lines = [f"# Label embeddings of `{name}`", "",
             f"{len(names)} labels, embeddings of size {classifier.label_embeddings_.shape[1]}, trained on {rows} rows.",
             "", "## Does embedding similarity agree with co-occurrence?", "",
             "For each label, its co-occurrence neighbours are the labels seen with it at least 3 times and more "
             "often than chance (lift > 1). Ranking all other labels by cosine similarity, `neighbour_map` is the "
             "mean average precision of those neighbours; `chance_map` is what a random ranking scores.", "",
             "| model | neighbour_map | chance_map | labels scored |", "|---|---:|---:|---:|"]
    models = [(name, classifier)] + ([(baseline_name, baseline)] if baseline is not None else [])
    for model_name, model in models:
        score = agreement_score(model.label_embeddings_, model.cooccurrence_, num_rows=int(model.cooccurrence_rows_))
        lines.append(f"| {model_name} | {score['neighbour_map']:.4f} | {score['chance_map']:.4f} | "
                     f"{score['labels_scored']} |")
    lines += ["", "## Pictures", "", "![Label embedding map](embedding_map.png)", "",
              "![Strongest co-occurrence edges](label_graph.png)", ""]
    lines += _graph_statistics(classifier)
    lines += ["", f"## Top {k} neighbours of every label", "",
              "Each neighbour: cosine similarity; training rows with both labels; P(neighbour | label).", "",
              "| label | frequency | " + " | ".join(f"#{rank}" for rank in range(1, k + 1)) + " |",
              "|---|---:|" + "---|" * k]
    for label, frequency in sorted(zip(names, classifier.label_counts_), key=lambda item: -item[1]):
        cells = [f"{n.label} ({n.similarity:.2f}; {n.count}; {n.p_neighbour_given_query:.2f})"
                 for n in nearest_labels(classifier, label, k=min(k, len(names) - 1))] if len(names) > 1 else []
        lines.append(f"| {label} | {frequency} | " + " | ".join(cells + [""] * (k - len(cells))) + " |")
    paths.append(directory / "report.md")
    write_text(paths[-1], "\n".join(lines) + "\n")
    return paths


def _graph_statistics(classifier: LabelGCNClassifier) -> list[str]:
    full = model_label_graph(classifier).to_networkx().to_undirected()
    degrees = np.array([degree for _, degree in full.degree()])
    communities = label_communities(strongest_edges_graph(classifier))
    statistics = model_label_graph(classifier).statistics()
    lines = ["## The co-occurrence graph", "",
             f"- labels: {statistics['num_labels']}; labels with no training positive: "
             f"{statistics['labels_without_positives']}",
             f"- co-occurring pairs: {full.number_of_edges()}; connected components: "
             f"{nx.number_connected_components(full)}; isolated labels: {int((degrees == 0).sum())}",
             f"- degree (labels co-occurring with a label): min {degrees.min()}, median {np.median(degrees):.0f}, "
             f"mean {degrees.mean():.1f}, max {degrees.max()}",
             f"- degree distribution: {_degree_histogram(degrees)}",
             f"- communities (Louvain on the strongest-edges graph): {len(communities)}", ""]
    for index, members in enumerate(communities, start=1):
        lines.append(f"  {index}. {', '.join(sorted(members))}")
    return lines


def _degree_histogram(degrees: np.ndarray) -> str:
    """Label counts per degree bucket, e.g. ``0: 2, 1-2: 5, 3-5: 10, 6-10: 20, 11-20: 8, 21+: 3``."""
    buckets = [(0, 0), (1, 2), (3, 5), (6, 10), (11, 20), (21, 50), (51, 100)]
    parts = [f"{low if low == high else f'{low}-{high}'}: {int(((degrees >= low) & (degrees <= high)).sum())}"
             for low, high in buckets if low <= degrees.max()]
    if degrees.max() > 100:
        parts.append(f"101+: {int((degrees > 100).sum())}")
    return ", ".join(parts) + " labels"
