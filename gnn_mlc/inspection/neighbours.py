"""Label embedding inspection: nearest labels with their co-occurrence evidence, an agreement score, and exports
(NumPy, TensorBoard projector, GraphML/GEXF).

The embeddings inspected are a model's ``W`` (num_labels, embedding_dim): the GCN output for the label-graph model,
the output-layer vectors for the no-graph baseline. Similarity is cosine similarity.

Everything here works at recommender scale (50,000 labels): similarities are computed for the query labels only,
block by block, never as a dense labels x labels matrix; the agreement score samples labels; the graph export keeps
the most frequent pairs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import scipy.sparse as sp

from gnn_mlc.errors import GnnMlcError, UnknownLabelError, did_you_mean
from gnn_mlc.fitted import as_fitted_model
from gnn_mlc.graph import LabelGraph, label_graph_from_counts
from gnn_mlc.outputs import atomic_path, write_text

if TYPE_CHECKING:
    from gnn_mlc.fitted import FittedModel


@dataclass(frozen=True)
class Neighbour:
    """A label near the query label, with the data's evidence beside the embedding's opinion.

    Attributes:
        label: the neighbour's name.
        similarity: cosine similarity of the two embeddings, in [-1, 1].
        count: training rows with both labels.
        p_neighbour_given_query: P(neighbour | query) = count / count(query).
        p_query_given_neighbour: P(query | neighbour) = count / count(neighbour).
    """

    label: str
    similarity: float
    count: int
    p_neighbour_given_query: float
    p_query_given_neighbour: float


AGREEMENT_LABELS = 2000
"""At most this many labels (a seeded sample of those with co-occurrence neighbours) enter the agreement score."""
SIMILARITY_BLOCK = 512
"""Query labels per block when ranking against every label: a block's similarities are (512, num_labels)."""


def unit_vectors(embeddings: np.ndarray) -> np.ndarray:
    """The rows of ``embeddings`` (num_labels, dim) scaled to unit length (zero rows stay zero), float64."""
    embeddings = np.asarray(embeddings, dtype=np.float64)
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    return np.divide(embeddings, norms, out=np.zeros_like(embeddings), where=norms > 0)


def cosine_similarities(embeddings: np.ndarray, queries: np.ndarray | None = None) -> np.ndarray:
    """Cosine similarities (len(queries), num_labels) of the ``queries`` rows (label indices; all labels when
    ``None``) of ``embeddings`` (num_labels, dim) with every row; zero rows give 0."""
    unit = unit_vectors(embeddings)
    return (unit if queries is None else unit[np.asarray(queries)]) @ unit.T


def nearest_labels(model: FittedModel, label: str, *, k: int = 10) -> list[Neighbour]:
    """The ``k`` labels whose embeddings are most similar to ``label``'s, most similar first.

    Only the query label's similarities are computed: O(num_labels x dim), at any number of labels.

    Raises:
        UnknownLabelError: ``label`` is not one of the model's labels (with a "did you mean" hint).
    """
    model = as_fitted_model(model)
    names = [str(name) for name in model.label_names]
    if label not in names:
        raise UnknownLabelError(
            f"label {label!r} is not known to the model{did_you_mean(label, names)}; expected one of its "
            f"{len(names)} labels"
        )
    if k < 1:
        raise GnnMlcError(f"k: got {k}; expected a positive integer")
    query = names.index(label)
    return _neighbours(model, names, query, cosine_similarities(model.label_embeddings, [query])[0], k)


def nearest_labels_of_many(model: FittedModel, labels: list[str], *, k: int) -> dict[str, list[Neighbour]]:
    """:func:`nearest_labels` of each of ``labels`` (model label names), ranked block by block
    (:data:`SIMILARITY_BLOCK` queries at a time), so a report on many labels never holds a dense L x L matrix."""
    model = as_fitted_model(model)
    names = [str(name) for name in model.label_names]
    position = {name: index for index, name in enumerate(names)}
    queries = np.array([position[label] for label in labels], dtype=np.int64)
    unit = unit_vectors(model.label_embeddings)
    result: dict[str, list[Neighbour]] = {}
    for start in range(0, len(queries), SIMILARITY_BLOCK):
        block = queries[start:start + SIMILARITY_BLOCK]
        for query, similarity in zip(block, unit[block] @ unit.T):
            result[names[query]] = _neighbours(model, names, int(query), similarity, k)
    return result


