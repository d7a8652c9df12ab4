"""Vectors for the labels the network does not learn: cold and rare labels at fit, new labels at ``add_labels``.

Both steps take a :class:`~gnn_mlc.fitted.FittedModel` whose trained labels have their vectors and return a new one in
which the graph-scored labels have theirs, by the procedure of :mod:`gnn_mlc.training.graph_labels` (from the log,
distilled on the training rows the model keeps, else from edges to known labels, else from label features).
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from gnn_mlc.errors import DataError
from gnn_mlc.fitted import FittedModel
from gnn_mlc.graph.label_space import LabelPlan
from gnn_mlc.graph.sources import GraphSources
from gnn_mlc.training.graph_labels import infer_graph_label_vectors
from gnn_mlc.training.known_labels import refit_with_log

logger = logging.getLogger(__name__)
RARE_OWN_SHARE = 0.5
"""A rare label's vector: this share of the network's own, the rest from the log (see gnn_mlc.graph.label_space)."""


def graph_label_vectors(model: FittedModel, plan: LabelPlan, sources: GraphSources, log_rows: sp.csr_matrix | None,
                        edges: sp.csr_matrix | None, *, targets: np.ndarray) -> FittedModel:
    """``model`` with vectors, biases and sources for the labels ``targets`` inferred from the graph sources.

    Args:
        model: a fitted model over ``plan.label_names`` whose labels of source ``"trained"`` have their vectors.
        plan: the label space and its trained, cold and rare labels.
        sources: the graph sources (their label features are merged over the model's stored ones).
        log_rows: (m, num_labels) 0/1 CSR label-only rows aligned to the space, or ``None``.
        edges: (num_labels, num_labels) external edge weights ``[j, t]``, or ``None``.
        targets: indices of the labels to infer; the others keep their vectors.
    """
    embeddings, bias = model.label_embeddings.copy(), model.label_bias.copy()
    label_sources = np.asarray(model.label_sources, dtype=object)
    label_features = model.label_features
    features, has_features = sources.feature_matrix(plan.label_names)
    if features is not None:
        label_features = merge_label_features(model.label_features, features, has_features)
        features, has_features = label_features
    teacher = model.cold_teacher
    if len(targets):
        inputs = np.setdiff1d(np.flatnonzero(label_sources == "trained"), targets)
        encodings, rows = model.graph_rows
        vectors = infer_graph_label_vectors(
            targets, inputs=inputs, embeddings=embeddings, bias=bias, encodings=encodings, feature_rows=rows,
            log_rows=log_rows, edges=None if edges is None else edges.T.tocsr(),
            label_features=features, has_features=has_features,
        )
        own = np.isin(vectors.labels, plan.rare)  # a rare label's own head keeps a share (RARE_OWN_SHARE)
        embeddings[vectors.labels] = np.where(own[:, None], RARE_OWN_SHARE * embeddings[vectors.labels]
                                              + (1 - RARE_OWN_SHARE) * vectors.embeddings, vectors.embeddings)
        bias[vectors.labels] = np.where(own, RARE_OWN_SHARE * bias[vectors.labels]
                                        + (1 - RARE_OWN_SHARE) * vectors.bias, vectors.bias)
        label_sources[vectors.labels] = vectors.sources
        if vectors.teacher is not None:  # the cold labels' regression, beside the fit's at add_labels
            teacher = vectors.teacher if teacher is None else teacher.merged(vectors.teacher)
        unreached = np.setdiff1d(targets, vectors.labels)
        if len(unreached):
            names = ", ".join(repr(plan.label_names[index]) for index in unreached[:5])
            logger.warning("%d new label(s) linked to nothing the model knows (%s%s): they can only be scored "
                           "from label features; without them they are never recommended", len(unreached),
                           names, ", ..." if len(unreached) > 5 else "")
            embeddings[unreached], bias[unreached] = 0.0, float(bias[inputs].min()) if len(inputs) else -10.0
    return replace(model, label_embeddings=embeddings, label_bias=bias,
                   label_sources=[str(source) for source in label_sources], label_features=label_features,
                   cold_teacher=teacher)


def merge_label_features(stored: tuple[np.ndarray, np.ndarray] | None, features: np.ndarray,
                         has_features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(features, mask)``: these label features over the ``stored`` ones of a fitted model (the new ones win).

    Raises:
        DataError: a width other than the stored features'.
    """
    if stored is None:
        return features, has_features
    old, old_mask = stored
    if old.shape[1] != features.shape[1]:
        raise DataError(f"label_features: {features.shape[1]} values per label; expected {old.shape[1]}, the width "
                        "of the model's label features")
    features, has_features = features.copy(), has_features.copy()
    keep = old_mask & ~has_features[: len(old_mask)]
    features[: len(old_mask)][keep] = old[keep]
    has_features[: len(old_mask)] |= old_mask
    return features, has_features


def add_labels(model: FittedModel, sources: GraphSources) -> FittedModel:
    """``model`` with the labels ``sources`` name and it does not know added, without retraining.

    Each new label gets a vector, a bias and the decision rule's default threshold by the procedure a fit uses for
    cold labels; the network and the existing labels' vectors are unchanged. A model with a known-label term gets
    the log's rows added to the term's fit (:func:`~gnn_mlc.training.known_labels.refit_with_log`), so a new label
    is scored from a user's known labels too.

    Raises:
        DataError: no source given, or no new label in it.
    """
    if not sources:
        raise DataError("add_labels: no graph source; expected graph_data, graph_edges or label_features")
    space = sources.label_space(list(model.label_names))
    new = np.arange(model.num_labels, len(space))
    if not len(new):
        raise DataError("add_labels: every label the sources name is already in the model; expected new labels")
    extended = model.with_labels(space)
    log_rows = None if sources.log is None else sources.log.aligned(space)
    edges = None if sources.edges is None else sources.edges.adjacency(space)
    plan = LabelPlan(label_names=space, trained=np.asarray(model.trained_labels, dtype=np.int64), cold=new,
                     rare=np.zeros(0, dtype=np.int64))
    if extended.known_term is not None and log_rows is not None:  # the term learns the new labels from the log
        extended = replace(extended, known_term=refit_with_log(extended.known_term, log_rows))
    return graph_label_vectors(extended, plan, sources, log_rows, edges, targets=new)
