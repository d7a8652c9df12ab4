"""The inspection report: exports, pictures, agreement score, graph statistics and the top neighbours of the most
frequent labels (at most :data:`REPORT_LABELS`), bundled as one Markdown page. Every part is bounded at 50,000
labels: the page says where it sampled or cut."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from gnn_mlc.errors import GnnMlcError
from gnn_mlc.fitted import as_fitted_model
from gnn_mlc.inspection.neighbours import (
    agreement_score,
    export_cut,
    export_embeddings,
    export_graph,
    nearest_labels_of_many,
)
from gnn_mlc.inspection.plots import (
    label_communities,
    plot_embedding_map,
    plot_label_graph,
    strongest_edges_graph,
)
from gnn_mlc.outputs import write_text

if TYPE_CHECKING:
    from gnn_mlc.fitted import FittedModel

REPORT_LABELS = 2000
"""The report lists the neighbours of at most this many labels, the most frequent."""
UNINFORMATIVE_CHANCE = 0.95
"""Above this ``chance_map`` the report flags the agreement score as uninformative: a random ranking already finds
almost every label's co-occurrence neighbours (a small, densely co-occurring label set)."""
LISTED_COMMUNITIES = 30
"""The report lists at most this many communities, and at most this many members of each (the most frequent)."""