def _neighbours(model: FittedModel, names: list[str], query: int, similarity: np.ndarray, k: int
                ) -> list[Neighbour]:
    """The ``k`` most similar labels to ``query`` given its (num_labels,) similarities, with their evidence."""
    model = as_fitted_model(model)
    top = np.argpartition(-similarity, k)[: k + 1] if len(similarity) > k + 1 else np.arange(len(similarity))
    top = top[np.lexsort((top, -similarity[top]))]  # most similar first, ties by label order
    order = [int(index) for index in top if index != query][:k]
    counts = sp.csr_matrix(model.cooccurrence)
    frequency = counts.diagonal()
    together = np.asarray(counts[query, order].todense()).ravel().astype(np.int64)
    return [Neighbour(label=names[index], similarity=float(similarity[index]), count=int(count),
                      p_neighbour_given_query=float(count / frequency[query]) if frequency[query] else 0.0,
                      p_query_given_neighbour=float(count / frequency[index]) if frequency[index] else 0.0)
            for index, count in zip(order, together)]


def lifted_pairs(counts: sp.csr_matrix, *, num_rows: int, min_count: int = 3) -> sp.csr_matrix:
    """The label pairs seen together more often than chance, as a (num_labels, num_labels) CSR matrix of their lift
    ``P(j | i) / P(j)``: ``count(i, j) >= min_count``, lift > 1, i != j. Vectorised over all pairs."""
    counts = sp.coo_matrix(counts, dtype=np.float64)
    frequency = sp.csr_matrix(counts).diagonal()
    keep = (counts.row != counts.col) & (counts.data >= min_count)
    row, col, together = counts.row[keep], counts.col[keep], counts.data[keep]
    lift = together * num_rows / (frequency[row] * frequency[col])
    above = lift > 1.0
    return sp.csr_matrix((lift[above], (row[above], col[above])), shape=counts.shape)


def cooccurrence_neighbours(counts: sp.csr_matrix, *, num_rows: int, min_count: int = 3) -> list[np.ndarray]:
    """For each label i, the labels j that co-occur with it more than chance (:func:`lifted_pairs`), sorted.
    These are the "true" neighbours the agreement score looks for."""
    pairs = lifted_pairs(counts, num_rows=num_rows, min_count=min_count)
    pairs.sort_indices()
    return np.split(pairs.indices.astype(np.int64), pairs.indptr[1:-1])


def agreement_score(
    embeddings: np.ndarray, counts: sp.csr_matrix, *, num_rows: int, min_count: int = 3,
    max_labels: int = AGREEMENT_LABELS, seed: int = 0,
) -> dict[str, float]:
    """How well embedding similarity recovers co-occurrence neighbours.

    For each label with at least one co-occurrence neighbour (:func:`cooccurrence_neighbours`), rank every other
    label by cosine similarity and take the average precision of the neighbours in that ranking; report the mean
    (``neighbour_map``), the number of labels it covers, and ``chance_map``, the mean AP a random ranking would score
    in expectation (the mean share of neighbours among the other labels; a close approximation). Above
    ``max_labels`` such labels, a seeded sample of ``max_labels`` of them is scored (``labels_with_neighbours``
    says how many there were), block by block.
    """
    pairs = lifted_pairs(counts, num_rows=num_rows, min_count=min_count)
    candidates = np.flatnonzero(np.diff(pairs.indptr) > 0)
    if len(candidates) > max_labels:
        candidates = np.sort(np.random.default_rng(seed).choice(candidates, max_labels, replace=False))
    unit = unit_vectors(embeddings)
    num_labels = len(unit)
    precisions, chance = [], []
    for start in range(0, len(candidates), SIMILARITY_BLOCK):
        block = candidates[start:start + SIMILARITY_BLOCK]
        similarity = unit[block] @ unit.T
        similarity[np.arange(len(block)), block] = -np.inf  # the label itself ranks last and is dropped
        order = np.argsort(-similarity, axis=1, kind="stable")[:, : num_labels - 1]
        for label, ranking in zip(block, order):
            hits = np.isin(ranking, pairs.indices[pairs.indptr[label]:pairs.indptr[label + 1]])
            precisions.append((np.cumsum(hits)[hits] / (np.flatnonzero(hits) + 1)).mean())
            chance.append(hits.sum() / (num_labels - 1))
    return {
        "neighbour_map": float(np.mean(precisions)) if precisions else float("nan"),
        "chance_map": float(np.mean(chance)) if chance else float("nan"),
        "labels_scored": len(precisions),
        "labels_with_neighbours": int((np.diff(pairs.indptr) > 0).sum()),
        "min_count": min_count,
    }


def model_label_graph(model: FittedModel) -> LabelGraph:
    """The training co-occurrence graph of a model: every co-occurring pair, weighted by ``P(j | i)``."""
    model = as_fitted_model(model)
    return label_graph_from_counts(
        model.cooccurrence, [str(name) for name in model.label_names],
        num_rows=int(model.cooccurrence_rows), weighting="probability",
    )


