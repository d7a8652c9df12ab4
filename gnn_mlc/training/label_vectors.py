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
from gnn_mlc.fitted import ColdLabelTeacher, FittedModel
from gnn_mlc.graph.label_space import LabelPlan
from gnn_mlc.graph.sources import GraphSources
from gnn_mlc.training.graph_labels import infer_graph_label_vectors
from gnn_mlc.training.known_labels import refit_with_log

logger = logging.getLogger(__name__)
RARE_OWN_SHARE = 0.5
"""A rare label's vector: this share of the network's own, the rest inferred from the log with its few positives as
shots (see gnn_mlc.graph.label_space). First chosen on the test figures of an earlier protocol; on development rows
the two protocols it serves disagree. On the cold-start protocol's few-shot variant (a cold label given 1-3
labelled rows; ``benchmarks/cold_start.py --split dev --rare-own-share X``, 9 sets x 3 seeds) the mean cold mAP is
0.406 with 0 (the log's vector alone; cold_start_dev_rare0.md), 0.388 with 0.5 (cold_start_dev.md) and 0.313 with 1
(cold_start_dev_rare1.md: the network's own heads). On the cold-history protocol's MovieLens development rows
(movies with 1-3 ratings among many more), 0 lowers Recall@20 from 0.179 to 0.144 (on each of the 3 seeds) and
nDCG@10 from 0.145 to 0.125 (cold_history_dev.md against a run at 5d35700, not kept). 0.5 keeps most of the
few-shot gain without that loss."""


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
        # every label the network learns (rare ones too, whose source is "log" once a fit has run) sends messages
        inputs = np.setdiff1d(np.asarray(model.trained_labels, dtype=np.int64), targets)
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
            teacher = _served_teacher(teacher, vectors.teacher, embeddings.shape[1], len(plan.label_names))
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


def _served_teacher(served: ColdLabelTeacher | None, new: ColdLabelTeacher, embedding_dim: int,
                    num_labels: int) -> ColdLabelTeacher | None:
    """The cold labels' teacher to serve: ``new`` beside the ``served`` one, where scoring the two costs at most the
    label vectors' product (``embedding_dim x num_labels`` multiply-adds a row); else the ``served`` one alone, and
    ``new``'s labels are scored by their vectors alone (at 50,000 labels with 10,000 cold ones, a teacher of 512
    inputs per label took 7x the label vectors' product for 4,096 rows on 2 cores, as a sparse product: one
    measurement at 5cea873, not kept)."""
    merged = new if served is None else served.merged(new)
    if merged.num_values <= ColdLabelTeacher.budget(embedding_dim, num_labels):
        return merged
    logger.info("%d cold label(s) scored by their vectors alone: their regression over the trained labels would "
                "cost more at scoring than the label vectors (%d x %d values)", len(new.targets), embedding_dim,
                num_labels)
    return served


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