def write_inspection_report(
    model: FittedModel,
    directory: str | Path,
    *,
    name: str,
    baseline: FittedModel | None = None,
    baseline_name: str = "baseline",
    k: int = 5,
    display_names: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write everything about ``model``'s label embeddings into ``directory``; returns the paths written.

    Args:
        model: the model to inspect.
        directory: output directory (created).
        name: the model's name in the report.
        baseline: optionally a second model (e.g. the no-graph baseline) whose agreement score is reported beside.
        baseline_name: its name in the report.
        k: neighbours listed per label.
        display_names: label -> the name shown in the pictures, the report and the projector metadata
            (:func:`read_display_names`); a label without one is shown as itself.
    """
    directory = Path(directory)
    model = as_fitted_model(model)
    baseline = None if baseline is None else as_fitted_model(baseline)
    shown = dict(display_names or {})
    paths = export_embeddings(model, directory, display_names=shown) + export_graph(model, directory)
    strongest = strongest_edges_graph(model)
    communities = label_communities(strongest)
    paths.append(plot_embedding_map(model, directory / "embedding_map.png", communities=communities,
                                    display_names=shown))
    paths.append(plot_label_graph(model, directory / "label_graph.png", display_names=shown))
    names = [str(label) for label in model.label_names]
    rows = int(model.num_rows)
    lines = [f"# Label embeddings of `{name}`", "",
             f"{len(names)} labels, embeddings of size {model.label_embeddings.shape[1]}, trained on {rows} rows.",
             "", "## Does embedding similarity agree with co-occurrence?", "",
             "For each label, its co-occurrence neighbours are the labels seen with it at least 3 times and more "
             "often than chance (lift > 1). Ranking all other labels by cosine similarity, `neighbour_map` is the "
             "mean average precision of those neighbours; `chance_map` is what a random ranking scores. Above 2,000 "
             "labels with neighbours, a seeded sample of 2,000 is scored.", "",
             "| model | neighbour_map | chance_map | labels scored | labels with neighbours |",
             "|---|---:|---:|---:|---:|"]
    models = [(name, model)] + ([(baseline_name, baseline)] if baseline is not None else [])
    uninformative = []
    for model_name, scored in models:
        score = agreement_score(scored.label_embeddings, scored.cooccurrence, num_rows=int(scored.cooccurrence_rows))
        flag = " (uninformative)" if score["chance_map"] > UNINFORMATIVE_CHANCE else ""
        if flag:
            uninformative.append(f"`{model_name}` ({score['chance_map']:.4f})")
        lines.append(f"| {model_name} | {score['neighbour_map']:.4f} | {score['chance_map']:.4f}{flag} | "
                     f"{score['labels_scored']} | {score['labels_with_neighbours']} |")
    if uninformative:
        lines += ["", f"**Uninformative:** chance_map is above {UNINFORMATIVE_CHANCE} for {', '.join(uninformative)}"
                      ": most labels co-occur with most others, so even a random ranking finds their neighbours and "
                      "the agreement score cannot tell a good embedding from a bad one."]
    lines += ["", "## Pictures", "", "![Label embedding map](embedding_map.png)", "",
              "![Strongest co-occurrence edges](label_graph.png)", ""]
    lines += _graph_statistics(model, strongest, communities, shown)
    lines += [f"- exported to `label_graph.graphml` / `label_graph.gexf`: {export_cut(model)[1]}"]
    listed = sorted(zip(names, model.label_counts), key=lambda item: -item[1])[:REPORT_LABELS]
    title = "every label" if len(listed) == len(names) else f"the {len(listed)} most frequent of {len(names)} labels"
    lines += ["", f"## Top {k} neighbours of {title}", "",
              "Each neighbour: cosine similarity; training rows with both labels; P(neighbour | label).", "",
              "| label | frequency | " + " | ".join(f"#{rank}" for rank in range(1, k + 1)) + " |",
              "|---|---:|" + "---|" * k]
    neighbours = nearest_labels_of_many(model, [label for label, _ in listed], k=k)
    for label, frequency in listed:
        cells = [f"{shown.get(n.label, n.label)} ({n.similarity:.2f}; {n.count}; {n.p_neighbour_given_query:.2f})"
                 for n in neighbours[label]]
        lines.append(f"| {shown.get(label, label)} | {frequency} | " + " | ".join(cells + [""] * (k - len(cells)))
                     + " |")
    paths.append(directory / "report.md")
    write_text(paths[-1], "\n".join(lines) + "\n")
    return paths


def _graph_statistics(model: FittedModel, strongest: nx.Graph, communities: list[set[str]],
                      names: Mapping[str, str]) -> list[str]:
    """The co-occurrence graph's size, components, degrees and the ``communities`` of its ``strongest`` edges
    (:func:`~gnn_mlc.inspection.plots.strongest_edges_graph`), from the sparse counts."""
    model = as_fitted_model(model)
    counts = sp.csr_matrix(model.cooccurrence, dtype=np.int64)
    frequency = counts.diagonal()
    pairs = sp.csr_matrix(counts - sp.diags(frequency, dtype=np.int64))
    pairs.eliminate_zeros()
    degrees = np.diff(pairs.indptr)
    components, _ = connected_components(pairs, directed=False)
    lines = ["## The co-occurrence graph", "",
             f"- labels: {len(degrees)}; labels with no training positive: {int((frequency == 0).sum())}",
             f"- co-occurring pairs: {pairs.nnz // 2}; connected components: {components}; isolated labels: "
             f"{int((degrees == 0).sum())}",
             f"- degree (labels co-occurring with a label): min {degrees.min()}, median {np.median(degrees):.0f}, "
             f"mean {degrees.mean():.1f}, max {degrees.max()}",
             f"- degree distribution: {_degree_histogram(degrees)}",
             f"- communities (Louvain on the strongest-edges graph): {len(communities)}"
             + (f"; the {LISTED_COMMUNITIES} largest listed, each by its {LISTED_COMMUNITIES} most frequent members"
                if len(communities) > LISTED_COMMUNITIES or max(map(len, communities)) > LISTED_COMMUNITIES else ""),
             ""]
    for index, members in enumerate(communities[:LISTED_COMMUNITIES], start=1):
        members_shown = sorted(members, key=lambda name: (-strongest.nodes[name]["frequency"], name))[
            :LISTED_COMMUNITIES]
        more = f" and {len(members) - len(members_shown)} more" if len(members) > len(members_shown) else ""
        lines.append(f"  {index}. {', '.join(sorted(names.get(name, name) for name in members_shown))}{more}")
    return lines


def _degree_histogram(degrees: np.ndarray) -> str:
    """Label counts per degree bucket, e.g. ``0: 2, 1-2: 5, 3-5: 10, 6-10: 20, 11-20: 8, 21+: 3``."""
    buckets = [(0, 0), (1, 2), (3, 5), (6, 10), (11, 20), (21, 50), (51, 100)]
    parts = [f"{low if low == high else f'{low}-{high}'}: {int(((degrees >= low) & (degrees <= high)).sum())}"
             for low, high in buckets if low <= degrees.max()]
    if degrees.max() > 100:
        parts.append(f"101+: {int((degrees > 100).sum())}")
    return ", ".join(parts) + " labels"


def read_display_names(path: str | Path, label_names: list[str]) -> dict[str, str]:
    """The display names of ``label_names`` in a CSV or Parquet file with the columns ``label`` and ``name`` (ids
    in the model, readable names for people: ``c1042``, ``Camping gear``). Labels the model does not have are
    ignored; a label the file does not name, or names with an empty name, is shown as itself.

    Raises:
        GnnMlcError: the file cannot be read, lacks a column, or names a label twice.
    """
    from gnn_mlc.data.tabular import read_table

    table = read_table(path, string_columns=["label", "name"])
    absent = [column for column in ("label", "name") if column not in table.column_names]
    if absent:
        raise GnnMlcError(f"{path}: no {absent[0]!r} column; expected columns label and name (found "
                          f"{table.column_names[:10]}). Hint: check --label-names")
    labels = [None if label is None else str(label) for label in table.column("label").to_pylist()]
    names = table.column("name").to_pylist()
    seen: set[str] = set()
    for row, label in enumerate(labels):
        if label in seen:
            raise GnnMlcError(f"{path}: row {row}: label {label!r} appears again; expected one name per label. "
                              "Hint: check --label-names")
        seen.add(label)
    known = set(label_names)
    return {label: str(name).strip() for label, name in zip(labels, names)
            if label in known and name is not None and str(name).strip()}