def export_embeddings(model: FittedModel, directory: str | Path, *,
                      display_names: Mapping[str, str] | None = None) -> list[Path]:
    """Write ``label_embeddings.npy`` and TensorBoard projector files into ``directory``.

    ``tensors.tsv`` (one tab-separated vector per line), ``metadata.tsv`` (header
    ``name<TAB>display_name<TAB>frequency``, then one line per label: the projector wants a header when there are two
    or more columns; ``display_name`` is the label's name in ``display_names``, else the label itself) and
    ``projector_config.pbtxt``; tensorboard itself is not needed. Returns the paths written.
    """
    model = as_fitted_model(model)
    directory = Path(directory)
    names = [str(name) for name in model.label_names]
    paths = [directory / "label_embeddings.npy", directory / "tensors.tsv", directory / "metadata.tsv",
             directory / "projector_config.pbtxt"]
    with atomic_path(paths[0]) as temporary, open(temporary, "wb") as handle:
        np.save(handle, model.label_embeddings, allow_pickle=False)
    write_text(paths[1], "".join("\t".join(f"{value:.6g}" for value in row) + "\n"
                                 for row in model.label_embeddings))
    shown = display_names or {}
    write_text(paths[2], "name\tdisplay_name\tfrequency\n" + "".join(
        f"{_tsv_safe(name)}\t{_tsv_safe(shown.get(name, name))}\t{count}\n"
        for name, count in zip(names, model.label_counts)))
    write_text(paths[3], 'embeddings {\n  tensor_name: "label_embeddings"\n  tensor_path: "tensors.tsv"\n'
                         '  metadata_path: "metadata.tsv"\n}\n')
    return paths


EXPORT_EDGES = 200_000
"""At most this many co-occurring pairs go into the GraphML/GEXF export (the most frequent pairs; see
:func:`exported_label_graph`): a 50,000-label model can have tens of millions, gigabytes of XML nobody can open."""


def export_cut(model: FittedModel, *, max_edges: int = EXPORT_EDGES) -> tuple[int, str]:
    """Which co-occurring pairs the graph export keeps: those seen together at least ``c`` times, with the smallest
    ``c`` that keeps at most ``max_edges`` directed edges (1 when all fit).

    Returns:
        ``c`` and a sentence saying what the export holds (for the report and the files' readers).
    """
    model = as_fitted_model(model)
    counts = sp.triu(model.cooccurrence, k=1, format="coo")  # each pair once; both directions go together
    pairs = 2 * counts.nnz
    if pairs <= max_edges:
        return 1, f"all {pairs:,} co-occurring label pairs (directed edges)"
    cut = int(np.sort(counts.data)[::-1][max_edges // 2]) + 1
    kept = 2 * int((counts.data >= cut).sum())
    return cut, (f"the {kept:,} directed edges of pairs seen together at least {cut} times, of {pairs:,} "
                 f"(at most {max_edges:,} are exported)")


def exported_label_graph(model: FittedModel, *, max_edges: int = EXPORT_EDGES) -> tuple[LabelGraph, str]:
    """The model's co-occurrence graph (:func:`model_label_graph`) cut to the pairs :func:`export_cut` keeps.
    Every label stays a node. Returns the graph and :func:`export_cut`'s sentence."""
    model = as_fitted_model(model)
    cut, contents = export_cut(model, max_edges=max_edges)
    if cut == 1:
        return model_label_graph(model), contents
    counts = sp.csr_matrix(model.cooccurrence, dtype=np.int64)
    kept = counts.copy()
    kept.data[kept.data < cut] = 0
    kept.setdiag(counts.diagonal())  # label frequencies stay
    kept.eliminate_zeros()
    graph = label_graph_from_counts(kept, [str(name) for name in model.label_names],
                                    num_rows=int(model.cooccurrence_rows), weighting="probability")
    return graph, contents


def export_graph(model: FittedModel, directory: str | Path, *, max_edges: int = EXPORT_EDGES
                 ) -> list[Path]:
    """Write the training co-occurrence graph as ``label_graph.graphml`` and ``label_graph.gexf`` (for Cytoscape
    and Gephi), with scalar node (``frequency``) and edge (``weight``, ``count``, ``probability``) attributes and a
    graph attribute ``contents`` saying which edges it holds (:func:`exported_label_graph`)."""
    model = as_fitted_model(model)
    label_graph, contents = exported_label_graph(model, max_edges=max_edges)
    graph = label_graph.to_networkx()
    graph.graph["contents"] = contents
    paths = [Path(directory) / "label_graph.graphml", Path(directory) / "label_graph.gexf"]
    with atomic_path(paths[0]) as temporary:
        nx.write_graphml(graph, temporary)
    with atomic_path(paths[1]) as temporary:
        nx.write_gexf(graph, temporary)
    return paths


def _tsv_safe(name: str) -> str:
    return name.replace("\t", " ").replace("\n", " ")
