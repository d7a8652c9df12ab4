"""Label embedding inspection: nearest labels with their co-occurrence evidence, an agreement score, and exports
(NumPy, TensorBoard projector, GraphML/GEXF).

The embeddings inspected are a model's ``W`` (num_labels, embedding_dim): the GCN output for the label-graph model,
the output-layer vectors for the no-graph baseline. Similarity is cosine similarity.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import scipy.sparse as sp

from gnn_mlc.errors import GnnMlcError, UnknownLabelError, did_you_mean
from gnn_mlc.graph import LabelGraph, label_graph_from_counts
from gnn_mlc.outputs import atomic_path, write_text

if TYPE_CHECKING:
    from gnn_mlc.estimator import LabelGCNClassifier


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


def cosine_similarities(embeddings: np.ndarray) -> np.ndarray:
    """(num_labels, num_labels) cosine similarities of the rows of ``embeddings`` (zero rows give 0)."""
    norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
    unit = np.divide(embeddings, norms, out=np.zeros_like(embeddings, dtype=np.float64), where=norms > 0)
    return unit @ unit.T


def nearest_labels(classifier: LabelGCNClassifier, label: str, *, k: int = 10) -> list[Neighbour]:
    """The ``k`` labels whose embeddings are most similar to ``label``'s, most similar first.

    Raises:
        UnknownLabelError: ``label`` is not one of the model's labels (with a "did you mean" hint).
    """
    names = [str(name) for name in classifier.classes_]
    if label not in names:
        raise UnknownLabelError(
            f"label {label!r} is not known to the model{did_you_mean(label, names)}; expected one of its "
            f"{len(names)} labels"
        )
    if k < 1:
        raise GnnMlcError(f"k: got {k}; expected a positive integer")
    query = names.index(label)
    similarity = cosine_similarities(classifier.label_embeddings_)[query]
    order = [index for index in np.argsort(-similarity, kind="stable") if index != query][:k]
    counts = sp.csr_matrix(classifier.cooccurrence_)
    frequency = counts.diagonal()
    neighbours = []
    for index in order:
        together = int(counts[query, index])
        neighbours.append(Neighbour(
            label=names[index],
            similarity=float(similarity[index]),
            count=together,
            p_neighbour_given_query=together / frequency[query] if frequency[query] else 0.0,
            p_query_given_neighbour=together / frequency[index] if frequency[index] else 0.0,
        ))
    return neighbours


def cooccurrence_neighbours(counts: sp.csr_matrix, *, num_rows: int, min_count: int = 3) -> list[np.ndarray]:
    """For each label i, the labels j that co-occur with it more than chance: ``count(i, j) >= min_count`` and lift
    ``P(j | i) / P(j) > 1``. These are the "true" neighbours the agreement score looks for."""
    counts = sp.csr_matrix(counts, dtype=np.float64)
    frequency = counts.diagonal()
    neighbours = []
    for label in range(counts.shape[0]):
        row = counts.getrow(label)
        others, together = row.indices, row.data
        keep = (others != label) & (together >= min_count)
        lift = together[keep] * num_rows / (frequency[label] * frequency[others[keep]])
        neighbours.append(np.sort(others[keep][lift > 1.0]))
    return neighbours


def agreement_score(
    embeddings: np.ndarray, counts: sp.csr_matrix, *, num_rows: int, min_count: int = 3
) -> dict[str, float]:
    """How well embedding similarity recovers co-occurrence neighbours.

    For each label with at least one co-occurrence neighbour (:func:`cooccurrence_neighbours`), rank every other
    label by cosine similarity and take the average precision of the neighbours in that ranking; report the mean
    (``neighbour_map``), the number of labels it covers, and ``chance_map``, the mean AP a random ranking would score
    in expectation (the mean share of neighbours among the other labels; a close approximation).
    """
    similarity = cosine_similarities(embeddings)
    neighbour_sets = cooccurrence_neighbours(counts, num_rows=num_rows, min_count=min_count)
    precisions, chance = [], []
    for label, neighbours in enumerate(neighbour_sets):
        if len(neighbours) == 0:
            continue
        others = np.array([index for index in np.argsort(-similarity[label], kind="stable") if index != label])
        hits = np.isin(others, neighbours)
        precision_at_hits = np.cumsum(hits)[hits] / (np.flatnonzero(hits) + 1)
        precisions.append(precision_at_hits.mean())
        chance.append(len(neighbours) / len(others))
    return {
        "neighbour_map": float(np.mean(precisions)) if precisions else float("nan"),
        "chance_map": float(np.mean(chance)) if chance else float("nan"),
        "labels_scored": len(precisions),
        "min_count": min_count,
    }


def model_label_graph(classifier: LabelGCNClassifier) -> LabelGraph:
    """The training co-occurrence graph of a model: every co-occurring pair, weighted by ``P(j | i)``."""
    return label_graph_from_counts(
        classifier.cooccurrence_, [str(name) for name in classifier.classes_],
        num_rows=int(classifier.cooccurrence_rows_), weighting="probability",
    )


def export_embeddings(classifier: LabelGCNClassifier, directory: str | Path) -> list[Path]:
    """Write ``label_embeddings.npy`` and TensorBoard projector files into ``directory``.

    ``tensors.tsv`` (one tab-separated vector per line), ``metadata.tsv`` (header ``name<TAB>frequency``, then one
    line per label: the projector wants a header when there are two or more columns, none for one) and
    ``projector_config.pbtxt``; tensorboard itself is not needed. Returns the paths written.
    """
    directory = Path(directory)
    names = [str(name) for name in classifier.classes_]
    paths = [directory / "label_embeddings.npy", directory / "tensors.tsv", directory / "metadata.tsv",
             directory / "projector_config.pbtxt"]
    with atomic_path(paths[0]) as temporary, open(temporary, "wb") as handle:
        np.save(handle, classifier.label_embeddings_, allow_pickle=False)
    write_text(paths[1], "".join("\t".join(f"{value:.6g}" for value in row) + "\n"
                                 for row in classifier.label_embeddings_))
    write_text(paths[2], "name\tfrequency\n" + "".join(
        f"{_tsv_safe(name)}\t{count}\n" for name, count in zip(names, classifier.label_counts_)))
    write_text(paths[3], 'embeddings {\n  tensor_name: "label_embeddings"\n  tensor_path: "tensors.tsv"\n'
                         '  metadata_path: "metadata.tsv"\n}\n')
    return paths


def export_graph(classifier: LabelGCNClassifier, directory: str | Path) -> list[Path]:
    """Write the training co-occurrence graph as ``label_graph.graphml`` and ``label_graph.gexf`` (for Cytoscape
    and Gephi), with scalar node (``frequency``) and edge (``weight``, ``count``, ``probability``) attributes."""
    graph = model_label_graph(classifier).to_networkx()
    paths = [Path(directory) / "label_graph.graphml", Path(directory) / "label_graph.gexf"]
    with atomic_path(paths[0]) as temporary:
        nx.write_graphml(graph, temporary)
    with atomic_path(paths[1]) as temporary:
        nx.write_gexf(graph, temporary)
    return paths


def _tsv_safe(name: str) -> str:
    return name.replace("\t", " ").replace("\n", " ")
