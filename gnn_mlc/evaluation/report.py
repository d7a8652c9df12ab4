"""Evaluation reports: a model's metrics and per-label figures on a data set, as JSON, Markdown and CSV."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import scipy.sparse as sp

from gnn_mlc._typing import Matrix
from gnn_mlc.data import Dataset
from gnn_mlc.evaluation.metrics import evaluate, per_label_metrics
from gnn_mlc.fitted import ScoringModel, as_fitted_model
from gnn_mlc.outputs import atomic_path, write_json, write_text

logger = logging.getLogger(__name__)

HEADLINE_METRICS: tuple[str, ...] = (
    "map", "micro_f1", "macro_f1", "samples_f1", "hamming_loss", "subset_accuracy", "lrap", "coverage",
    "ranking_loss", "one_error", "p@1", "p@3", "p@5", "ndcg@5", "tail_map", "tail_macro_f1",
)
LOWER_IS_BETTER = frozenset({"hamming_loss", "coverage", "ranking_loss", "one_error"})
PER_LABEL_COLUMNS: tuple[str, ...] = (
    "support", "tp", "fp", "fn", "tn", "precision", "recall", "f1", "average_precision",
)


DEFAULT_KS: tuple[int, ...] = (1, 3, 5, 10)
"""The k of ``p@k``, ``r@k`` and ``ndcg@k`` unless ``--ks`` says otherwise."""


@dataclass(frozen=True)
class ModelEvaluation:
    """One model's figures on one data set.

    Attributes:
        name: how the model is called in tables (its directory name).
        metrics: the flat dict of :func:`gnn_mlc.evaluation.metrics.evaluate`.
        per_label: one row per label: ``label``, ``train_count``, ``threshold`` and :data:`PER_LABEL_COLUMNS`.
        by_source: for a model whose labels have sources (``FittedModel.label_sources``: trained, log, edges,
            features, ...): one row per source with ``source``, ``labels``, ``map`` (over its labels with a positive),
            ``top_k_share`` (the share of the rows' top-k slots its labels take, k the largest of ``ks``) and
            ``hits`` (true labels among those slots); ``None`` otherwise.
    """

    name: str
    metrics: dict[str, float]
    per_label: pa.Table
    by_source: pa.Table | None = None


def evaluate_classifier(model: ScoringModel, data: Dataset, *, name: str, ks: Sequence[int] = DEFAULT_KS,
                        only_labels: Sequence[str] | None = None) -> ModelEvaluation:
    """Score ``data`` (aligned to the model's labels and features by name) and compute every figure.

    A model label the data has no values for (:meth:`Dataset.missing_labels`, e.g. an attribute removed from an ARFF
    file) is logged as a warning and left out of every figure: its entries are unknown, not negatives. The data's
    known labels (``data.known``) are evidence for a model trained with them, and left out of every figure. A data label
    the model does not know (a new interest, or a model that knows fewer labels than another in a comparison) is
    logged as a warning and left out too: the model cannot score it.

    Args:
        model: a :class:`~gnn_mlc.fitted.FittedModel` (or a fitted estimator: its ``fitted_`` is read), or a
            baseline with the same face (:class:`~gnn_mlc.evaluation.baselines.PopularityBaseline`).
        data: labelled rows with the model's features.
        name: how the model is called in tables.
        ks: the k of ``p@k``, ``r@k`` and ``ndcg@k``.
        only_labels: evaluate these labels only (the labels every compared model knows): the model's others are
            left out of every figure like unknown entries, so they take no top-k slot either.

    Returns:
        The model's metrics and per-label figures on ``data``.

    Raises:
        UnknownLabelError: none of the data's labels is known to the model (wrong data, or a misspelt label).
        DataError: the data lacks one of the model's features.
    """
    model = as_fitted_model(model)
    label_names = list(model.label_names)
    model_labels = set(label_names)
    unknown = [label for label in data.label_names if label not in model_labels]
    if unknown and len(unknown) < data.num_labels:
        logger.warning("%s: %d of its labels are not known to %s (%s%s); they are left out of its figures",
                       data.source, len(unknown), name, ", ".join(map(repr, unknown[:10])),
                       ", ..." if len(unknown) > 10 else "")
        data = data.without_labels(unknown)
    absent = data.missing_labels(label_names)
    names = model.feature_names
    data = data.align(label_names, list(data.feature_names) if names is None else list(names))
    if absent:
        logger.warning("%s: has no values for %d of the model's %d labels (%s%s); they are left out of every figure",
                       data.source, len(absent), data.num_labels, ", ".join(map(repr, absent[:10])),
                       ", ..." if len(absent) > 10 else "")
    missing = data.Y_missing
    if data.known is None:
        scores = model.predict_proba(data.X)
    else:  # the labels a row already has: evidence for a model trained with them, never ranked nor counted
        scores = model.predict_proba(data.X, known=data.known if model.has_known_term else None)
        if not getattr(model, "counts_known", False):  # only the history anchor counts them
            known = sp.csr_matrix(data.known, dtype=np.uint8)
            missing = known if missing is None else sp.csr_matrix(known.maximum(sp.csr_matrix(missing)))
    if only_labels is not None:
        kept = set(only_labels)
        outside = [index for index, label in enumerate(label_names) if label not in kept]
        if outside:
            columns = np.zeros(len(label_names), dtype=bool)
            columns[outside] = True
            scores = np.where(columns[None, :], np.float32(-1.0), scores)  # below every probability: no top-k slot
            marks = sp.csr_matrix(np.broadcast_to(columns, scores.shape).astype(np.uint8))
            missing = marks if missing is None else sp.csr_matrix(marks.maximum(sp.csr_matrix(missing)))
    decisions = model.decision_rule.decide(scores)
    metrics = evaluate(data.Y, scores, y_pred=decisions, train_counts=model.label_counts, missing=missing, ks=ks)
    figures = per_label_metrics(data.Y, scores, decisions, missing=missing)
    columns = {"label": pa.array([str(label) for label in label_names]),
               "train_count": pa.array(model.label_counts),
               "threshold": pa.array(np.asarray(model.decision_rule.thresholds, dtype=np.float64))}
    columns.update({column: pa.array(figures[column]) for column in PER_LABEL_COLUMNS})
    sources = getattr(model, "label_sources", None)
    by_source = None if not sources else _by_source(np.asarray(sources, dtype=object), data.Y, scores, missing,
                                                    figures["average_precision"], k=max(ks))
    return ModelEvaluation(name=name, metrics=metrics, per_label=pa.table(columns), by_source=by_source)


def _by_source(sources: np.ndarray, y_true: Matrix, y_score: np.ndarray, missing: Matrix | None,
               average_precision: np.ndarray, *, k: int) -> pa.Table:
    """One row per label source: its labels, their mAP, the share of the top-``k`` slots they take and the hits
    there (see :attr:`ModelEvaluation.by_source`). Unknown entries (``missing``) are ranked last.

    Args:
        sources: (num_labels,) each label's source.
        y_true, y_score: (rows, num_labels) truth and scores; ``missing`` (rows, num_labels) or ``None``.
        average_precision: (num_labels,) per-label AP (NaN for a label without a positive).
    """
    scores = np.array(y_score, dtype=np.float64)
    if missing is not None:
        scores[_dense_bool(missing)] = -np.inf
    depth = min(k, scores.shape[1])
    top = np.argpartition(-scores, depth - 1, axis=1)[:, :depth]  # (rows, depth) the top-k labels of each row
    shown = np.isfinite(np.take_along_axis(scores, top, axis=1))
    hit = _dense_bool(y_true)[np.arange(scores.shape[0])[:, None], top] & shown
    slots = max(int(shown.sum()), 1)
    rows = []
    for source in dict.fromkeys(sources.tolist()):
        mine = sources[top] == source
        ap = average_precision[sources == source]
        rows.append({"source": str(source), "labels": int((sources == source).sum()),
                     "map": float(np.nanmean(ap)) if np.isfinite(ap).any() else float("nan"),
                     "top_k_share": float((mine & shown).sum() / slots), "hits": int((mine & hit).sum())})
    return pa.Table.from_pylist(rows)


def _dense_bool(matrix: Matrix) -> np.ndarray:
    return (matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)).astype(bool)


def headline_metrics(ks: Sequence[int]) -> tuple[str, ...]:
    """:data:`HEADLINE_METRICS` with ``p@k``, ``r@k`` and ``ndcg@k`` for each of ``ks`` (once each)."""
    ranked = [f"{name}@{k}" for k in ks for name in ("p", "r", "ndcg")]
    return tuple(dict.fromkeys([*HEADLINE_METRICS, *ranked]))


def by_source_table(evaluations: Sequence[ModelEvaluation], *, k: int) -> str:
    """Markdown: each model's labels by the source of their vectors (count, mAP, top-k share, hits); ``""`` when
    no model has label sources."""
    lines = []
    for evaluation in evaluations:
        if evaluation.by_source is None:
            continue
        lines += [f"Labels of {evaluation.name} by the source of their vectors (top-{k} slots):", "",
                  f"| source | labels | mAP | share of top-{k} | hits |", "|---|---:|---:|---:|---:|"]
        lines += [f"| {row['source']} | {row['labels']} | {row['map']:.4f} | {row['top_k_share']:.2%} | {row['hits']} |"
                  for row in evaluation.by_source.to_pylist()]
        lines.append("")
    return "\n".join(lines)


def metrics_table(results: Mapping[str, Mapping[str, float]], metrics: Sequence[str] = HEADLINE_METRICS) -> str:
    """Markdown table: one row per metric, one column per model; the best value of a row is in bold."""
    names = list(results)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for metric in metrics:
        values = [results[name].get(metric) for name in names]
        if all(value is None for value in values):
            continue
        present = [value for value in values if value is not None and np.isfinite(value)]
        best = (min if metric in LOWER_IS_BETTER else max)(present) if len(present) > 1 else None
        cells = ["" if value is None else (f"**{value:.4f}**" if value == best else f"{value:.4f}")
                 for value in values]
        lines.append(f"| {metric} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_report(evaluations: Sequence[ModelEvaluation], directory: str | Path, *, title: str,
                 ks: Sequence[int] = DEFAULT_KS) -> list[Path]:
    """Write ``metrics.json`` (with each model's ``by_source`` rows when it has label sources), ``metrics.md``
    (the headline metrics with ``ks``, then the label-source tables) and ``per_label.csv``
    (``per_label_<name>.csv`` per model when there are several) into ``directory``; every file is written
    atomically. Returns the paths written."""
    directory = Path(directory)
    results: dict[str, dict] = {evaluation.name: dict(evaluation.metrics) for evaluation in evaluations}
    for evaluation in evaluations:
        if evaluation.by_source is not None:
            results[evaluation.name]["by_source"] = evaluation.by_source.to_pylist()
    paths = [directory / "metrics.json", directory / "metrics.md"]
    write_json(paths[0], results)
    sources = by_source_table(evaluations, k=max(ks))
    write_text(paths[1], f"{title}\n\n{metrics_table(results, headline_metrics(ks))}"
                         + (f"\n{sources}" if sources else ""))
    for evaluation in evaluations:
        name = "per_label.csv" if len(evaluations) == 1 else f"per_label_{evaluation.name}.csv"
        paths.append(directory / name)
        with atomic_path(paths[-1]) as temporary:
            pa_csv.write_csv(evaluation.per_label, temporary)
    return paths
